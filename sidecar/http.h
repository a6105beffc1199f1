/* HTTP ingest API (served by httpd.c): parse, validate, spool, and answer once durable. */
#ifndef EV_HTTP_H
#define EV_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "ev.h"

struct event_base;
struct httpd_req;
struct spool;
struct dedup;
struct ratelimit;
struct flusher;

/* What the handlers use; all borrowed, owned by main.c. */
struct http_deps {
	struct config *cfg;
	struct spool *sp;
	struct dedup *dd;
	struct ratelimit *rl;
	struct flusher *fl;
};

/* State for /readyz and /metrics. */
struct http_state {
	int			draining;
	int			spool_full;
	int			logs_known;		/* the list of logs has been read (or loaded from cache) */
	size_t		nlogs;
	size_t		waiting_sync;	/* requests waiting for fdatasync */
	size_t		waiting_commit;	/* requests waiting for PostgreSQL */
	double		drain_events_per_sec;	/* committed rate, smoothed */
	size_t		connections;	/* open HTTP connections */
};

struct http;

/* Create the server on base (routes, limits). Caller frees with http_free. */
int			http_new(struct event_base *base, const struct http_deps *deps, struct http **out) EV_MUST_USE;
void		http_free(struct http *h);
/* GET /healthz, /readyz and /metrics go to fn (admin.c), with the request's path. */
typedef void (*http_admin_fn) (struct httpd_req *req, const char *path, void *arg);
void		http_set_admin(struct http *h, http_admin_fn fn, void *arg);
/* Listen on host:port. */
int			http_listen_tcp(struct http *h, const char *host, int port) EV_MUST_USE;
/* Serve connections of an already listening socket (the Unix socket). */
int			http_accept_fd(struct http *h, int fd) EV_MUST_USE;
/* Stop accepting connections (SIGTERM); open connections get 503 while draining. */
void		http_stop_listening(struct http *h);
void		http_set_draining(struct http *h);
/* Replace the set of known logs (takes ownership of names, NULL-terminated array of n). */
void		http_set_logs(struct http *h, char **names, size_t n);
/* Answer the requests whose records are now durable. */
void		http_on_synced(struct http *h);
/* Answer the requests (?ack=committed, /v1/flush) whose events are now committed. */
void		http_on_committed(struct http *h);
/* Once a second: timeouts, spool watermarks, rates. */
void		http_tick(struct http *h);
/* Apply reloaded settings (limits). */
void		http_reload(struct http *h);
/* Snapshot for /readyz and /metrics. */
void		http_get_state(struct http *h, struct http_state *st);

/* Request targets of the API, as parsed from the URI's path and query. */
enum http_route_kind {
	HTTP_ROUTE_NONE = 0,		/* no such endpoint (404) */
	HTTP_ROUTE_FLUSH,			/* POST /v1/flush */
	HTTP_ROUTE_EVENTS			/* POST /v1/logs/{log}/events */
};

struct http_target {
	enum http_route_kind kind;
	int			status;			/* 0, or the 400/404 to answer */
	const char *message;		/* static text for status */
	char	   *log;			/* decoded {log}; caller frees with http_target_free */
	int			ack_committed;	/* ?ack=committed */
	int			no_dedup;		/* ?dedup=off */
};

/*
 * Parse the path and query (either may be NULL) of a request URI into *t. Pure: no
 * I/O, so it can be fuzzed. EV_OK (t->status says whether the target is usable), or
 * EV_ERROR when out of memory.
 */
int			http_parse_target(const char *path, const char *query, struct http_target *t) EV_MUST_USE;
void		http_target_free(struct http_target *t);
/* A log name as given in the URL: 1-200 bytes of (quoted) identifier characters. */
int			http_valid_log_name(const char *s);
/* The token of an Authorization header value "Bearer <token>" (borrowed), or NULL. */
const char *http_bearer_token(const char *authorization, size_t *len);

#endif
