/* Operator-facing logging: one line per event, to stderr.
 *
 * When stderr is the journal (JOURNAL_STREAM names it) each line starts with a
 * sd-daemon priority prefix ("<3>") so journald records the level; elsewhere it
 * starts with an ISO-8601 timestamp and the level name.  Lines say what happened,
 * to what, and what the daemon does next. */
#ifndef APPEALSD_LOG_H
#define APPEALSD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
    LOG_LVL_ERROR = 3,
    LOG_LVL_WARN = 4,
    LOG_LVL_NOTICE = 5,
    LOG_LVL_INFO = 6,
    LOG_LVL_DEBUG = 7,
};

void log_init(const char *ident);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "error|warn|notice|info|debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
const char *log_level_name(enum log_level lvl);
bool log_enabled(enum log_level lvl);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_error(...)  log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                      \
    do {                                                    \
        if (log_enabled(LOG_LVL_DEBUG))                     \
            log_msg(LOG_LVL_DEBUG, __VA_ARGS__);            \
    } while (0)

/* Lines that outside input can repeat at will (a refused webhook, a full
 * spool) go through a per-call-site limit, so a flood cannot drown the
 * journal: at most `burst` lines per `interval_ms` from one place; the lines
 * dropped are counted, and the next line that passes is preceded by one
 * saying how many.  Loop thread only (the state is a static per call site). */
struct log_limit {
    int64_t window_ms;    /* start of the current window; 0 before the first line */
    unsigned lines;       /* lines let through in it */
    uint64_t suppressed;  /* lines dropped since the last one let through */
};

/* Whether a line may go out at instant now_ms (monotonic); writes the
 * "suppressed" line first when there is something to report. */
bool log_limit_pass(struct log_limit *l, enum log_level lvl, unsigned burst,
                    int64_t interval_ms, int64_t now_ms);
int64_t log_mono_ms(void);

#define log_limited(lvl, burst, interval_ms, ...)                                    \
    do {                                                                             \
        static struct log_limit log_limit_;                                          \
        if (log_enabled(lvl) &&                                                      \
            log_limit_pass(&log_limit_, lvl, burst, interval_ms, log_mono_ms()))     \
            log_msg(lvl, __VA_ARGS__);                                               \
    } while (0)

#endif
