/* appealsctl's side of the control protocol: connect, send one JSON line,
 * read one JSON line back (or a stream of them for tail).
 *
 * One connection per process (the read buffer is static); not thread-safe. */
#ifndef APPEALSCTL_CLIENT_H
#define APPEALSCTL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct json_doc;
struct sbuf;

/* Connects to the socket; returns the fd or -1 with a message in err. */
int client_connect(const char *path, char *err, size_t errlen);
/* Sends request (one JSON object, no newline) and reads one reply line,
 * waiting at most timeout_ms (-1: no limit).  Returns the parsed reply, or
 * NULL with a message in err. */
struct json_doc *client_call(int fd, const char *request, int64_t timeout_ms, struct sbuf *raw,
                             char *err, size_t errlen);
/* Reads the next line of a stream (no time limit); returns 1, 0 at EOF,
 * -1 on error (errno set; EINTR when a signal arrived). */
int client_read_line(int fd, struct sbuf *line);

#endif
