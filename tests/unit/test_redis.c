/* The Redis client against a private redis-server on a Unix socket.
 *
 * Regression: a script command answered NOSCRIPT is re-sent with EVAL and
 * linked into the pending list again; the old `next` link survived the
 * re-link, so after a burst of concurrent first calls of a script the list
 * pointed into freed commands and the daemon crashed under load.  The test
 * fires a burst of first calls, then more commands, and checks every callback
 * ran once and the pending list stays consistent (ASan in CI catches any
 * use after free). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "config.h"
#include "redis.h"
#include "test.h"

static char dir[128], sock[192];
static pid_t server;
static struct event_base *base;
static struct redis *rc;
static int replies, errors, expected;
static bool list_ok = true;

static struct redis_script script = {
    .name = "echo",
    .src = "return ARGV[1] .. '|' .. redis.call('INCR', KEYS[1])",
};

static void start_server(void)
{
    snprintf(dir, sizeof(dir), "/tmp/apd-test-redis-XXXXXX");
    if (mkdtemp(dir) == NULL)
        exit(1);
    snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
    server = fork();
    if (server == 0) {
        /* Its log to stderr: stdout is this test's TAP stream. */
        dup2(2, 1);
        execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock, "--dir", dir,
               "--save", "", "--appendonly", "no", (char *)NULL);
        _exit(77);
    }
    for (int i = 0; i < 200 && access(sock, F_OK) != 0; i++)
        usleep(20000);
    if (access(sock, F_OK) != 0) {
        printf("# redis-server did not start (is it installed? scripts/deps.sh)\n");
        kill(server, SIGKILL);
        exit(77);
    }
}

static void stop_server(void)
{
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
}

/* arg is the tag sent; the script answers "TAG|N". */
static void on_eval(struct redis *r, struct redisReply *rep, void *arg)
{
    size_t n = strlen(arg);
    replies++;
    if (rep == NULL || rep->type != REDIS_REPLY_STRING || strncmp(rep->str, arg, n) != 0 ||
        rep->str[n] != '|')
        errors++;
    list_ok &= redis_pending_consistent(r);
    free(arg);
    if (replies == expected)
        event_base_loopbreak(base);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg) { event_base_loopbreak(base); }

static void fire(int n, const char *tag)
{
    for (int i = 0; i < n; i++) {
        char *tagn = malloc(32);
        snprintf(tagn, 32, "%s%d", tag, i);
        const char *argv[] = {"apdtest:counter", tagn};
        if (redis_eval(rc, &script, on_eval, tagn, 1, 2, argv, NULL) != 0) {
            errors++;
            free(tagn);
        }
    }
    list_ok &= redis_pending_consistent(rc);
}

static void run_until(int n)
{
    expected = n;
    struct event *t = evtimer_new(base, on_timeout, NULL);
    struct timeval tv = {10, 0};
    evtimer_add(t, &tv);
    event_base_dispatch(base);
    event_free(t);
}

static void on_up(void *arg) { event_base_loopbreak(base); }

TEST(noscript_burst_then_more)
{
    fire(200, "a");            /* all answered NOSCRIPT, then re-sent with EVAL */
    run_until(200);
    CHECK_INT(replies, 200);
    fire(300, "b");            /* EVALSHA now known */
    run_until(500);
    CHECK_INT(replies, 500);
    CHECK_INT(errors, 0);
    CHECK(list_ok);
    struct redis_stats st;
    redis_get_stats(rc, &st);
    CHECK_INT(st.pending, 0);
    CHECK(redis_pending_consistent(rc));
}

static enum redis_repl repl_res[4];
static int repl_n;

static void on_repl(void *arg, enum redis_repl res)
{
    repl_res[repl_n++ % 4] = res;
    if (arg)
        event_base_loopbreak(base);
}

/* WAIT against a server without replicas: min_replicas 0 answers at once;
 * 1 falls short after replica_timeout (the record would stay); a wait still
 * queued when the connection goes is LOST (its writes must be redone). */
TEST(replicated_waits)
{
    repl_n = 0;
    redis_replicated(rc, on_repl, NULL);
    CHECK_INT(repl_n, 1);
    CHECK_INT(repl_res[0], REDIS_REPL_OK);

    struct apd_config c;
    memset(&c, 0, sizeof(c));
    c.redis.unix_path = sock;
    c.redis.prefix = "apdtest:";
    c.redis.connect_timeout_ms = 2000;
    c.redis.command_timeout_ms = 5000;
    c.redis.min_replicas = 1;
    c.redis.replica_timeout_ms = 100;
    struct redis *w = redis_new(&c, base);
    redis_skip_marker(w);
    redis_on_up(w, on_up, NULL);
    run_until(-1);
    CHECK(redis_up(w));
    uint64_t epoch = redis_epoch(w);
    CHECK(epoch > 0);
    repl_n = 0;
    redis_cmdf(w, NULL, NULL, "SET apdtest:wait 1");
    redis_replicated(w, on_repl, w);
    run_until(-1);
    CHECK_INT(repl_n, 1);
    CHECK_INT(repl_res[0], REDIS_REPL_SHORT);
    struct redis_stats st;
    redis_get_stats(w, &st);
    CHECK_INT(st.repl_short, 1);
    /* held after the short one (the connection is left to other commands),
     * so still queued when the connection goes: its writes are unknown */
    redis_replicated(w, on_repl, NULL);
    CHECK_INT(repl_n, 1);
    redis_free(w);
    CHECK_INT(repl_n, 2);
    CHECK_INT(repl_res[1], REDIS_REPL_LOST);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    start_server();
    struct apd_config c;
    memset(&c, 0, sizeof(c));
    c.redis.unix_path = sock;
    c.redis.prefix = "apdtest:";
    c.redis.connect_timeout_ms = 2000;
    c.redis.command_timeout_ms = 5000;
    base = event_base_new();
    rc = redis_new(&c, base);
    redis_on_up(rc, on_up, NULL);
    struct event *t = evtimer_new(base, on_timeout, NULL);
    struct timeval tv = {5, 0};
    evtimer_add(t, &tv);
    event_base_dispatch(base);
    event_free(t);
    if (!redis_up(rc)) {
        printf("# no connection to the private redis-server\n");
        stop_server();
        return 1;
    }
    RUN(noscript_burst_then_more);
    RUN(replicated_waits);
    redis_free(rc);
    event_base_free(base);
    stop_server();
    return test_done();
}
