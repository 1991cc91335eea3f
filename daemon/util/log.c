#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static enum log_level cur_level = LOG_LVL_INFO;
static bool journal;
static const char *log_ident = "appealsd";

static const char *const names[] = {
    [LOG_LVL_ERROR] = "error", [LOG_LVL_WARN] = "warn", [LOG_LVL_NOTICE] = "notice",
    [LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connects to
 * the journal; a child whose stderr was redirected inherits the variable, so
 * only a match with our own stderr means the journal reads it (systemd.exec(5),
 * "Environment variables in spawned processes").  The journal adds its own
 * timestamp, so there we only add the priority. */
static bool stderr_is_journal(void)
{
    const char *v = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident)
{
    log_ident = ident;
    journal = stderr_is_journal();
}

void log_set_level(enum log_level lvl) { cur_level = lvl; }
enum log_level log_get_level(void) { return cur_level; }
bool log_enabled(enum log_level lvl) { return lvl <= cur_level; }

int log_level_parse(const char *s)
{
    for (int i = LOG_LVL_ERROR; i <= LOG_LVL_DEBUG; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    if (strcmp(s, "warning") == 0)
        return LOG_LVL_WARN;
    return -1;
}

const char *log_level_name(enum log_level lvl)
{
    return (lvl >= LOG_LVL_ERROR && lvl <= LOG_LVL_DEBUG) ? names[lvl] : "?";
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
    char line[2048];
    int n;

    if (!log_enabled(lvl))
        return;
    if (journal) {
        n = snprintf(line, sizeof(line), "<%d>", (int)lvl);
    } else {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        /* The offset labels the time: the audit trail and the events are
         * in [daemon] timezone, this is the process's zone (often UTC). */
        long off = tm.tm_gmtoff / 60;
        n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03ld%c%02ld:%02ld %s %s: ",
                      (long)(tv.tv_usec / 1000), off < 0 ? '-' : '+', labs(off) / 60,
                      labs(off) % 60, log_ident, names[lvl]);
    }
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    /* One event, one line: newlines inside a message would split it in the journal. */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(lvl, fmt, ap);
    va_end(ap);
}

int64_t log_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool log_limit_pass(struct log_limit *l, enum log_level lvl, unsigned burst,
                    int64_t interval_ms, int64_t now_ms)
{
    if (l->window_ms == 0 || now_ms - l->window_ms >= interval_ms) {
        l->window_ms = now_ms;
        l->lines = 0;
    }
    if (l->lines >= burst) {
        l->suppressed++;
        return false;
    }
    l->lines++;
    if (l->suppressed) {
        log_msg(lvl, "log: %llu lines like the next one were suppressed (at most %u per "
                "%lld s)", (unsigned long long)l->suppressed, burst,
                (long long)(interval_ms / 1000));
        l->suppressed = 0;
    }
    return true;
}
