/* Unix socket listener: the same HTTP API as TCP, served by httpd.c on a local socket file. */
#ifndef EV_UNIXSOCK_H
#define EV_UNIXSOCK_H

#include "buf.h"
#include "ev.h"

/*
 * Create, bind and listen on path with file mode; a stale socket file (nobody
 * answering) is replaced, a live one is an error. Returns the fd, or -1 with err set.
 */
int			unixsock_listen(const char *path, int mode, struct buf *err);
/* Remove the socket file (the listener itself is closed by httpd.c). */
void		unixsock_unlink(const char *path);

#endif
