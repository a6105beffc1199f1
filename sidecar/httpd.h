/*
 * A small HTTP/1.1 server on libevent's event loop: connections, keep-alive, pipelining,
 * timeouts and limits. Requests are framed by httpparse.c and handed to one handler,
 * which answers at once or later (httpd_reply), as the ingest API does once events are
 * durable.
 *
 * Why not evhttp: evhttp re-arms its read and write events around every request (four
 * epoll_ctl calls) and asks the kernel for the readable bytes (ioctl), where this server
 * keeps one persistent read event per connection and answers with one write; syscalls
 * dominate the cost of small requests (bench/README.md).
 */
#ifndef EV_HTTPD_H
#define EV_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include "ev.h"
#include "httpparse.h"

struct event_base;
struct httpd;
struct httpd_conn;

/* One request; valid until httpd_reply(). body and authorization only during the handler. */
struct httpd_req {
	struct httpd_conn *conn;
	enum httpp_method method;
	char		target[HTTPP_MAX_TARGET + 1];	/* NUL-terminated copy */
	char	   *path;			/* target up to '?' (NUL-terminated, in target) */
	char	   *query;			/* after '?', or NULL */
	char	   *authorization;	/* NUL-terminated copy, or NULL */
	const char *body;
	size_t		body_len;
};

typedef void (*httpd_handler) (struct httpd_req *req, void *arg);

struct httpd_limits {
	uint64_t	max_body_bytes;
	size_t		max_head_bytes;
	int64_t		idle_timeout_ms;	/* keep-alive connection without a request */
	int64_t		read_timeout_ms;	/* a request begun but not fully received */
	size_t		max_connections;
};

int			httpd_new(struct event_base *base, const struct httpd_limits *lim, httpd_handler fn, void *arg,
					  struct httpd **out) EV_MUST_USE;
void		httpd_free(struct httpd *s);
void		httpd_set_limits(struct httpd *s, const struct httpd_limits *lim);
/* Listen on host:port (TCP), or serve an already listening socket. */
int			httpd_listen_tcp(struct httpd *s, const char *host, int port) EV_MUST_USE;
int			httpd_accept_fd(struct httpd *s, int fd) EV_MUST_USE;
void		httpd_stop_listening(struct httpd *s);
size_t		httpd_connections(struct httpd *s);

/*
 * Answer req: status line, Content-Type, Content-Length, extra_headers (each line ending
 * in CRLF, or NULL) and the body (left out for HEAD). close_conn closes the connection
 * after the answer. req must not be used afterwards.
 */
void		httpd_reply(struct httpd_req *req, int status, const char *reason, const char *content_type,
						const char *extra_headers, const char *body, size_t len, int close_conn);

#endif
