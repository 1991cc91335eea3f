/* The plugin loader refuses what it cannot trust, each time with a reason an
 * operator can act on: another ABI major, set reserved slots (a newer 1.x),
 * a descriptor that is too small; and it loads older 1.x plugins, giving
 * them zero-filled fields for what they do not know. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "pevent.h"
#include "test.h"

static bool has(const char *err, const char *needle)
{
    if (strstr(err, needle))
        return true;
    printf("# \"%s\" does not contain \"%s\"\n", err, needle);
    return false;
}

TEST(other_major_is_refused)
{
    char err[512] = "";
    struct plugin *p = plugin_get(TEST_PLUGIN_DIR, "test_abi_major2", err, sizeof(err));
    CHECK(p == NULL);
    CHECK(has(err, "plugin test_abi_major2"));
    char want[96];
    snprintf(want, sizeof(want), "built for plugin ABI 2.0, this appealsd speaks %d.%d",
             APD_PLUGIN_ABI_MAJOR, APD_PLUGIN_ABI_MINOR);
    CHECK(has(err, want));
    CHECK(has(err, "rebuild the plugin"));
}

/* ABI 1.4 appended deleter_id and ignore_reason to struct apd_event: an
 * event of an older plugin ends before them, and whatever lies beyond its
 * struct_size is never read. */
TEST(events_of_older_plugins_have_no_deleter)
{
    struct apd_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.struct_size = offsetof(struct apd_event, deleter_id);   /* as built against 1.3 */
    ev.type = APD_EV_DELETED;
    ev.appeal_id = "vk:-1:wall:1:c1";
    ev.deleter_id = "90210";        /* stray bytes past the old struct's end */
    ev.ignore_reason = "x";
    struct pevent *p = pevent_copy(&ev);
    CHECK(p != NULL && p->deleter_id == NULL && p->ignore_reason == NULL);
    CHECK_STR(p ? p->appeal_id : NULL, "vk:-1:wall:1:c1");
    free(p);
    ev.struct_size = sizeof(ev);
    p = pevent_copy(&ev);
    CHECK_STR(p ? p->deleter_id : NULL, "90210");
    free(p);
}

TEST(set_reserved_slot_is_refused)
{
    char err[512] = "";
    CHECK(plugin_get(TEST_PLUGIN_DIR, "test_abi_reserved", err, sizeof(err)) == NULL);
    CHECK(has(err, "reserved field 0 of its descriptor is set"));
    CHECK(has(err, "newer ABI 1.x"));
    err[0] = '\0';
    CHECK(plugin_get(TEST_PLUGIN_DIR, "test_abi_ops_reserved", err, sizeof(err)) == NULL);
    CHECK(has(err, "reserved field 2 of its source ops is set"));
}

TEST(older_minor_loads_with_zeroed_new_fields)
{
    char err[512] = "";
    struct plugin *p = plugin_get(TEST_PLUGIN_DIR, "test_abi_1_0", err, sizeof(err));
    CHECK(p != NULL);
    if (p == NULL) {
        printf("# %s\n", err);
        return;
    }
    CHECK(p->desc.source == &p->source);
    CHECK(p->source.handle != NULL);
    CHECK(p->source.takeover == NULL);
    struct plugin *again = plugin_get(TEST_PLUGIN_DIR, "test_abi_1_0", err, sizeof(err));
    CHECK(again == p);   /* shared, reference-counted */
    plugin_put(again);
    plugin_put(p);
}

/* ABI 1.5: a 1.4 plugin does not poll, whatever lies past its ops. */
TEST(plugins_before_1_5_do_not_poll)
{
    char err[512] = "";
    struct plugin *p = plugin_get(TEST_PLUGIN_DIR, "test_abi_1_4", err, sizeof(err));
    CHECK(p != NULL);
    if (p == NULL) {
        printf("# %s\n", err);
        return;
    }
    CHECK(p->source.handle != NULL);
    CHECK(p->source.poll == NULL);
    plugin_put(p);
}

TEST(poll_ops_need_build_and_parse)
{
    char err[512] = "";
    CHECK(plugin_get(TEST_PLUGIN_DIR, "test_abi_poll_bad", err, sizeof(err)) == NULL);
    CHECK(has(err, "poll ops must have build and parse"));
}

TEST(in_tree_plugins_load)
{
    const char *names[] = {"source_vk", "source_telegram", "source_max", "source_ok",
                           "source_generic", "classify_ru", "classify_spam"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char err[512] = "";
        struct plugin *p = plugin_get(PLUGIN_BUILD_DIR, names[i], err, sizeof(err));
        CHECK(p != NULL);
        if (p == NULL) {
            printf("# %s: %s\n", names[i], err);
            continue;
        }
        if (strncmp(names[i], "classify_", 9) == 0) {
            CHECK(p->desc.kind == APD_PLUGIN_CLASSIFIER);
            CHECK(p->desc.classifier == &p->classifier && p->classifier.classify != NULL);
        } else {
            CHECK(p->desc.kind == APD_PLUGIN_SOURCE);
        }
        CHECK(p->desc.abi_minor == APD_PLUGIN_ABI_MINOR);
        plugin_put(p);
    }
}

TEST(missing_and_foreign_files)
{
    char err[512] = "";
    CHECK(plugin_get(TEST_PLUGIN_DIR, "no_such_plugin", err, sizeof(err)) == NULL);
    CHECK(has(err, "no no_such_plugin.so in"));
}

TEST(descriptor_checks)
{
    struct apd_plugin d = {.abi_major = APD_PLUGIN_ABI_MAJOR, .abi_minor = 0,
                           .struct_size = 8, .name = "x"};
    char err[512] = "";
    CHECK(plugin_check_desc(&d, sizeof(d), err, sizeof(err)) != 0);
    CHECK(has(err, "descriptor size 8 is not a valid ABI 1 descriptor"));
    d.struct_size = sizeof(d);
    CHECK(plugin_check_desc(&d, sizeof(d), err, sizeof(err)) != 0);
    CHECK(has(err, "lacks a name or an init callback"));
}

static int fake_classify(void *state, const struct apd_classify_input *in,
                         struct apd_classification *io, apd_evidence_fn evidence, void *ctx)
{
    return 0;
}

static void *fake_init(const struct apd_host_api *api, void *handle, const void *config,
                       char *err, size_t errlen)
{
    return NULL;
}

TEST(classifier_ops_checks)
{
    struct apd_classifier_ops ops = {.struct_size = sizeof(ops), .classify = fake_classify};
    struct apd_plugin d = {.abi_major = APD_PLUGIN_ABI_MAJOR, .abi_minor = 2,
                           .struct_size = sizeof(d), .kind = APD_PLUGIN_CLASSIFIER,
                           .name = "c", .init = fake_init, .classifier = &ops};
    char err[512] = "";
    CHECK(plugin_check_desc(&d, sizeof(d), err, sizeof(err)) == 0);
    /* a shorter (first-minor) ops struct is fine; its reserved slots are not read */
    ops.struct_size = APD_CLASSIFIER_OPS_SIZE_1_2;
    ops.reserved[0] = &ops;
    CHECK(plugin_check_desc(&d, sizeof(d), err, sizeof(err)) == 0);
    ops.struct_size = sizeof(ops);
    CHECK(plugin_check_desc(&d, sizeof(d), err, sizeof(err)) != 0);
    CHECK(has(err, "reserved field 0 of its classifier ops is set"));
    ops.reserved[0] = NULL;
    ops.classify = NULL;
    CHECK(plugin_check_desc(&d, sizeof(d), err, sizeof(err)) != 0);
    CHECK(has(err, "with a classify callback"));
    ops.classify = fake_classify;
    d.classifier = NULL;
    CHECK(plugin_check_desc(&d, sizeof(d), err, sizeof(err)) != 0);
    CHECK(has(err, "must provide classifier ops"));
    /* a descriptor of ABI 1.0/1.1 has no classifier slot: it cannot be one */
    d.classifier = &ops;
    d.struct_size = offsetof(struct apd_plugin, classifier);
    CHECK(plugin_check_desc(&d, sizeof(d), err, sizeof(err)) != 0);
    CHECK(has(err, "must provide classifier ops"));
}

int main(void)
{
    RUN(other_major_is_refused);
    RUN(set_reserved_slot_is_refused);
    RUN(events_of_older_plugins_have_no_deleter);
    RUN(older_minor_loads_with_zeroed_new_fields);
    RUN(plugins_before_1_5_do_not_poll);
    RUN(poll_ops_need_build_and_parse);
    RUN(in_tree_plugins_load);
    RUN(missing_and_foreign_files);
    RUN(descriptor_checks);
    RUN(classifier_ops_checks);
    return test_done();
}
