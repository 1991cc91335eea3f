#include "notify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "units.h"

void notify_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void notify_reloading(void)
{
    /* MONOTONIC_USEC lets systemd >= 253 pair this reload with our READY=1. */
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)mono_us());
}

void notify_stopping(const char *status)
{
    sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
}

void notify_status(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s", buf);
}

void notify_watchdog(void) { sd_notify(0, "WATCHDOG=1"); }

void notify_errno(int err) { sd_notifyf(0, "ERRNO=%d", err); }

uint64_t notify_watchdog_usec(void)
{
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

static int n_fds = -1;
static char **fd_names;

int notify_listen_fd(const char *name)
{
    if (n_fds < 0) {
        n_fds = sd_listen_fds_with_names(1, &fd_names);
        if (n_fds < 0)
            n_fds = 0;
    }
    for (int i = 0; i < n_fds; i++)
        if (fd_names && fd_names[i] && strcmp(fd_names[i], name) == 0)
            return SD_LISTEN_FDS_START + i;
    /* Without names ("unknown"), the first fd is the HTTP listener. */
    if (n_fds >= 1 && strcmp(name, "http") == 0 &&
        (fd_names == NULL || fd_names[0] == NULL || strcmp(fd_names[0], "unknown") == 0))
        return SD_LISTEN_FDS_START;
    return -1;
}
