/* Talking to the service manager (sd_notify) and taking sockets from it
 * (socket activation).  Outside systemd every call is a no-op, so the same
 * binary runs by hand, under systemd, and under the test harness (which
 * captures NOTIFY_SOCKET to check the protocol). */
#ifndef APPEALSD_NOTIFY_H
#define APPEALSD_NOTIFY_H

#include <stdint.h>

void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(const char *status);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_watchdog(void);
void notify_errno(int err);
/* Watchdog period the manager expects pings within, in µs; 0 when off. */
uint64_t notify_watchdog_usec(void);
/* The fd passed by the manager under this FileDescriptorName, or the only
 * one passed when names are absent; -1 when none. */
int notify_listen_fd(const char *name);

#endif
