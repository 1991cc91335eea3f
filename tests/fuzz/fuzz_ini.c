/* libFuzzer harness for the configuration reader: the input is written as a
 * configuration file and read by ini_load() (syntax, quoting, includes) and
 * then by config_load() without plugins (every section's binder and check:
 * numbers, durations, sizes, lists, secrets, organisations and pages).
 *
 * An input whose first line starts with '!' gives the rest of that line as
 * a --set override.  Inputs naming a path outside their own directory ('/'
 * or "..") are skipped: included or referenced files stay in the scratch
 * directory, which holds only the input itself (so "include *" nests it in
 * itself up to the depth limit).  Checked besides crashes: a configuration
 * that fails says why, and one that loads can be freed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "ini.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[96];

static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* tmpfs when there is one: a file is written per input */
    snprintf(dir, sizeof(dir), "%s/apd-fuzz-ini-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/main.conf", dir);
    atexit(remove_dir);
    log_set_level(LOG_LVL_ERROR - 1);
    return 0;
}

static bool leaves_dir(const uint8_t *data, size_t size)
{
    return memchr(data, '/', size) != NULL || memmem(data, size, "..", 2) != NULL;
}

static void write_input(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
}

static void read_ini(void)
{
    struct diag d = {0};
    struct ini *ini = ini_load(path, &d);
    if (ini == NULL)
        abort();   /* the file is there: only syntax errors, reported in d */
    ini_free(ini);
    diag_free(&d);
}

static void load_config(const char *set)
{
    const char *sets[] = {set, NULL};
    struct config_opts o = {.path = path, .overrides = sets, .skip_plugins = true};
    struct diag d = {0};
    struct apd_config *c = config_load(&o, &d);
    if (c == NULL && d.n == 0)
        abort();   /* refused without a reason */
    if (c)
        config_unref(c);
    diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (leaves_dir(data, size))
        return 0;
    char *set = NULL;
    if (size && data[0] == '!') {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = nl ? (size_t)(nl - data) : size;
        set = strndup((const char *)data + 1, n - 1);
        data += n, size -= n;
    }
    write_input(data, size);
    read_ini();
    load_config(set);
    free(set);
    return 0;
}
