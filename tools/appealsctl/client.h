/* appealsctl's side of the control protocol: connect, send one JSON line,
 * read one JSON line back (or a stream of them for tail). */
#ifndef APPEALSCTL_CLIENT_H
#define APPEALSCTL_CLIENT_H

#include <stddef.h>

struct json_doc;
struct sbuf;

/* Connects to the socket; returns the fd or -1 with a message in err. */
int client_connect(const char *path, char *err, size_t errlen);
/* Sends request (one JSON object, no newline) and reads one reply line.
 * Returns the parsed reply or NULL with a message in err. */
struct json_doc *client_call(int fd, const char *request, struct sbuf *raw, char *err,
                             size_t errlen);
/* Reads the next line of a stream; returns 1, 0 at EOF, -1 on error. */
int client_read_line(int fd, struct sbuf *line);

#endif
