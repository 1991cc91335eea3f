#include "reject_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <event2/event.h>

#include "units.h"

/* Statuses counted separately in the summary; others go to "other". */
static const int counted[] = {400, 403, 404, 405, 413, 503};
#define NCOUNTED (sizeof(counted) / sizeof(counted[0]))

static struct {
    struct event *timer;
    int64_t window_start;     /* mono ms; 0: no window open */
    unsigned logged;
    uint64_t suppressed, by_status[NCOUNTED + 1];
} rl;

static void summarise(void)
{
    if (rl.suppressed == 0)
        return;
    char detail[256];
    int n = 0;
    for (size_t i = 0; i <= NCOUNTED; i++) {
        if (rl.by_status[i] == 0)
            continue;
        if (i < NCOUNTED)
            n += snprintf(detail + n, sizeof(detail) - (size_t)n, "%s%d: %llu", n ? ", " : "",
                          counted[i], (unsigned long long)rl.by_status[i]);
        else
            n += snprintf(detail + n, sizeof(detail) - (size_t)n, "%sother: %llu",
                          n ? ", " : "", (unsigned long long)rl.by_status[i]);
        if (n >= (int)sizeof(detail))
            break;
    }
    log_warn("http: %llu more refused webhook requests were not logged in the last %d s (%s); "
             "see appealsd_http_requests_total for the running counts",
             (unsigned long long)rl.suppressed, REJECT_LOG_WINDOW_MS / 1000, detail);
    rl.suppressed = 0;
    for (size_t i = 0; i <= NCOUNTED; i++)
        rl.by_status[i] = 0;
}

static void on_window_end(evutil_socket_t fd, short what, void *arg)
{
    summarise();
    rl.window_start = 0;
    rl.logged = 0;
}

void reject_log_init(struct event_base *base)
{
    if (rl.timer == NULL)
        rl.timer = evtimer_new(base, on_window_end, NULL);
}

void reject_log(enum log_level lvl, int status, const char *fmt, ...)
{
    if (!log_enabled(lvl))
        return;
    int64_t now = mono_ms();
    if (rl.window_start == 0 || now - rl.window_start >= REJECT_LOG_WINDOW_MS) {
        summarise();   /* the timer may not have run yet (a busy loop) */
        rl.window_start = now;
        rl.logged = 0;
        if (rl.timer) {
            struct timeval tv = {REJECT_LOG_WINDOW_MS / 1000, (REJECT_LOG_WINDOW_MS % 1000) * 1000};
            evtimer_add(rl.timer, &tv);
        }
    }
    if (rl.logged < REJECT_LOG_BURST) {
        rl.logged++;
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(lvl, fmt, ap);
        va_end(ap);
        return;
    }
    rl.suppressed++;
    size_t i = 0;
    while (i < NCOUNTED && counted[i] != status)
        i++;
    rl.by_status[i]++;
}

void reject_log_shutdown(void)
{
    summarise();
    if (rl.timer)
        event_free(rl.timer);
    rl.timer = NULL;
    rl.window_start = 0;
    rl.logged = 0;
}
