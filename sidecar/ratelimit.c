/* Per-tenant token buckets (rate_limit) and per-tenant accepted counters. */
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "ratelimit.h"

#define RL_BUCKETS 4096

struct ratelimit {
	struct ratelimit_tenant *buckets[RL_BUCKETS];
	size_t		count;
	double		rate;
	double		burst;
};

/* Empty tenant table. */
int
ratelimit_new(struct ratelimit **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? EV_OK : EV_ERROR;
}

/* Free every tenant entry. */
void
ratelimit_free(struct ratelimit *rl)
{
	size_t		i;

	if (rl == NULL)
		return;
	for (i = 0; i < RL_BUCKETS; i++)
		while (rl->buckets[i])
		{
			struct ratelimit_tenant *t = rl->buckets[i];

			rl->buckets[i] = t->next;
			free(t->name);
			free(t);
		}
	free(rl);
}

/* Set the rate and bucket size. */
void
ratelimit_configure(struct ratelimit *rl, int64_t rate, int64_t burst)
{
	rl->rate = (double) rate;
	rl->burst = (double) (burst > 0 ? burst : rate);
}

/* The tenant's entry. */
struct ratelimit_tenant *
ratelimit_tenant(struct ratelimit *rl, const char *name, size_t len)
{
	uint32_t	h = crc32c_update(0, name, len) % RL_BUCKETS;
	struct ratelimit_tenant *t;

	for (t = rl->buckets[h]; t; t = t->next)
		if (t->len == len && memcmp(t->name, name, len) == 0)
			return t;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->name = malloc(len + 1);
	if (t->name == NULL)
	{
		free(t);
		return NULL;
	}
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	t->len = len;
	t->tokens = rl->burst;
	t->last_ms = -1;
	t->next = rl->buckets[h];
	rl->buckets[h] = t;
	rl->count++;
	return t;
}

/* Refill by elapsed time. */
static void
refill(struct ratelimit *rl, struct ratelimit_tenant *t, int64_t now_ms)
{
	if (t->last_ms < 0)
	{
		t->tokens = rl->burst;
		t->last_ms = now_ms;
		return;
	}
	if (now_ms > t->last_ms)
	{
		t->tokens += rl->rate * (double) (now_ms - t->last_ms) / 1000.0;
		if (t->tokens > rl->burst)
			t->tokens = rl->burst;
		t->last_ms = now_ms;
	}
}

/* Can the tenant send n more events now? */
int
ratelimit_check(struct ratelimit *rl, struct ratelimit_tenant *t, uint64_t n, int64_t now_ms,
				int64_t *retry_after_s)
{
	double		need;

	if (rl->rate <= 0)
		return 1;
	refill(rl, t, now_ms);
	/* a request larger than the bucket passes when the bucket is full, leaving a debt */
	if ((double) n <= t->tokens || t->tokens >= rl->burst)
		return 1;
	need = ((double) n > rl->burst ? rl->burst : (double) n) - t->tokens;
	*retry_after_s = (int64_t) (need / rl->rate) + 1;
	return 0;
}

/* Take n tokens. */
void
ratelimit_take(struct ratelimit *rl, struct ratelimit_tenant *t, uint64_t n)
{
	if (rl->rate > 0)
		t->tokens -= (double) n;
}

/* Visit every tenant. */
void
ratelimit_foreach(struct ratelimit *rl, size_t limit,
				  void (*fn) (const struct ratelimit_tenant *, void *), void *arg)
{
	size_t		i,
				done = 0;
	struct ratelimit_tenant *t;

	for (i = 0; i < RL_BUCKETS; i++)
		for (t = rl->buckets[i]; t; t = t->next)
		{
			if (done++ >= limit)
				return;
			fn(t, arg);
		}
}

/* Tenants tracked. */
size_t
ratelimit_count(struct ratelimit *rl)
{
	return rl->count;
}
