/* Unix socket listener: the same HTTP API as TCP, served by httpd.c on a local socket file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "unixsock.h"

/* Is something listening on path? */
static int
unixsock_alive(const struct sockaddr_un *sa)
{
	int			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int			alive;

	if (fd < 0)
		return 0;
	alive = connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) == 0;
	close(fd);
	return alive;
}

/* Create, bind and listen. */
int
unixsock_listen(const char *path, int mode, struct buf *err)
{
	struct sockaddr_un sa;
	int			fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
	{
		buf_errorf(err, "unix_socket path is too long (%zu bytes, at most %zu)", strlen(path), sizeof(sa.sun_path) - 1);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (access(path, F_OK) == 0)
	{
		if (unixsock_alive(&sa))
		{
			buf_errorf(err, "unix_socket %s is in use by another process", path);
			return -1;
		}
		log_info("unixsock", "removing stale socket %s", path);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0)
		goto fail;
	if (chmod(path, (mode_t) mode) != 0)
		goto fail;
	if (listen(fd, 1024) != 0)
		goto fail;
	return fd;
fail:
	buf_errorf(err, "cannot listen on unix_socket %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Remove the socket file. */
void
unixsock_unlink(const char *path)
{
	if (path && path[0])
		unlink(path);
}
