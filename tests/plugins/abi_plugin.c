/* Source plugins that break the ABI rules on purpose, one per build flag, for
 * the loader tests: the host must refuse each with a line that says why.
 *
 *   TEST_ABI_MAJOR2        descriptor claims ABI 2.0
 *   TEST_ABI_RESERVED      a reserved slot of the descriptor is set
 *   TEST_ABI_OPS_RESERVED  a reserved slot of the source ops is set
 *   TEST_ABI_1_0           source ops of ABI 1.0 size (must load)
 *   TEST_ABI_1_4           source ops of ABI 1.4 size with stray bytes where 1.5
 *                          put `poll` (must load, and not poll)
 *   TEST_ABI_POLL_BAD      poll ops without a parse callback */
#include <stddef.h>
#include <stdlib.h>

#include "appealsd/plugin.h"

static enum apd_verdict t_handle(void *state, const struct apd_request *req, unsigned flags,
                                 struct apd_reply *reply, apd_emit_fn emit, void *ctx)
{
    return APD_ACCEPT;
}

static void *t_init(const struct apd_host_api *api, void *handle, const void *config, char *err,
                    size_t errlen)
{
    static int state;
    return &state;
}

#ifdef TEST_ABI_POLL_BAD
static int t_build(void *state, const struct apd_page *pg, const char *cursor,
                   struct apd_poll_req *req, char *err, size_t errlen)
{
    return -1;
}
static const struct apd_poll_ops t_poll = {.struct_size = sizeof(struct apd_poll_ops),
                                           .build = t_build};
#endif

static const struct apd_source_ops t_ops = {
#ifdef TEST_ABI_1_0
    .struct_size = APD_SOURCE_OPS_SIZE_1_0,
#elif defined(TEST_ABI_1_4)
    .struct_size = offsetof(struct apd_source_ops, poll),
    .poll = (const void *)t_init,   /* not the plugin's: past its 1.4 ops */
#else
    .struct_size = sizeof(struct apd_source_ops),
#endif
    .handle = t_handle,
    .ok_body = "ok",
#ifdef TEST_ABI_OPS_RESERVED
    .reserved = {[2] = (void *)t_handle},
#endif
#ifdef TEST_ABI_POLL_BAD
    .poll = &t_poll,
#endif
};

APD_PLUGIN_EXPORT const struct apd_plugin apd_plugin_entry = {
#ifdef TEST_ABI_MAJOR2
    .abi_major = 2,
    .abi_minor = 0,
#else
    .abi_major = APD_PLUGIN_ABI_MAJOR,
    .abi_minor = APD_PLUGIN_ABI_MINOR,
#endif
    .struct_size = sizeof(struct apd_plugin),
    .kind = APD_PLUGIN_SOURCE,
    .name = PLUGIN_NAME,
    .version = "test",
    .init = t_init,
    .source = &t_ops,
#ifdef TEST_ABI_RESERVED
    .reserved = {[0] = (void *)t_init},
#endif
};
