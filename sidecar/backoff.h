/* Exponential backoff with jitter, for retries against PostgreSQL. */
#ifndef EV_BACKOFF_H
#define EV_BACKOFF_H

#include <stdint.h>

struct backoff {
	int64_t		base_ms;
	int64_t		max_ms;
	int64_t		cap_ms;			/* current ceiling; doubles per failure up to max_ms */
	uint64_t	rng;			/* xorshift state */
	uint64_t	attempts;
};

/* Start at base_ms, never above max_ms; seed makes the jitter reproducible in tests. */
void		backoff_init(struct backoff *b, int64_t base_ms, int64_t max_ms, uint64_t seed);
/* Delay before the next attempt: uniform in [ceiling/2, ceiling] ("equal jitter"). */
int64_t		backoff_next(struct backoff *b);
/* Back to base_ms after a success. */
void		backoff_reset(struct backoff *b);
/* Change the ceiling (reload). */
void		backoff_set_max(struct backoff *b, int64_t max_ms);

#endif
