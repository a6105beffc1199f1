/* Batching: lane of a tenant, batch contents (stored events with their spool positions), cut rule. */
#include <stdlib.h>

#include "batch.h"
#include "crc32c.h"

/* Lane of a tenant. */
uint16_t
batch_lane_of(const char *tenant, size_t len)
{
	return (uint16_t) (crc32c_update(0, tenant, len) % EV_LANES);
}

/* Worker that owns a lane. */
int
batch_worker_of(uint16_t lane, int nworkers)
{
	return nworkers > 0 ? lane % nworkers : 0;
}

/* Empty batch (no allocation). */
void
batch_init(struct batch *b)
{
	b->items = NULL;
	b->n = b->cap = 0;
	b->first_ms = 0;
	buf_init(&b->records);
}

/* Release the batch's memory. */
void
batch_free(struct batch *b)
{
	free(b->items);
	buf_free(&b->records);
	batch_init(b);
}

/* Empty the batch, keeping its memory for the next one. */
void
batch_clear(struct batch *b)
{
	b->n = 0;
	b->records.len = 0;
	b->first_ms = 0;
}

/* Add a copy of a stored event. */
int
batch_add(struct batch *b, uint64_t seq, uint16_t lane, const struct spool_pos *before,
		  const void *rec, size_t len, int64_t now_ms)
{
	struct batch_item *it;

	if (b->n == b->cap)
	{
		size_t		ncap = b->cap ? b->cap * 2 : 256;
		struct batch_item *ni = realloc(b->items, ncap * sizeof(*ni));

		if (ni == NULL)
			return EV_ERROR;
		b->items = ni;
		b->cap = ncap;
	}
	it = &b->items[b->n];
	it->seq = seq;
	it->lane = lane;
	it->before = *before;
	it->off = b->records.len;
	it->len = len;
	if (buf_append(&b->records, rec, len) != EV_OK)
		return EV_ERROR;
	if (b->n == 0)
		b->first_ms = now_ms;
	b->n++;
	return EV_OK;
}

/* Send now? */
int
batch_should_cut(const struct batch *b, int64_t max_events, int64_t max_ms, int more_available, int64_t now_ms)
{
	if (b->n == 0)
		return 0;
	if ((int64_t) b->n >= max_events || b->records.len >= BATCH_MAX_BYTES)
		return 1;
	return !more_available && now_ms - b->first_ms >= max_ms;
}

/* Milliseconds until the time cut. */
int64_t
batch_time_left(const struct batch *b, int64_t max_ms, int64_t now_ms)
{
	int64_t		left;

	if (b->n == 0)
		return -1;
	left = b->first_ms + max_ms - now_ms;
	return left > 0 ? left : 0;
}
