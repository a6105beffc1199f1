/* Counters and histograms shared by every thread, and their Prometheus text rendering. */
#ifndef EV_STATS_H
#define EV_STATS_H

#include <stdint.h>
#include "buf.h"
#include "ev.h"

#define HIST_MAX_BUCKETS 16

struct histogram {
	const char *name;			/* metric name, e.g. eventlogd_batch_size_events */
	const char *help;
	double		scale;			/* observed integer units per metric unit (1e6 for seconds in us) */
	int			nbuckets;
	uint64_t	bounds[HIST_MAX_BUCKETS];	/* upper bounds, in observed units */
	uint64_t	counts[HIST_MAX_BUCKETS + 1];	/* last = +Inf */
	uint64_t	sum;
	uint64_t	count;
};

/* Process-wide counters; updated with stats_add from any thread. */
struct stats {
	uint64_t	requests_total;
	uint64_t	accepted_events_total;
	uint64_t	accepted_bytes_total;
	uint64_t	duplicate_events_total;
	uint64_t	rejected_events_total;	/* in 400 responses */
	uint64_t	rejected_requests_400;
	uint64_t	rejected_requests_401;
	uint64_t	rejected_requests_403;
	uint64_t	rejected_requests_404;
	uint64_t	rejected_requests_413;
	uint64_t	rejected_requests_429;
	uint64_t	rejected_requests_503;
	uint64_t	committed_events_total;
	uint64_t	committed_batches_total;
	uint64_t	skipped_replayed_events_total;	/* already in the ledger after a restart */
	uint64_t	retries_total;
	uint64_t	dead_letter_events_total;
	uint64_t	pg_errors_transient_total;
	uint64_t	pg_errors_data_total;
	uint64_t	pg_errors_config_total;
	uint64_t	pg_connected;	/* gauge: flush connections up */
	uint64_t	paused_logs;	/* gauge */
	struct histogram batch_size;
	struct histogram flush_seconds;
	struct histogram ack_seconds;
};

extern struct stats ev_stats;

static inline void
stats_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static inline void
stats_set(uint64_t *gauge, uint64_t v)
{
	__atomic_store_n(gauge, v, __ATOMIC_RELAXED);
}

static inline uint64_t
stats_get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* Set up histogram bucket bounds (once, at start). */
void		stats_init(void);
/* Record one observation (in the histogram's integer units). */
void		stats_observe(struct histogram *h, uint64_t v);
/* Append "# HELP/# TYPE" and the sample line of a counter or gauge. */
int			stats_render_metric(struct buf *out, const char *name, const char *type, const char *help,
								double value) EV_MUST_USE;
/* Append a histogram in Prometheus text format. */
int			stats_render_histogram(struct buf *out, const struct histogram *h) EV_MUST_USE;
/* Oldest-event age: sample the last written seq once a second (main thread only). */
void		stats_age_sample(uint64_t written_seq, int64_t now_ms);
/* Seconds since the oldest event not yet committed was written (0 if none). */
double		stats_age_oldest(uint64_t committed_seq, uint64_t written_seq, int64_t now_ms);
/* Append every counter of ev_stats. */
int			stats_render_all(struct buf *out) EV_MUST_USE;

#endif
