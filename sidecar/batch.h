/* Batching: lane of a tenant, batch contents (stored events with their spool positions), cut rule. */
#ifndef EV_BATCH_H
#define EV_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "ev.h"
#include "spool.h"

#define BATCH_MAX_BYTES (32u * 1024 * 1024)	/* memory bound of one batch, whatever batch_max_events says */

/* Lane of a tenant: stable across restarts and configs (CRC-32C of the tenant mod EV_LANES). */
uint16_t	batch_lane_of(const char *tenant, size_t len);
/* Flush connection (worker) that owns a lane. */
int			batch_worker_of(uint16_t lane, int nworkers);

/* One event of a batch: where it is in the spool, and its stored form in batch->records. */
struct batch_item {
	uint64_t	seq;
	uint16_t	lane;
	struct spool_pos before;	/* position of the record (to resume from it) */
	size_t		off;			/* in records */
	size_t		len;
};

struct batch {
	struct batch_item *items;
	size_t		n;
	size_t		cap;
	struct buf	records;
	int64_t		first_ms;		/* when the first item was added */
};

void		batch_init(struct batch *b);
void		batch_free(struct batch *b);
void		batch_clear(struct batch *b);
/* Add a copy of a stored event. */
int			batch_add(struct batch *b, uint64_t seq, uint16_t lane, const struct spool_pos *before,
					  const void *rec, size_t len, int64_t now_ms) EV_MUST_USE;
/*
 * Send now? Yes when max_events or BATCH_MAX_BYTES is reached, or when nothing more is
 * available and the oldest item has waited max_ms.
 */
int			batch_should_cut(const struct batch *b, int64_t max_events, int64_t max_ms, int more_available,
							 int64_t now_ms);
/* Milliseconds until the time cut (0 if due; -1 if the batch is empty). */
int64_t		batch_time_left(const struct batch *b, int64_t max_ms, int64_t now_ms);

#endif
