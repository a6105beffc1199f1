/*
 * HTTP/1.1 server on libevent's event loop; see httpd.h.
 *
 * A connection has one persistent read event, registered once, and a write event that is
 * added only when the socket's buffer is full. Requests on a connection are served in
 * order: while one waits for its answer (the spool's fdatasync, a commit), later
 * pipelined bytes stay buffered (at most MAX_PENDING_INPUT, then reading pauses). Every
 * answer is one send(). Errors of framing are answered with a JSON error, then the
 * connection is closed the careful way: shutdown of our side, then the rest of the input
 * is read and dropped for a while, so that the client sees the answer and not a reset.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "httpd.h"
#include "log.h"
#include "stats.h"

#define SUB "http"
#define READ_CHUNK 16384
#define MAX_PENDING_INPUT (64 * 1024)	/* pipelined input buffered while a request waits */
#define LINGER_MS 5000
#define LINGER_MAX_BYTES (1024 * 1024)
#define MAX_LISTENERS 8

enum conn_state {
	CS_HEAD,					/* reading a request head (or idle) */
	CS_BODY,					/* head parsed, reading the body */
	CS_HANDLER,					/* inside the handler */
	CS_WAIT,					/* handler returned; the answer comes later */
	CS_LINGER					/* answered and shut down; dropping input until EOF */
};

struct httpd_conn {
	struct httpd *s;
	int			fd;
	struct event *rev,
			   *wev;
	enum conn_state state;
	struct buf	in;
	size_t		in_off;			/* start of unconsumed input */
	size_t		head_scan;		/* bytes after in_off already searched for the end of the head */
	size_t		head_len;
	struct httpp_head head;
	struct httpp_chunked ch;
	struct buf	out;
	size_t		out_off;
	int			keep_alive;
	int			close_after;	/* close once out is sent */
	int			eof;			/* the peer sent everything it will send */
	int			replied;		/* httpd_reply ran for the current request */
	int			read_paused;
	int			busy;			/* inside conn_process: free later */
	int			dead;			/* to be freed */
	int			sent_continue;
	size_t		linger_bytes;
	int64_t		since_ms;		/* start of idle time, of the request, or of lingering */
	struct httpd_req req;
	struct httpd_conn *prev,
			   *next;
};

struct httpd {
	struct event_base *base;
	struct httpd_limits lim;
	httpd_handler fn;
	void	   *arg;
	struct evconnlistener *listeners[MAX_LISTENERS];
	size_t		nlisteners;
	int			listening_paused;
	struct httpd_conn *conns;
	size_t		nconns;
	size_t		fd_limit;		/* connections the process's fd limit leaves room for */
	struct event *sweep_ev;
};

static void conn_process(struct httpd_conn *c);
static void conn_flush(struct httpd_conn *c);

static int64_t
now_ms(void)
{
	return log_now_ms();
}

/* Free a connection (or mark it, when conn_process is on the stack). */
static void
conn_close(struct httpd_conn *c)
{
	struct httpd *s = c->s;

	if (c->busy)
	{
		c->dead = 1;
		return;
	}
	if (c->state == CS_WAIT || c->state == CS_HANDLER)
	{
		/* the handler still holds c->req: free once it answers */
		c->dead = 1;
		if (c->rev)
			event_del(c->rev);
		if (c->wev)
			event_del(c->wev);
		return;
	}
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	free(c->req.authorization);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
	if (s->listening_paused && s->nconns < s->fd_limit)
	{
		size_t		i;

		for (i = 0; i < s->nlisteners; i++)
			evconnlistener_enable(s->listeners[i]);
		s->listening_paused = 0;
	}
}

/* Start closing: our side shut down, input read and dropped for a while. */
static void
conn_linger(struct httpd_conn *c)
{
	if (c->eof || c->dead)
	{
		c->state = CS_HEAD;
		conn_close(c);
		return;
	}
	c->state = CS_LINGER;
	c->since_ms = now_ms();
	(void) shutdown(c->fd, SHUT_WR);
	if (c->read_paused)
	{
		c->read_paused = 0;
		event_add(c->rev, NULL);
	}
}

/* After an answer is fully sent. */
static void
conn_sent(struct httpd_conn *c)
{
	if (c->close_after)
	{
		conn_linger(c);
		return;
	}
	if (c->state == CS_WAIT)
	{
		/* answered later: serve what was pipelined meanwhile */
		c->state = CS_HEAD;
		c->since_ms = now_ms();
		if (c->read_paused && !c->eof)
		{
			c->read_paused = 0;
			event_add(c->rev, NULL);
		}
		conn_process(c);
	}
}

/* Send what is in out; the write event finishes it when the socket is full. */
static void
conn_flush(struct httpd_conn *c)
{
	while (c->out_off < c->out.len)
	{
		ssize_t		n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);

		if (n > 0)
			c->out_off += (size_t) n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		{
			event_add(c->wev, NULL);
			return;
		}
		else
		{
			/* the peer is gone: nothing more to answer on this connection */
			c->close_after = 1;
			c->eof = 1;
			c->out.len = c->out_off = 0;
			if (c->state == CS_WAIT || c->state == CS_HANDLER)
				c->state = CS_HEAD;
			conn_close(c);
			return;
		}
	}
	c->out.len = c->out_off = 0;
	event_del(c->wev);
	if (c->state != CS_HANDLER)
		conn_sent(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn *c = arg;

	EV_UNUSED(fd);
	EV_UNUSED(what);
	conn_flush(c);
}

/* Date header value, formatted once a second. */
static const char *
http_date(void)
{
	static time_t last;
	static char text[64];
	time_t		t = time(NULL);

	if (t != last)
	{
		struct tm	tm;

		gmtime_r(&t, &tm);
		strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		last = t;
	}
	return text;
}

/* Answer; see httpd.h. */
void
httpd_reply(struct httpd_req *req, int status, const char *reason, const char *content_type,
			const char *extra_headers, const char *body, size_t len, int close_conn)
{
	struct httpd_conn *c = req->conn;

	free(req->authorization);
	req->authorization = NULL;
	c->replied = 1;
	if (c->dead)
	{
		/* the peer went away while we worked */
		c->state = CS_HEAD;
		if (!c->busy)
			conn_close(c);
		return;
	}
	if (close_conn || !c->keep_alive || c->eof)
		c->close_after = 1;
	if (buf_printf(&c->out, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
				   status, reason, http_date(), content_type, len, extra_headers ? extra_headers : "",
				   c->close_after ? "Connection: close\r\n" : "") != EV_OK ||
		(req->method != HTTPP_HEAD && len > 0 && buf_append(&c->out, body, len) != EV_OK))
	{
		log_error(SUB, "out of memory writing an answer; closing the connection");
		c->out.len = c->out_off = 0;
		c->state = CS_HEAD;
		conn_close(c);
		return;
	}
	conn_flush(c);
}

/* Answer a request that could not be framed, and close. */
static void
conn_error(struct httpd_conn *c, const struct httpp_error *err)
{
	struct buf	b;
	const char *reason;

	switch (err->status)
	{
		case 400:
			reason = "Bad Request";
			break;
		case 408:
			reason = "Request Timeout";
			break;
		case 413:
			reason = "Payload Too Large";
			break;
		case 414:
			reason = "URI Too Long";
			break;
		case 417:
			reason = "Expectation Failed";
			break;
		case 431:
			reason = "Request Header Fields Too Large";
			break;
		case 501:
			reason = "Not Implemented";
			break;
		case 505:
			reason = "HTTP Version Not Supported";
			break;
		default:
			reason = "Error";
			break;
	}
	if (err->status == 413)
		stats_add(&ev_stats.rejected_requests_413, 1);
	else
		stats_add(&ev_stats.rejected_requests_400, 1);
	buf_init(&b);
	c->req.method = HTTPP_GET;	/* answers always carry their body */
	c->state = CS_HANDLER;
	c->busy++;
	if (buf_puts(&b, "{\"error\":") == EV_OK && buf_put_json_string(&b, err->message, strlen(err->message)) == EV_OK &&
		buf_puts(&b, "}\n") == EV_OK)
		httpd_reply(&c->req, err->status, reason, "application/json", NULL, b.data, b.len, 1);
	c->busy--;
	buf_free(&b);
	if (c->dead || c->out.len == 0)
	{
		c->state = CS_HEAD;
		if (c->dead)
			conn_close(c);
		else
			conn_linger(c);
	}
	else
		c->state = CS_WAIT;		/* conn_sent lingers once the rest is written */
}

/* Copy the target and the Authorization value out of the input buffer. */
static int
req_fill(struct httpd_conn *c)
{
	struct httpd_req *r = &c->req;
	char	   *q;

	r->conn = c;
	r->method = c->head.method;
	memcpy(r->target, c->head.target, c->head.target_len);
	r->target[c->head.target_len] = '\0';
	r->path = r->target;
	q = strchr(r->target, '?');
	r->query = NULL;
	if (q)
	{
		*q = '\0';
		r->query = q + 1;
	}
	free(r->authorization);
	r->authorization = NULL;
	if (c->head.authorization)
	{
		r->authorization = strndup(c->head.authorization, c->head.authorization_len);
		if (r->authorization == NULL)
			return EV_ERROR;
	}
	return EV_OK;
}

/* Make room for need more bytes of input. */
static int
conn_reserve(struct httpd_conn *c, size_t need)
{
	if (c->in_off > 0 && c->state == CS_HEAD)
	{
		/* nothing points into the buffer between requests: move the rest to the front */
		memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
	return buf_reserve(&c->in, need);
}

/* Send "100 Continue" once, if the client asked for it. */
static void
conn_continue(struct httpd_conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (!c->head.expect_continue || c->sent_continue)
		return;
	c->sent_continue = 1;
	if (buf_append(&c->out, cont, sizeof(cont) - 1) == EV_OK)
	{
		c->state = CS_HANDLER;	/* conn_flush must not treat this as the answer */
		conn_flush(c);
		if (!c->dead)
			c->state = CS_BODY;
	}
}

/* Frame and serve the buffered requests. */
static void
conn_process(struct httpd_conn *c)
{
	struct httpd *s = c->s;

	c->busy++;
	while (!c->dead && (c->state == CS_HEAD || c->state == CS_BODY))
	{
		char	   *p = c->in.data + c->in_off;
		size_t		avail = c->in.len - c->in_off;
		struct httpp_error err = {0, NULL};
		size_t		raw,
					blen;

		if (c->state == CS_HEAD)
		{
			size_t		look = avail < s->lim.max_head_bytes ? avail : s->lim.max_head_bytes;
			size_t		from = c->head_scan > 3 ? c->head_scan - 3 : 0;
			ssize_t		n;

			if (avail == 0)
				break;
			if (look < 4 || memmem(p + from, look - from, "\r\n\r\n", 4) == NULL)
			{
				c->head_scan = look;
				if (avail >= s->lim.max_head_bytes)
				{
					err.status = 431;
					err.message = "request header block is too large";
					conn_error(c, &err);
				}
				break;
			}
			c->head_scan = 0;
			n = httpp_parse_head(p, avail, s->lim.max_head_bytes, &c->head, &err);
			if (n <= 0)
			{
				if (n == 0)
				{
					err.status = 400;
					err.message = "malformed request head";
				}
				conn_error(c, &err);
				break;
			}
			c->head_len = (size_t) n;
			c->keep_alive = c->head.keep_alive;
			c->sent_continue = 0;
			if (c->head.method == HTTPP_OTHER)
			{
				err.status = 501;
				err.message = "method not allowed: use GET or POST";
				conn_error(c, &err);
				break;
			}
			if (c->head.content_length > 0 && (uint64_t) c->head.content_length > s->lim.max_body_bytes)
			{
				err.status = 413;
				err.message = "request body is over max_body_bytes";
				conn_error(c, &err);
				break;
			}
			if (req_fill(c) != EV_OK)
			{
				log_error(SUB, "out of memory reading a request; closing the connection");
				conn_close(c);
				break;
			}
			if (c->head.chunked)
				httpp_chunked_init(&c->ch);
			c->state = CS_BODY;
		}
		/* the body */
		if (c->head.chunked)
		{
			int			r = httpp_chunked_decode(&c->ch, p + c->head_len, avail - c->head_len,
												 s->lim.max_body_bytes, &err);

			if (r < 0)
			{
				conn_error(c, &err);
				break;
			}
			if (r == 0)
			{
				if (c->eof)
					conn_close(c);
				else
					conn_continue(c);
				break;
			}
			raw = c->ch.in;
			blen = c->ch.out;
		}
		else
		{
			size_t		cl = c->head.content_length > 0 ? (size_t) c->head.content_length : 0;

			if (avail - c->head_len < cl)
			{
				if (c->eof)
					conn_close(c);
				else
					conn_continue(c);
				break;
			}
			raw = blen = cl;
		}
		c->req.body = p + c->head_len;
		c->req.body_len = blen;
		c->in_off += c->head_len + raw;
		c->state = CS_HANDLER;
		c->replied = 0;
		c->close_after = 0;
		s->fn(&c->req, s->arg);
		c->req.body = NULL;
		c->req.body_len = 0;
		if (c->dead)
			break;
		if (!c->replied)
		{
			c->state = CS_WAIT;
			if (c->in.len - c->in_off > MAX_PENDING_INPUT && !c->read_paused)
			{
				c->read_paused = 1;
				event_del(c->rev);
			}
		}
		else if (c->out.len > 0)
			c->state = CS_WAIT;	/* the rest of the answer is sent by the write event */
		else if (c->close_after)
		{
			c->state = CS_HEAD;
			c->busy--;
			conn_linger(c);
			return;
		}
		else
		{
			c->state = CS_HEAD;
			c->since_ms = now_ms();
		}
	}
	if (!c->dead && c->state == CS_HEAD && c->eof)
		c->dead = 1;			/* nothing more will come */
	c->busy--;
	if (c->dead && c->busy == 0)
		conn_close(c);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn *c = arg;
	size_t		want = READ_CHUNK;
	ssize_t		n;

	EV_UNUSED(what);
	if (c->state == CS_LINGER)
	{
		char		drop[READ_CHUNK];

		n = recv(fd, drop, sizeof(drop), 0);
		if (n > 0)
			c->linger_bytes += (size_t) n;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || c->linger_bytes > LINGER_MAX_BYTES)
		{
			c->state = CS_HEAD;
			conn_close(c);
		}
		return;
	}
	if (c->state == CS_BODY && !c->head.chunked && c->head.content_length > 0)
	{
		/* a known body: room for all of it, read in large pieces */
		size_t		need = c->in_off + c->head_len + (size_t) c->head.content_length;

		if (need > c->in.len && need - c->in.len > want)
			want = need - c->in.len;
	}
	if (c->state == CS_HEAD && c->in_off == c->in.len)
		c->since_ms = now_ms();	/* a new request begins */
	if (conn_reserve(c, want) != EV_OK)
	{
		log_error(SUB, "out of memory reading a request; closing the connection");
		conn_close(c);
		return;
	}
	n = recv(fd, c->in.data + c->in.len, want, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
	{
		c->eof = 1;
		event_del(c->rev);
		if (c->state == CS_WAIT || c->state == CS_HANDLER)
			return;				/* answered (then closed) when the handler is done */
		conn_process(c);
		return;
	}
	c->in.len += (size_t) n;
	if (c->state == CS_WAIT)
	{
		if (c->in.len - c->in_off > MAX_PENDING_INPUT)
		{
			c->read_paused = 1;
			event_del(c->rev);
		}
		return;
	}
	conn_process(c);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct httpd *s = arg;
	struct httpd_conn *c;

	EV_UNUSED(sa);
	EV_UNUSED(salen);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
	{
		close(fd);
		return;
	}
	c->s = s;
	c->fd = fd;
	c->state = CS_HEAD;
	c->since_ms = now_ms();
	c->req.conn = c;
	buf_init(&c->in);
	buf_init(&c->out);
	c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	if (c->rev == NULL || c->wev == NULL || event_add(c->rev, NULL) != 0)
	{
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		close(fd);
		free(c);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (s->nconns >= s->fd_limit && !s->listening_paused)
	{
		size_t		i;

		log_warning(SUB, "%zu connections open (max_connections or the file limit): not accepting more until one closes",
					s->nconns);
		for (i = 0; i < s->nlisteners; i++)
			evconnlistener_disable(s->listeners[i]);
		s->listening_paused = 1;
	}
	EV_UNUSED(l);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	static struct log_limit lim;

	EV_UNUSED(l);
	EV_UNUSED(arg);
	log_limited(&lim, 10000, LOGL_WARNING, SUB, "accept failed: %s", strerror(errno));
}

/* Once a second: idle connections, slow requests, lingering closes. */
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *s = arg;
	struct httpd_conn *c,
			   *next;
	int64_t		now = now_ms();

	EV_UNUSED(fd);
	EV_UNUSED(what);
	for (c = s->conns; c; c = next)
	{
		next = c->next;
		if (c->state == CS_LINGER)
		{
			if (now - c->since_ms > LINGER_MS)
			{
				c->state = CS_HEAD;
				conn_close(c);
			}
		}
		else if (c->state == CS_HEAD && c->in_off == c->in.len)
		{
			if (now - c->since_ms > s->lim.idle_timeout_ms)
				conn_close(c);
		}
		else if ((c->state == CS_HEAD || c->state == CS_BODY) && now - c->since_ms > s->lim.read_timeout_ms)
		{
			struct httpp_error err = {408, "request not received in time"};

			conn_error(c, &err);
		}
	}
}

/* The number of connections the fd limit leaves room for (raised to the hard limit). */
static size_t
fd_room(size_t wanted)
{
	struct rlimit rl;
	size_t		room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return wanted;
	if (rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
		(void) getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* spool, journal, dead letters, flush connections, listeners and some spare */
	room = rl.rlim_cur > 128 ? (size_t) rl.rlim_cur - 96 : 32;
	return wanted < room ? wanted : room;
}

int
httpd_new(struct event_base *base, const struct httpd_limits *lim, httpd_handler fn, void *arg, struct httpd **out)
{
	struct httpd *s = calloc(1, sizeof(*s));
	struct timeval one = {1, 0};

	*out = NULL;
	if (s == NULL)
		return EV_ERROR;
	s->base = base;
	s->fn = fn;
	s->arg = arg;
	httpd_set_limits(s, lim);
	s->sweep_ev = event_new(base, -1, EV_PERSIST, sweep_cb, s);
	if (s->sweep_ev == NULL || event_add(s->sweep_ev, &one) != 0)
	{
		if (s->sweep_ev)
			event_free(s->sweep_ev);
		free(s);
		return EV_ERROR;
	}
	*out = s;
	return EV_OK;
}

void
httpd_set_limits(struct httpd *s, const struct httpd_limits *lim)
{
	s->lim = *lim;
	s->fd_limit = fd_room(lim->max_connections > 0 ? lim->max_connections : 1);
}

static int
add_listener(struct httpd *s, struct evconnlistener *l)
{
	if (l == NULL)
		return EV_ERROR;
	evconnlistener_set_error_cb(l, accept_error_cb);
	s->listeners[s->nlisteners++] = l;
	return EV_OK;
}

int
httpd_listen_tcp(struct httpd *s, const char *host, int port)
{
	struct addrinfo hints,
			   *res = NULL,
			   *ai;
	char		ps[16];
	int			rc = EV_ERROR;

	if (s->nlisteners == MAX_LISTENERS)
		return EV_ERROR;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(host && host[0] ? host : NULL, ps, &hints, &res) != 0)
		return EV_ERROR;
	for (ai = res; ai && rc != EV_OK; ai = ai->ai_next)
		rc = add_listener(s, evconnlistener_new_bind(s->base, accept_cb, s,
													 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
													 1024, ai->ai_addr, (int) ai->ai_addrlen));
	freeaddrinfo(res);
	return rc;
}

int
httpd_accept_fd(struct httpd *s, int fd)
{
	if (s->nlisteners == MAX_LISTENERS)
		return EV_ERROR;
	return add_listener(s, evconnlistener_new(s->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd));
}

void
httpd_stop_listening(struct httpd *s)
{
	size_t		i;

	for (i = 0; i < s->nlisteners; i++)
		evconnlistener_free(s->listeners[i]);
	s->nlisteners = 0;
}

size_t
httpd_connections(struct httpd *s)
{
	return s->nconns;
}

void
httpd_free(struct httpd *s)
{
	if (s == NULL)
		return;
	httpd_stop_listening(s);
	while (s->conns)
	{
		struct httpd_conn *c = s->conns;

		c->busy = 0;
		c->state = CS_HEAD;
		conn_close(c);
	}
	event_free(s->sweep_ev);
	free(s);
}
