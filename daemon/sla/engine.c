#include "engine.h"

#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "control.h"
#include "gauges.h"
#include "lifecycle.h"
#include "log.h"
#include "eventbox.h"
#include "rebuild.h"
#include "redis.h"
#include "status.h"
#include "timers.h"

struct sla_engine {
    struct lifecycle *lc;
    struct sla_timers *timers;
    struct status_consumer *status;
    struct sla_gauges *gauges;
    struct rebuild *rebuild;
};

static void on_redis_empty(void *arg)
{
    struct app *app = arg;
    struct sla_engine *e = app->sla;
    sla_gauges_redis_empty(e->gauges);
    struct tail_event te = {
        .type = "sla", .event = "redis_empty",
        .json = "{\"type\":\"sla\",\"event\":\"redis_empty\",\"action\":\"run appealsctl "
                "rebuild to re-arm open appeals from Kafka\"}",
    };
    control_publish(app->control, &te);
}

int sla_engine_start(struct app *app, char *err, size_t errlen)
{
    struct sla_engine *e = calloc(1, sizeof(*e));
    if (e == NULL)
        abort();
    app->sla = e;
    e->lc = lifecycle_new(app);
    e->gauges = sla_gauges_new(app);
    e->rebuild = rebuild_new(app, e->lc);
    if ((e->status = status_consumer_new(app, e->lc, err, errlen)) == NULL)
        return -1;
    e->timers = sla_timers_new(app, e->lc);
    redis_on_empty(app->redis, on_redis_empty, app);
    return 0;
}

void sla_engine_stop(struct app *app)
{
    struct sla_engine *e = app->sla;
    if (e)
        sla_timers_stop(e->timers);
}

void sla_engine_drain(struct app *app)
{
    struct sla_engine *e = app->sla;
    if (e == NULL)
        return;
    sla_timers_stop(e->timers);
    status_consumer_stop(e->status);
}

void sla_engine_free(struct app *app)
{
    struct sla_engine *e = app->sla;
    if (e == NULL)
        return;
    sla_timers_close(e->timers);
    status_consumer_free(e->status);
    sla_timers_free(e->timers);
    rebuild_free(e->rebuild);
    sla_gauges_free(e->gauges);
    lifecycle_free(e->lc);
    free(e);
    app->sla = NULL;
}

bool sla_engine_idle(struct app *app)
{
    struct sla_engine *e = app->sla;
    return e == NULL ||
           (lifecycle_inflight(e->lc) == 0 && eventbox_inflight(lifecycle_eventbox(e->lc)) == 0);
}

struct lifecycle *sla_engine_lifecycle(struct app *app)
{
    return app->sla ? app->sla->lc : NULL;
}

struct sla_timers *sla_engine_timers(struct app *app)
{
    return app->sla ? app->sla->timers : NULL;
}

struct status_consumer *sla_engine_status(struct app *app)
{
    return app->sla ? app->sla->status : NULL;
}

struct rebuild *sla_engine_rebuild(struct app *app)
{
    return app->sla ? app->sla->rebuild : NULL;
}
