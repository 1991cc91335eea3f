/* sla_load: fills a Redis with open appeals exactly as the daemon stores
 * them (the lifecycle's plan for a new appeal, written by the production
 * apply script), fast, for the SLA benchmark (bench/sla_bench.sh).
 *
 *   sla_load -c CONFIG [--set K=V]... --redis HOST:PORT --count N
 *            [--first N0] [--due-at MS [--spread-ms T]]
 *   sla_load --redis HOST:PORT --baseline N
 *
 * Appeals are vk:-100001:wall:W:cI for I = first .. first+count-1, owned by
 * page vk:100001 (Maykop's administration), with a 180-byte Cyrillic text.
 * Their first-response deadline is the policy's allowance after their
 * receipt; --due-at back-dates the receipt so the first deadline falls at MS
 * (Unix ms) and the others follow spread evenly over T ms.
 *
 * --baseline writes N entries with the minimal SLA-timer script of
 * reading/baselines.md (ZADD + HSET), the memory yardstick. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "appeals.h"
#include "config.h"
#include "record.h"
#include "sla.h"
#include "transition.h"
#include "units.h"
#include "write.h"

#define WINDOW 512

static const char *TEXT =
    "Добрый день. На улице Пионерской третий день яма на дороге у дома 15, "
    "машины бьют колёса, вечером не видно. Примите меры!";

static const char *BASELINE_SCRIPT =
    "redis.call('ZADD',KEYS[1],ARGV[1],ARGV[2]) return redis.call('HSET',KEYS[2],ARGV[2],ARGV[1])";

static redisContext *connect_redis(const char *hostport)
{
    char host[256];
    int port = 6379;
    snprintf(host, sizeof(host), "%s", hostport);
    char *colon = strrchr(host, ':');
    if (colon) {
        *colon = '\0';
        port = atoi(colon + 1);
    }
    redisContext *c = redisConnect(host, port);
    if (c == NULL || c->err) {
        fprintf(stderr, "sla_load: cannot connect to %s: %s\n", hostport,
                c ? c->errstr : "out of memory");
        exit(1);
    }
    return c;
}

static char *load_script(redisContext *c, const char *src)
{
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", src);
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "sla_load: SCRIPT LOAD failed: %s\n", r ? r->str : c->errstr);
        exit(1);
    }
    char *sha = strdup(r->str);
    freeReplyObject(r);
    return sha;
}

/* Reads `n` replies, failing on the first that is not what the script says
 * on success. */
static void drain(redisContext *c, int n, bool apply)
{
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) {
            fprintf(stderr, "sla_load: connection failed: %s\n", c->errstr);
            exit(1);
        }
        bool ok = apply ? r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                              strcmp(r->element[0]->str, "ok") == 0
                        : r->type == REDIS_REPLY_INTEGER;
        if (!ok) {
            fprintf(stderr, "sla_load: unexpected reply: %s\n",
                    r->type == REDIS_REPLY_ERROR ? r->str
                    : r->type == REDIS_REPLY_ARRAY && r->elements ? r->element[0]->str : "?");
            exit(1);
        }
        freeReplyObject(r);
    }
}

static void baseline(redisContext *c, const char *prefix, long n)
{
    char *sha = load_script(c, BASELINE_SCRIPT);
    char z[256], hk[256];
    snprintf(z, sizeof(z), "%sbench:z", prefix);
    snprintf(hk, sizeof(hk), "%sbench:h", prefix);
    int queued = 0;
    for (long i = 0; i < n; i++) {
        char score[32], member[64];
        snprintf(score, sizeof(score), "%lld", (long long)(1795900000000LL + i));
        snprintf(member, sizeof(member), "vk:-100001:wall:%ld:c%ld", 1000 + i % 977, 500000 + i);
        const char *argv[] = {"EVALSHA", sha, "2", z, hk, score, member};
        redisAppendCommandArgv(c, 7, argv, NULL);
        if (++queued == WINDOW) {
            drain(c, queued, false);
            queued = 0;
        }
    }
    drain(c, queued, false);
    free(sha);
}

/* One new appeal as the pipeline and the lifecycle store it. */
static void append_appeal(redisContext *c, const char *sha, const struct apd_config *cfg,
                          long i, int64_t received)
{
    char id[96], link[160];
    snprintf(id, sizeof(id), "vk:-100001:wall:%ld:c%ld", 1000 + i % 977, 500000 + i);
    snprintf(link, sizeof(link), "https://vk.com/wall-100001_%ld?reply=%ld", 1000 + i % 977,
             500000 + i);
    struct lc_created cr = {
        .source = "vk", .page = "100001", .text = TEXT, .link = link,
        .author = "3f9a0c1d2e4b5a69", .item_kind = "comment", .org = "maykop",
        .rule = "page-owner", .route_reason = "page vk:100001 belongs to maykop",
        .municipality = "maykop", .created_ms = received - 2000, .received_ms = received,
    };
    struct appeal_rec before;
    record_init(&before, id);
    struct lc_event ev = {.kind = LC_CREATED, .actor = "vk", .created = &cr, .now = received};
    struct lc_plan plan;
    transition_plan(cfg, &before, &ev, &plan);
    plan.after.seq = 1;   /* the pipeline's claim numbers a creation 1 */
    struct lc_write w;
    lc_write_build(&w, cfg->redis.prefix, cfg, &before, &plan, false, false, 0);
    struct apply_req q = {
        .appeal_id = id, .expect_seq = 0,
        .set = (const char *const *)w.set.v, .nset = w.set.n / 2,
        .del = (const char *const *)w.del.v, .ndel = w.del.n,
        .ops = (const char *const *)w.ops.v, .nops = w.ops.n,
    };
    char key[256], nums[4][32];
    snprintf(key, sizeof(key), "%sa:{%s}", cfg->redis.prefix, id);
    size_t argc = APPEALS_APPLY_ARGC(&q) + 3;
    const char **argv = malloc(argc * sizeof(char *));
    argv[0] = "EVALSHA";
    argv[1] = sha;
    argv[2] = "1";
    size_t n = 3 + appeals_apply_argv(key, &q, argv + 3, nums);
    redisAppendCommandArgv(c, (int)n, argv, NULL);
    free(argv);
    lc_write_free(&w);
    transition_plan_free(&plan);
    record_free(&before);
}

static void usage(void)
{
    fprintf(stderr, "usage: sla_load -c CONFIG [--set K=V]... --redis HOST:PORT --count N "
                    "[--first N0] [--due-at MS [--spread-ms T]]\n"
                    "       sla_load --redis HOST:PORT [--prefix P] --baseline N\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
        {"redis", required_argument, NULL, 'r'},  {"count", required_argument, NULL, 'n'},
        {"first", required_argument, NULL, 'f'},  {"due-at", required_argument, NULL, 'd'},
        {"spread-ms", required_argument, NULL, 't'},
        {"baseline", required_argument, NULL, 'b'}, {"prefix", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *redis = NULL, *prefix = "apd:";
    const char **sets = calloc((size_t)argc + 1, sizeof(char *));
    size_t nsets = 0;
    long count = 0, first = 0, base = 0;
    int64_t due_at = 0, spread = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'r': redis = optarg; break;
        case 'n': count = atol(optarg); break;
        case 'f': first = atol(optarg); break;
        case 'd': due_at = atoll(optarg); break;
        case 't': spread = atoll(optarg); break;
        case 'b': base = atol(optarg); break;
        case 'p': prefix = optarg; break;
        default: usage();
        }
    }
    if (redis == NULL || (base == 0 && (config == NULL || count <= 0)))
        usage();
    redisContext *c = connect_redis(redis);
    if (base > 0) {
        baseline(c, prefix, base);
        redisFree(c);
        free(sets);
        return 0;
    }
    struct diag d = {0};
    struct config_opts o = {.path = config, .overrides = sets, .skip_plugins = true};
    struct apd_config *cfg = config_load(&o, &d);
    if (cfg == NULL) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.msg[i]);
        return 1;
    }
    const struct policy *p = sla_policy_select(cfg, NULL, NULL, NULL, REGIME_SOCIAL, NULL);
    int64_t allow = p->first_response.days * 86400000 + p->first_response.ms;
    char *sha = load_script(c, appeals_script_source("apply"));
    int64_t now = now_ms();
    int queued = 0;
    for (long i = first; i < first + count; i++) {
        int64_t received = now;
        if (due_at)
            received = due_at - allow + (count > 1 ? spread * (i - first) / (count - 1) : 0);
        append_appeal(c, sha, cfg, i, received);
        if (++queued == WINDOW) {
            drain(c, queued, true);
            queued = 0;
        }
    }
    drain(c, queued, true);
    free(sha);
    redisFree(c);
    diag_free(&d);
    config_unref(cfg);
    free(sets);
    return 0;
}
