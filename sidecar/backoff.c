/* Exponential backoff with jitter, for retries against PostgreSQL. */
#include "backoff.h"

/* Start a backoff. */
void
backoff_init(struct backoff *b, int64_t base_ms, int64_t max_ms, uint64_t seed)
{
	b->base_ms = base_ms > 0 ? base_ms : 1;
	b->max_ms = max_ms >= b->base_ms ? max_ms : b->base_ms;
	b->cap_ms = b->base_ms;
	b->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
	b->attempts = 0;
}

/* xorshift64* */
static uint64_t
next_rand(struct backoff *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 2685821657736338717ULL;
}

/* Delay before the next attempt. */
int64_t
backoff_next(struct backoff *b)
{
	int64_t		cap = b->cap_ms;
	int64_t		half = cap / 2;
	int64_t		d = half + (int64_t) (next_rand(b) % (uint64_t) (cap - half + 1));

	/* the jitter spreads reconnects of many lanes and daemons after a restart */
	if (b->cap_ms < b->max_ms)
		b->cap_ms = b->cap_ms > b->max_ms / 2 ? b->max_ms : b->cap_ms * 2;
	b->attempts++;
	return d;
}

/* Back to base after a success. */
void
backoff_reset(struct backoff *b)
{
	b->cap_ms = b->base_ms;
	b->attempts = 0;
}

/* Change the ceiling. */
void
backoff_set_max(struct backoff *b, int64_t max_ms)
{
	b->max_ms = max_ms >= b->base_ms ? max_ms : b->base_ms;
	if (b->cap_ms > b->max_ms)
		b->cap_ms = b->max_ms;
}
