#include "tailevent.h"

#include <string.h>

#include "control.h"
#include "json.h"

static const char *sval(const struct json *root, const char *path)
{
    const struct json *v = json_path(root, path);
    return v && v->type == JSON_STRING ? v->u.s : NULL;
}

static void copy_str(struct jw *w, const struct json *root, const char *key, const char *path)
{
    const char *s = sval(root, path);
    if (s)
        jw_kstr(w, key, s);
}

static void copy_num(struct jw *w, const struct json *root, const char *key)
{
    const struct json *v = json_get(root, key);
    if (v && v->type == JSON_NUMBER) {
        jw_key(w, key);
        jw_raw(w, v->u.s, v->len);
    }
}

/* What an operator reads first about the event: the citizen's words on a
 * new or edited appeal, the agency's comment on a status, else the reason
 * the change was made (an operator's note, an SLA stage's cause). */
static const struct json *excerpt(const struct json *root)
{
    static const char *const paths[] = {"text", "status.comment", "reason"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const struct json *v = json_path(root, paths[i]);
        if (v && v->type == JSON_STRING && v->len > 0)
            return v;
    }
    return NULL;
}

void tail_event_from_message(const struct tail_event *te, const char *body, const char *tz,
                             struct sbuf *out)
{
    char err[128];
    struct json_doc *doc = body ? json_parse(body, strlen(body), 16, err, sizeof(err)) : NULL;
    const struct json *root = doc && doc->root.type == JSON_OBJECT ? &doc->root : NULL;
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    control_event_fields(&w, te, tz);
    if (root) {
        copy_str(&w, root, "number", "number");
        copy_num(&w, root, "seq");
        copy_str(&w, root, "timer", "timer");
        copy_num(&w, root, "level");
        copy_str(&w, root, "source", "source");
        copy_str(&w, root, "quality", "answer.quality");   /* answered: the judge's verdict */
        copy_str(&w, root, "by", "by");                    /* reopened, confirmed */
        const char *link = sval(root, "item.link");
        if (link == NULL)
            link = sval(root, "link");
        if (link)
            jw_kstr(&w, "link", link);
        const struct json *x = excerpt(root);
        if (x)
            control_event_text(&w, x->u.s, x->len);
    }
    jw_obj_end(&w);
    json_free(doc);
}
