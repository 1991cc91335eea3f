#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "json.h"
#include "sbuf.h"

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
                 e == ENOENT || e == ECONNREFUSED ? " (is appealsd running? use -s PATH)"
                 : e == EACCES ? " (are you in the socket's group?)" : "");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Buffered reads: a reply may arrive in pieces. */
static char rbuf[65536];
static size_t rlen;

int client_read_line(int fd, struct sbuf *line)
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
        ssize_t r = read(fd, rbuf, sizeof(rbuf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return line->len ? 1 : 0;
        rlen = (size_t)r;
    }
}

struct json_doc *client_call(int fd, const char *request, struct sbuf *raw, char *err,
                             size_t errlen)
{
    size_t len = strlen(request);
    struct sbuf out = SBUF_INIT;
    sbuf_add(&out, request, len);
    sbuf_addc(&out, '\n');
    size_t off = 0;
    while (off < out.len) {
        ssize_t w = write(fd, out.p + off, out.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot send the request: %s", strerror(errno));
            sbuf_free(&out);
            return NULL;
        }
        off += (size_t)w;
    }
    sbuf_free(&out);
    int rc = client_read_line(fd, raw);
    if (rc <= 0) {
        snprintf(err, errlen, "the daemon closed the connection without answering");
        return NULL;
    }
    struct json_doc *d = json_parse(raw->p, raw->len, 64, err, errlen);
    return d;
}
