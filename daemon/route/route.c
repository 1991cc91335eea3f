#include "route.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "directory.h"

void route_decide(const struct apd_config *c, const struct route_input *in,
                  struct route_result *out)
{
    memset(out, 0, sizeof(*out));
    const struct page *p = directory_page(c->dir, in->source, in->page);
    if (p && p->owner && p->owner->kafka) {
        out->org = p->owner;
        out->topic = p->owner->topic;
        out->rule = "page-owner";
        snprintf(out->reason, sizeof(out->reason), "page %s:%s belongs to %s", in->source,
                 in->page, p->owner->code);
        return;
    }
    out->triage = true;
    out->org = c->dir ? c->dir->cur : NULL;
    out->topic = c->kafka.topic_triage;
    out->rule = "triage";
    snprintf(out->reason, sizeof(out->reason), "%s", p ? "the page's owner takes no Kafka "
             "deliveries" : "the page is not in the directory");
}
