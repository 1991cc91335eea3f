/* The registry of config modules, in build order: sources first (they load
 * plugins), then the directory of organisations and pages that rules and SLA
 * policies refer to. */
#include "module.h"

extern const struct conf_module sources_conf_module;
extern const struct conf_module directory_conf_module;
extern const struct conf_module rules_conf_module;
extern const struct conf_module delivery_conf_module;
extern const struct conf_module ack_conf_module;
extern const struct conf_module sla_conf_module;
extern const struct conf_module classifier_conf_module;
extern const struct conf_module answer_conf_module;
extern const struct conf_module incident_conf_module;
extern const struct conf_module pipeline_conf_module;
extern const struct conf_module metrics_conf_module;

const struct conf_module *const conf_modules[] = {
    &sources_conf_module,
    &directory_conf_module,
    &rules_conf_module,
    &delivery_conf_module,
    &ack_conf_module,
    &sla_conf_module,
    &classifier_conf_module,
    &answer_conf_module,
    &incident_conf_module,
    &pipeline_conf_module,
    &metrics_conf_module,
    NULL,
};
