/* One webhook request: find the source, let its plugin authenticate and
 * normalise the body, store it in the spool, and answer only once it is
 * durable.  Then the events go to the pipeline. */
#ifndef APPEALSD_WEBHOOK_H
#define APPEALSD_WEBHOOK_H

#include <event2/http.h>

struct app;

void webhook_handle(struct app *app, struct evhttp_request *req, const char *path,
                    enum evhttp_cmd_type cmd);
/* Requests waiting for their spool fsync. */
unsigned webhook_inflight(void);

#endif
