/* libFuzzer harness for the spool reader: what an earlier run (or a damaged
 * disk) left in the spool directory is opened, scanned, replayed and
 * released.  The input is a segment's records after a valid header (seq 1,
 * salt FUZZ_SALT; seeds are built with the same salt), optionally preceded by
 * a release log: the first byte, if below 0x40, gives its length in 8-byte
 * entries.  Checked: no crash, every record handed out lies in the segment
 * and is unique, and a second open of what the first one left agrees. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "log.h"
#include "spool.h"
#include "spool_format.h"

#define FUZZ_SALT 0x5eed5eed5eed5eedULL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct event_base *base;

static void clean(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[300];
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
}

static void remove_dir(void)
{
    clean();
    rmdir(dir);
}

static void write_file(const char *name, const void *a, size_t alen, const void *b, size_t blen)
{
    char p[300];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0 || (alen && write(fd, a, alen) != (ssize_t)alen) ||
        (blen && write(fd, b, blen) != (ssize_t)blen))
        abort();
    close(fd);
}

/* Durability is not what is fuzzed here: skip the disk flushes. */
static int no_sync(int fd) { return 0; }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    spool_datasync = no_sync;
    /* tmpfs when there is one: thousands of small files per second */
    snprintf(dir, sizeof(dir), "%s/apd-fuzz-spool-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(remove_dir);
    base = event_base_new();
    log_set_level(LOG_LVL_ERROR - 1);   /* silence: damage is logged on every input */
    return 0;
}

/* Replays everything, releasing every other record; returns how many. */
static uint64_t replay(uint64_t *released_out)
{
    char err[256];
    struct spool *sp = spool_open(dir, 1 << 30, 1 << 20, base, err, sizeof(err));
    if (sp == NULL)
        abort();   /* damage must never keep the daemon from starting */
    struct spool_rec r;
    void *buf;
    uint64_t n = 0, released = 0, last = 0;
    while (spool_next(sp, &r, &buf) == 1) {
        if (r.id >> 32 != 1 || (n && r.id <= last))
            abort();   /* out of its segment, or not in order */
        last = r.id;
        if (r.body[r.body_len] != '\0' || strlen(r.source) > 65535)
            abort();
        if (n++ % 2 == 0) {
            spool_release(sp, r.id);
            released++;
        }
        free(buf);
    }
    struct spool_stats st;
    spool_get_stats(sp, &st);
    if (st.unreleased != n - released)
        abort();
    spool_close(sp);
    *released_out = released;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clean();
    size_t acklen = 0;
    if (size && data[0] < 0x40) {
        acklen = (size_t)data[0] * SPOOL_ACK_ENTRY;
        data++, size--;
        if (acklen > size)
            acklen = size;
    }
    unsigned char hdr[SPOOL_SEG_HDR];
    spool_seg_header_encode(hdr, 1, FUZZ_SALT);
    write_file("0000000000000001.seg", hdr, sizeof(hdr), data + acklen, size - acklen);
    write_file("0000000000000001.ack", data, acklen, NULL, 0);
    uint64_t released;
    uint64_t n = replay(&released);
    /* What the first open left (truncated tail, appended releases) must
     * replay as exactly the records it did not release. */
    uint64_t released2;
    uint64_t n2 = replay(&released2);
    if (n2 != n - released)
        abort();
    return 0;
}
