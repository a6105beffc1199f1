/* Admin endpoints: /healthz, /readyz, /metrics (Prometheus text format). */
#ifndef EV_ADMIN_H
#define EV_ADMIN_H

#include <stdint.h>
#include "ev.h"

struct evhttp;
struct config;
struct spool;
struct dedup;
struct ratelimit;
struct flusher;
struct http;

struct admin_deps {
	struct config *cfg;
	struct spool *sp;
	struct dedup *dd;
	struct ratelimit *rl;
	struct flusher *fl;
	struct http *http;
	int64_t		start_unix_s;
};

/* Add the admin routes to evh; deps must outlive it. */
int			admin_register(struct evhttp *evh, struct admin_deps *deps) EV_MUST_USE;

#endif
