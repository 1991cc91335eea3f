#include "topics.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "directory.h"

static void add(const char **v, size_t *n, const char *t)
{
    if (t == NULL || *t == '\0')
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i], t) == 0)
            return;
    v[(*n)++] = t;
}

const char **kafka_topics_required(const struct apd_config *c, size_t *n)
{
    size_t norgs = c->dir ? c->dir->norgs : 0;
    const char **v = calloc(3 * norgs + 6, sizeof(char *));
    if (v == NULL)
        abort();
    *n = 0;
    add(v, n, c->kafka.topic_all);
    add(v, n, c->kafka.topic_triage);
    add(v, n, c->kafka.topic_sla);
    add(v, n, c->kafka.topic_status);
    add(v, n, c->kafka.topic_dlq);
    for (size_t i = 0; i < norgs; i++) {
        if (c->dir->orgs[i].kafka) {
            add(v, n, c->dir->orgs[i].topic);
            add(v, n, c->dir->orgs[i].dlq_topic);
        }
        add(v, n, c->dir->orgs[i].status_topic);
    }
    return v;
}
