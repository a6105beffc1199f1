/* Per-tenant token buckets (rate_limit) and per-tenant accepted counters. */
#ifndef EV_RATELIMIT_H
#define EV_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include "ev.h"

struct ratelimit;

struct ratelimit_tenant {
	char	   *name;			/* owned */
	size_t		len;
	double		tokens;
	int64_t		last_ms;
	uint64_t	accepted;		/* events accepted, for /metrics */
	struct ratelimit_tenant *next;	/* hash chain */
};

int			ratelimit_new(struct ratelimit **out) EV_MUST_USE;
void		ratelimit_free(struct ratelimit *rl);
/* events/s per tenant (0: unlimited) and bucket size (0: one second's worth). */
void		ratelimit_configure(struct ratelimit *rl, int64_t rate, int64_t burst);
/* The tenant's entry (created on first use); NULL if out of memory. Borrowed. */
struct ratelimit_tenant *ratelimit_tenant(struct ratelimit *rl, const char *name, size_t len);
/*
 * Can the tenant send n more events now? 1 = yes (nothing is taken yet); 0 = no, and
 * *retry_after_s says when the bucket will hold n (at least 1 s).
 */
int			ratelimit_check(struct ratelimit *rl, struct ratelimit_tenant *t, uint64_t n, int64_t now_ms,
							int64_t *retry_after_s);
/* Take n tokens (after every tenant of the request passed the check). */
void		ratelimit_take(struct ratelimit *rl, struct ratelimit_tenant *t, uint64_t n);
/* Visit every tenant (for /metrics), at most limit of them. */
void		ratelimit_foreach(struct ratelimit *rl, size_t limit,
							  void (*fn) (const struct ratelimit_tenant *, void *), void *arg);
/* Number of tenants tracked. */
size_t		ratelimit_count(struct ratelimit *rl);

#endif
