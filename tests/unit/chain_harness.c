#include "chain_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "directory.h"

const char *ch_build_dir, *ch_source_dir;
struct apd_config *ch_cfg;
struct classify_result ch_res;
static char tmpdir[256];

const char *ch_write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return path;
    fputs(text, f);
    fclose(f);
    return path;
}

struct apd_config *ch_load(const char *text, const char *set, struct diag *d)
{
    const char *sets[] = {set, NULL};
    struct config_opts o = {.path = ch_write_file("t.conf", text), .overrides = sets};
    return config_load(&o, d);
}

const struct classify_result *ch_classify(const char *text, const char *page)
{
    const struct page *p = page ? directory_page(ch_cfg->dir, "vk", page) : NULL;
    struct classify_request rq = {.text = text, .len = strlen(text), .source = "vk",
                                  .page = page, .page_municipality = p ? p->municipality : NULL};
    classify_text(classify_chain_of(ch_cfg), &rq, &ch_res);
    return &ch_res;
}

int ch_setup(const char *name, struct apd_config *(*load)(struct diag *d))
{
    ch_build_dir = getenv("APD_BUILD_DIR");
    ch_source_dir = getenv("APD_SOURCE_ROOT");
    if (ch_build_dir == NULL || ch_source_dir == NULL) {
        printf("1..0 # SKIP APD_BUILD_DIR and APD_SOURCE_ROOT are not set\n");
        return 77;
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/apd-test-%s-XXXXXX", name);
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    struct diag d = {0};
    ch_cfg = load(&d);
    if (ch_cfg == NULL) {
        for (size_t i = 0; i < d.n; i++)
            printf("# %s\n", d.msg[i]);
        printf("Bail out! the shipped configuration does not load\n");
        diag_free(&d);
        return 1;
    }
    diag_free(&d);
    classify_result_init(&ch_res);
    return 0;
}

void ch_teardown(void)
{
    classify_result_free(&ch_res);
    config_unref(ch_cfg);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
}
