/* Control commands of the SLA engineer's area (cmd_appeals.c): the appeal
 * changes of docs/control-protocol.md, rebuild and stats.  Registered in
 * commands.c's table. */
#ifndef APPEALSD_CMD_APPEALS_H
#define APPEALSD_CMD_APPEALS_H

#include "control.h"

int cmd_answer(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int cmd_close(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int cmd_reopen(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int cmd_pause(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int cmd_resume(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int cmd_extend(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int cmd_convert(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int cmd_register(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int cmd_reroute(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int cmd_rebuild(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);
int cmd_stats(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);

#endif
