/* libFuzzer harness for agency status messages (appealsd.status/1), as the
 * status consumer (sla/status.c) takes them off Kafka: parsed and validated
 * by message_parse_status(), and a refused one written as the dead letter
 * that carries it, verbatim or in base64.
 *
 * The first input byte is flags: bit 0 gives the message a Kafka key (the
 * seeds' appeal id), bit 1 reads its time in UTC instead of Moscow time; the
 * rest is the message value.  Checked besides crashes: an accepted message
 * has every required field, and a dead letter is a JSON object that carries
 * the message as it came. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "message.h"
#include "sbuf.h"
#include "transition.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KEY "vk:-100001:wall:42:c501"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(LOG_LVL_ERROR - 1);
    return 0;
}

static void check_accepted(const struct status_msg *st, const char *key)
{
    if (st->appeal_id == NULL || st->org == NULL || st->status == NULL || st->doc == NULL ||
        (key && strcmp(key, st->appeal_id) != 0))
        abort();
    /* what the consumer does next with the status name (sla/status.c) */
    (void)lc_status_kind(st->status);
}

static void check_dead_letter(const char *payload, size_t len, const char *key,
                              const char *code, const char *reason, const char *tz)
{
    struct sbuf out = SBUF_INIT;
    struct dead_letter_view v = {.error = code, .reason = reason, .topic = "appeals.status",
                                 .partition = 0, .offset = 7, .key = key, .payload = payload,
                                 .payload_len = len, .received_ms = 1795900000000,
                                 .now_ms = 1795900000001, .tz = tz};
    message_dead_letter(&out, &v);
    char err[160];
    struct json_doc *d = json_parse(out.p, out.len, 8, err, sizeof(err));
    if (d == NULL || d->root.type != JSON_OBJECT || d->flags)
        abort();
    /* text survives verbatim; anything else goes as base64 */
    const struct json *text = json_get(&d->root, "payload");
    if (text && (text->type != JSON_STRING || text->len != len || memcmp(text->u.s, payload, len)))
        abort();
    if (text == NULL && !json_is_str(json_get(&d->root, "payload_base64")))
        abort();
    json_free(d);
    sbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *key = data[0] & 1 ? FUZZ_KEY : NULL;
    const char *tz = data[0] & 2 ? "UTC" : "Europe/Moscow";
    /* a copy of exactly the value's bytes, so a read past them is caught */
    size_t len = size - 1;
    char *buf = malloc(len ? len : 1);
    if (buf == NULL)
        abort();
    memcpy(buf, data + 1, len);
    struct status_msg st;
    const char *code = NULL;
    char err[256];
    if (message_parse_status(buf, len, key, tz, &st, &code, err, sizeof(err)) == 0) {
        check_accepted(&st, key);
        status_msg_free(&st);
    } else {
        if (code == NULL || st.doc != NULL)
            abort();
        check_dead_letter(buf, len, key, code, err, tz);
    }
    free(buf);
    return 0;
}
