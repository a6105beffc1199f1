/* Counters and histograms shared by every thread, and their Prometheus text rendering. */
#include <stddef.h>
#include <string.h>

#include "stats.h"

struct stats ev_stats;

/* Set up histogram bucket bounds. */
void
stats_init(void)
{
	static const uint64_t sizes[] = {1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
	static const uint64_t flush_us[] = {1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 10000000};
	static const uint64_t ack_us[] = {250, 500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000,
	1000000};

	ev_stats.batch_size.name = "eventlogd_batch_size_events";
	ev_stats.batch_size.help = "Events per COPY batch sent to PostgreSQL.";
	ev_stats.batch_size.scale = 1;
	ev_stats.batch_size.nbuckets = sizeof(sizes) / sizeof(sizes[0]);
	memcpy(ev_stats.batch_size.bounds, sizes, sizeof(sizes));
	ev_stats.flush_seconds.name = "eventlogd_flush_duration_seconds";
	ev_stats.flush_seconds.help = "Time of one COPY + ledger transaction.";
	ev_stats.flush_seconds.scale = 1e6;
	ev_stats.flush_seconds.nbuckets = sizeof(flush_us) / sizeof(flush_us[0]);
	memcpy(ev_stats.flush_seconds.bounds, flush_us, sizeof(flush_us));
	ev_stats.ack_seconds.name = "eventlogd_ack_duration_seconds";
	ev_stats.ack_seconds.help = "Time from a request's arrival to its 202 (spool durability included).";
	ev_stats.ack_seconds.scale = 1e6;
	ev_stats.ack_seconds.nbuckets = sizeof(ack_us) / sizeof(ack_us[0]);
	memcpy(ev_stats.ack_seconds.bounds, ack_us, sizeof(ack_us));
}

/* Record one observation. */
void
stats_observe(struct histogram *h, uint64_t v)
{
	int			i;

	for (i = 0; i < h->nbuckets; i++)
		if (v <= h->bounds[i])
			break;
	stats_add(&h->counts[i], 1);
	stats_add(&h->sum, v);
	stats_add(&h->count, 1);
}

/* Append a counter or gauge. */
int
stats_render_metric(struct buf *out, const char *name, const char *type, const char *help, double value)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, value);
}

/* Append a histogram. */
int
stats_render_histogram(struct buf *out, const struct histogram *h)
{
	uint64_t	cum = 0;
	int			i;

	if (buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name) != EV_OK)
		return EV_ERROR;
	for (i = 0; i <= h->nbuckets; i++)
	{
		cum += stats_get(&h->counts[i]);
		if (i < h->nbuckets)
		{
			if (buf_printf(out, "%s_bucket{le=\"%.6g\"} %llu\n", h->name, (double) h->bounds[i] / h->scale,
						   (unsigned long long) cum) != EV_OK)
				return EV_ERROR;
		}
		else if (buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", h->name, (unsigned long long) cum) != EV_OK)
			return EV_ERROR;
	}
	return buf_printf(out, "%s_sum %.17g\n%s_count %llu\n", h->name, (double) stats_get(&h->sum) / h->scale,
					  h->name, (unsigned long long) stats_get(&h->count));
}

/* Append every counter. */
int
stats_render_all(struct buf *out)
{
	static const struct
	{
		int			code;
		size_t		off;
	}			codes[] = {
		{400, offsetof(struct stats, rejected_requests_400)},
		{401, offsetof(struct stats, rejected_requests_401)},
		{403, offsetof(struct stats, rejected_requests_403)},
		{404, offsetof(struct stats, rejected_requests_404)},
		{413, offsetof(struct stats, rejected_requests_413)},
		{429, offsetof(struct stats, rejected_requests_429)},
		{503, offsetof(struct stats, rejected_requests_503)},
	};
	struct stats *s = &ev_stats;
	size_t		i;

#define C(field, name, help) \
	if (stats_render_metric(out, name, "counter", help, (double) stats_get(&s->field)) != EV_OK) return EV_ERROR
#define G(field, name, help) \
	if (stats_render_metric(out, name, "gauge", help, (double) stats_get(&s->field)) != EV_OK) return EV_ERROR
	C(requests_total, "eventlogd_http_requests_total", "HTTP requests received on the ingest endpoint.");
	C(accepted_events_total, "eventlogd_accepted_events_total", "Events accepted into the spool (acknowledged).");
	C(accepted_bytes_total, "eventlogd_accepted_bytes_total", "Bytes of spool records written for accepted events.");
	C(duplicate_events_total, "eventlogd_duplicate_events_total", "Events dropped as retries of an event_id inside the dedup window.");
	C(rejected_events_total, "eventlogd_rejected_events_total", "Events of requests rejected with 400.");
	if (buf_puts(out, "# HELP eventlogd_rejected_requests_total Requests refused, by HTTP status.\n"
				 "# TYPE eventlogd_rejected_requests_total counter\n") != EV_OK)
		return EV_ERROR;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (buf_printf(out, "eventlogd_rejected_requests_total{code=\"%d\"} %llu\n", codes[i].code,
					   (unsigned long long) stats_get((uint64_t *) ((char *) s + codes[i].off))) != EV_OK)
			return EV_ERROR;
	C(committed_events_total, "eventlogd_committed_events_total", "Events committed to PostgreSQL.");
	C(committed_batches_total, "eventlogd_committed_batches_total", "COPY transactions committed.");
	C(skipped_replayed_events_total, "eventlogd_replay_skipped_events_total", "Spool events skipped on replay because the ledger shows them committed.");
	C(retries_total, "eventlogd_retries_total", "Batches retried after a transient PostgreSQL error.");
	C(dead_letter_events_total, "eventlogd_dead_letter_events_total", "Events PostgreSQL refused for their data, written to the dead-letter file and table.");
	if (buf_puts(out, "# HELP eventlogd_postgres_errors_total PostgreSQL errors by class.\n"
				 "# TYPE eventlogd_postgres_errors_total counter\n") != EV_OK ||
		buf_printf(out, "eventlogd_postgres_errors_total{class=\"transient\"} %llu\n"
				   "eventlogd_postgres_errors_total{class=\"data\"} %llu\n"
				   "eventlogd_postgres_errors_total{class=\"config\"} %llu\n",
				   (unsigned long long) stats_get(&s->pg_errors_transient_total),
				   (unsigned long long) stats_get(&s->pg_errors_data_total),
				   (unsigned long long) stats_get(&s->pg_errors_config_total)) != EV_OK)
		return EV_ERROR;
	G(pg_connected, "eventlogd_postgres_connections", "Flush connections currently up.");
	G(paused_logs, "eventlogd_paused_logs", "Logs paused by a configuration error (missing table, permission).");
#undef C
#undef G
	if (stats_render_histogram(out, &s->batch_size) != EV_OK ||
		stats_render_histogram(out, &s->flush_seconds) != EV_OK ||
		stats_render_histogram(out, &s->ack_seconds) != EV_OK)
		return EV_ERROR;
	return EV_OK;
}

#define AGE_SAMPLES 4096

static struct
{
	uint64_t	seq;
	int64_t		ms;
}			age_ring[AGE_SAMPLES];
static size_t age_head,
			age_n;

/* Sample the last written seq (only when it moved, so the ring spans long backlogs). */
void
stats_age_sample(uint64_t written_seq, int64_t now_ms)
{
	size_t		last = (age_head + age_n + AGE_SAMPLES - 1) % AGE_SAMPLES;

	if (age_n > 0 && age_ring[last].seq == written_seq)
		return;
	if (age_n == AGE_SAMPLES)
	{
		age_head = (age_head + 1) % AGE_SAMPLES;
		age_n--;
	}
	last = (age_head + age_n) % AGE_SAMPLES;
	age_ring[last].seq = written_seq;
	age_ring[last].ms = now_ms;
	age_n++;
}

/* Seconds since the oldest uncommitted event was written. */
double
stats_age_oldest(uint64_t committed_seq, uint64_t written_seq, int64_t now_ms)
{
	size_t		i;
	int64_t		t = -1;

	if (committed_seq >= written_seq || age_n == 0)
		return 0;
	/* events in (sample[i-1].seq, sample[i].seq] were written after sample[i-1]'s time */
	for (i = 0; i < age_n; i++)
	{
		size_t		k = (age_head + i) % AGE_SAMPLES;

		if (age_ring[k].seq > committed_seq)
		{
			t = i > 0 ? age_ring[(age_head + i - 1) % AGE_SAMPLES].ms : age_ring[k].ms;
			break;
		}
	}
	if (t < 0)
		t = age_ring[(age_head + age_n - 1) % AGE_SAMPLES].ms;
	return (double) (now_ms - t) / 1000.0;
}
