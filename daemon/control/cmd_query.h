/* Read-only control commands over the appeal records in Redis
 * (daemon/store/appeals.h): `show ID` and `list [filters]`.
 *
 * Both answer asynchronously (ctl_hold/ctl_finish) from hiredis callbacks
 * on the loop thread; neither writes to Redis.  `list` reads the open-appeal
 * indexes and the deadline set page by page, so a large region costs more
 * round trips, never one long blocking command. */
#ifndef APPEALSD_CMD_QUERY_H
#define APPEALSD_CMD_QUERY_H

struct app;
struct ctl_client;
struct json;
struct jw;

int ctl_cmd_show(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int ctl_cmd_list(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);

#endif
