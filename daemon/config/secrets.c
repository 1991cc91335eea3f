#include "secrets.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"

/* SHA-256 of the secrets shipped in config/ and scripts/demo.sh.  Kept as
 * hashes in the binary rather than built from config/ at build time: the
 * check must work on an installed system without the source tree, and only
 * the values (not which keys are secrets, which the plugins know) matter.
 * test_config's "shipped secrets are all listed" reads config/ and fails
 * when a secret there is missing here, so the list cannot go stale. */
static const char *const example_sha256[] = {
    "7c8893d631f5bc76c515d2c45740e0ad96a0f600711c6552a74c2ddce37c73d8", /* vk maykop */
    "189389d4e9ba094373912312025b28b05a6cb24b6ca79560a2c48b52525ae33f", /* vk minzdrav */
    "18d5b8d9c364dc5f622c04f63e75b5e13b8bbf012cc7bec87b0f3f35479116e9", /* vk takht */
    "84ad8d510d7104466a77ca21ee1a8690b4fb9fdd0ad82aed292f1fea84cbf1f5", /* vk minobr */
    "3cac0f85f15c40a6d3d6d2b457499b5782a7ea16ed176a990f7eea685090beb3", /* vk cur */
    "777a615136b05648c4c33a318795153d7581c62d1a9385c4413b63f1228264f4", /* ok maykop */
    "6f4d78a92a0c3556f914a9b5431493027f05b8ad96fc2471eda9c12df85e64d7", /* ok takht */
    "332e08f1ebccefab215ec59e7f75394bc7dcb4ce711fb4a6e9cb639e8843aca4", /* telegram */
    "6e0f180eb1ab8365e698941fe4a3d9ae8bdf53aee7c2c6d72fda4eb9bf57d020", /* max */
    "82438e1e14c7c291d26553e50223ac94f02f16d131dff5605cdf3092fc19c063", /* generic */
    "85465bf2bf31550293af3a4cb7a9b8169ced446b3ebb873b12dcd14062b8a5c4", /* scripts/demo.sh pseudonym_key */
};

int secret_check_length(const char *v, size_t min, char *why, size_t wl)
{
    size_t n = strlen(v);
    if (n >= min)
        return 0;
    if (n == 0)
        snprintf(why, wl, "empty secret; set at least %zu random bytes (openssl rand -hex %zu) "
                 "or remove the line", min, min);
    else
        snprintf(why, wl, "secret too short (%zu bytes); at least %zu random bytes are needed",
                 n, min);
    return -1;
}

bool secret_is_example(const char *v)
{
    char hex[65];
    sha256_hex(v, strlen(v), hex, 64);
    for (size_t i = 0; i < sizeof(example_sha256) / sizeof(example_sha256[0]); i++)
        if (strcmp(hex, example_sha256[i]) == 0)
            return true;
    return false;
}
