#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "json.h"
#include "sbuf.h"
#include "units.h"

int client_connect(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        int e = errno;
        snprintf(err, errlen, "cannot connect to %s: %s%s", path, strerror(e),
                 e == ENOENT || e == ECONNREFUSED ? " (is appealsd running? -s PATH or -i NAME "
                                                    "names another socket)"
                 : e == EACCES ? " (only the socket's group may connect: see [control] group)"
                               : "");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Buffered reads: a reply may arrive in pieces, and several at once. */
static char rbuf[65536];
static size_t rlen;

/* 1: a line; 0: EOF; -1: error; -2: timed out. */
static int read_line(int fd, struct sbuf *line, int64_t deadline)
{
    sbuf_reset(line);
    for (;;) {
        char *nl = memchr(rbuf, '\n', rlen);
        if (nl) {
            size_t n = (size_t)(nl - rbuf);
            sbuf_add(line, rbuf, n);
            memmove(rbuf, nl + 1, rlen - n - 1);
            rlen -= n + 1;
            return 1;
        }
        sbuf_add(line, rbuf, rlen);
        rlen = 0;
        if (deadline >= 0) {
            int64_t left = deadline - mono_ms();
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int pr = left > 0 ? poll(&p, 1, (int)left) : 0;
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr == 0)
                return -2;
        }
        ssize_t r = read(fd, rbuf, sizeof(rbuf));
        if (r < 0)
            return -1;
        if (r == 0)
            return line->len ? 1 : 0;
        rlen = (size_t)r;
    }
}

int client_read_line(int fd, struct sbuf *line)
{
    int rc = read_line(fd, line, -1);
    return rc < -1 ? -1 : rc;
}

static int send_all(int fd, const char *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, p + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

struct json_doc *client_call(int fd, const char *request, int64_t timeout_ms, struct sbuf *raw,
                             char *err, size_t errlen)
{
    struct sbuf out = SBUF_INIT;
    sbuf_adds(&out, request);
    sbuf_addc(&out, '\n');
    int rc = send_all(fd, out.p, out.len);
    sbuf_free(&out);
    if (rc != 0) {
        snprintf(err, errlen, "cannot send the request: %s", strerror(errno));
        return NULL;
    }
    rc = read_line(fd, raw, timeout_ms < 0 ? -1 : mono_ms() + timeout_ms);
    if (rc == -2) {
        snprintf(err, errlen, "no reply within %lld ms (is the daemon stuck? see its journal)",
                 (long long)timeout_ms);
        return NULL;
    }
    if (rc <= 0) {
        snprintf(err, errlen, "the daemon closed the connection without answering%s%s",
                 rc < 0 ? ": " : "", rc < 0 ? strerror(errno) : "");
        return NULL;
    }
    return json_parse(raw->p, raw->len, 64, err, errlen);
}
