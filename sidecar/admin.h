/* Admin endpoints: /healthz, /readyz, /metrics (Prometheus text format). */
#ifndef EV_ADMIN_H
#define EV_ADMIN_H

#include <stdint.h>
#include "ev.h"

struct httpd_req;
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

/* Answer GET /healthz, /readyz or /metrics (path); arg is the struct admin_deps. */
void		admin_handle(struct httpd_req *req, const char *path, void *arg);

#endif
