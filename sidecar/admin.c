/* Admin endpoints: /healthz, /readyz, /metrics (Prometheus text format). */
#include <inttypes.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "dedup.h"
#include "flusher.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "ratelimit.h"
#include "spool.h"
#include "stats.h"
#include "timestamp.h"

/* Send a body with a content type. */
static void
admin_reply(struct httpd_req *req, int code, const char *reason, const char *ctype, const struct buf *b)
{
	httpd_reply(req, code, reason, ctype, NULL, b->data, b->len, 0);
}

/* Out of memory while rendering. */
static void
admin_oom(struct httpd_req *req)
{
	static const char m[] = "{\"error\":\"out of memory\"}\n";

	httpd_reply(req, 500, "Internal Server Error", "application/json", NULL, m, sizeof(m) - 1, 1);
}

/* GET /healthz: the process and its event loop are alive. */
static void
admin_healthz(struct httpd_req *req, void *arg)
{
	struct buf	b;

	EV_UNUSED(arg);
	buf_init(&b);
	if (buf_puts(&b, "{\"status\":\"ok\"}\n") == EV_OK)
		admin_reply(req, 200, "OK", "application/json", &b);
	else
		admin_oom(req);
	buf_free(&b);
}

/* GET /readyz: 200 while events are accepted (PostgreSQL may be down: the spool absorbs). */
static void
admin_readyz(struct httpd_req *req, void *arg)
{
	struct admin_deps *d = arg;
	struct http_state st;
	struct buf	b;
	int			ready;
	const char *why;

	http_get_state(d->http, &st);
	ready = !st.draining && !st.spool_full;
	why = st.draining ? "draining" : st.spool_full ? "spool full" : "accepting events";
	buf_init(&b);
	if (buf_printf(&b, "{\"ready\":%s,\"reason\":\"%s\",\"postgres_connections\":%d,\"flush_connections\":%lld,"
				   "\"logs_known\":%s,\"logs\":%zu,\"durability\":\"%s\"}\n",
				   ready ? "true" : "false", why, flusher_connected(d->fl), (long long) d->cfg->flush_connections,
				   st.logs_known ? "true" : "false", st.nlogs,
				   d->cfg->durability == DURABILITY_FSYNC ? "fsync" : "none") == EV_OK)
		admin_reply(req, ready ? 200 : 503, ready ? "OK" : "Service Unavailable", "application/json", &b);
	else
		admin_oom(req);
	buf_free(&b);
}

struct tenant_render {
	struct buf *out;
	int			failed;
};

/* Label value escaping per the text format: backslash, quote, newline. */
static int
put_label(struct buf *out, const char *s, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		char		c = s[i];

		if ((c == '\\' || c == '"') && buf_putc(out, '\\') != EV_OK)
			return EV_ERROR;
		if (c == '\n')
		{
			if (buf_puts(out, "\\n") != EV_OK)
				return EV_ERROR;
			continue;
		}
		if (buf_putc(out, c) != EV_OK)
			return EV_ERROR;
	}
	return EV_OK;
}

/* One per-tenant sample. */
static void
render_tenant(const struct ratelimit_tenant *t, void *arg)
{
	struct tenant_render *r = arg;

	if (r->failed)
		return;
	if (buf_puts(r->out, "eventlogd_tenant_accepted_events_total{tenant=\"") != EV_OK ||
		put_label(r->out, t->name, t->len) != EV_OK ||
		buf_printf(r->out, "\"} %llu\n", (unsigned long long) t->accepted) != EV_OK)
		r->failed = 1;
}

/* GET /metrics */
static void
admin_metrics(struct httpd_req *req, void *arg)
{
	struct admin_deps *d = arg;
	struct spool_stats ss;
	struct http_state hs;
	struct buf	b;
	uint64_t	committed = flusher_committed_seq(d->fl);
	int64_t		now_s = timestamp_now_us() / 1000000;
	struct tenant_render tr;
	int			ok;

	spool_get_stats(d->sp, &ss);
	http_get_state(d->http, &hs);
	buf_init(&b);
	tr.out = &b;
	tr.failed = 0;
	ok = stats_render_all(&b) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_bytes", "gauge", "Bytes of spool segment files on disk.", (double) ss.bytes) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_pending_bytes", "gauge", "Bytes of segments holding events not yet committed (compared with spool_max_bytes).",
							(double) spool_pending_bytes(d->sp, committed)) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_max_bytes", "gauge", "spool_max_bytes: above it new events get 503.", (double) d->cfg->spool_max_bytes) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_segments", "gauge", "Spool segment files.", (double) ss.segments) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_pending_events", "gauge", "Events spooled but not yet committed in PostgreSQL.",
							(double) (ss.written_seq > committed ? ss.written_seq - committed : 0)) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_oldest_event_age_seconds", "gauge", "Age of the oldest event not yet committed.",
							stats_age_oldest(committed, ss.written_seq, log_now_ms())) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_fsyncs_total", "counter", "Group-commit fdatasync rounds.", (double) ss.syncs) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_journal_fsyncs_total", "counter",
							"fdatasyncs of the dedup journal (before the segments whose ids it holds are deleted).",
							(double) ss.journal_syncs) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_quarantined_segments_total", "counter", "Segments moved to quarantine/ at recovery.", (double) ss.quarantined) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_truncations_total", "counter", "Torn tails cut at recovery.", (double) ss.truncations) == EV_OK &&
		stats_render_metric(&b, "eventlogd_spool_full", "gauge", "1 while the spool is over its high watermark (503).", hs.spool_full) == EV_OK &&
		stats_render_metric(&b, "eventlogd_draining", "gauge", "1 after SIGTERM.", hs.draining) == EV_OK &&
		stats_render_metric(&b, "eventlogd_drain_rate_events_per_second", "gauge", "Committed events per second, smoothed.", hs.drain_events_per_sec) == EV_OK &&
		stats_render_metric(&b, "eventlogd_requests_waiting_fsync", "gauge", "Requests held until their events are durable.", (double) hs.waiting_sync) == EV_OK &&
		stats_render_metric(&b, "eventlogd_requests_waiting_commit", "gauge", "Requests held until PostgreSQL commits (ack=committed, /v1/flush).", (double) hs.waiting_commit) == EV_OK &&
		stats_render_metric(&b, "eventlogd_dedup_entries", "gauge", "event_ids remembered for dedup.", (double) dedup_count(d->dd)) == EV_OK &&
		stats_render_metric(&b, "eventlogd_dedup_window_effective_seconds", "gauge", "Age of the oldest remembered event_id (the window in force).",
							(double) dedup_oldest_age(d->dd, now_s)) == EV_OK &&
		stats_render_metric(&b, "eventlogd_http_connections", "gauge", "Open HTTP connections (TCP and Unix socket).", (double) hs.connections) == EV_OK &&
		stats_render_metric(&b, "eventlogd_logs", "gauge", "Logs known from eventlog.logs.", (double) hs.nlogs) == EV_OK &&
		stats_render_metric(&b, "eventlogd_start_time_seconds", "gauge", "Start time of the process since the Unix epoch.", (double) d->start_unix_s) == EV_OK &&
		buf_printf(&b, "# HELP eventlogd_durability_info Durability mode: fsync acks after fdatasync, none acks on receipt (at-most-once).\n"
				   "# TYPE eventlogd_durability_info gauge\neventlogd_durability_info{mode=\"%s\"} 1\n",
				   d->cfg->durability == DURABILITY_FSYNC ? "fsync" : "none") == EV_OK &&
		buf_printf(&b, "# HELP eventlogd_build_info Version of eventlogd.\n# TYPE eventlogd_build_info gauge\n"
				   "eventlogd_build_info{version=\"%s\"} 1\n", EV_VERSION) == EV_OK &&
		buf_puts(&b, "# HELP eventlogd_tenant_accepted_events_total Events accepted per tenant (first 1000 tenants).\n"
				 "# TYPE eventlogd_tenant_accepted_events_total counter\n") == EV_OK;
	if (ok)
	{
		ratelimit_foreach(d->rl, 1000, render_tenant, &tr);
		ok = !tr.failed;
	}
	if (ok)
		admin_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", &b);
	else
		admin_oom(req);
	buf_free(&b);
}

/* GET /healthz, /readyz, /metrics (called by http.c's router). */
void
admin_handle(struct httpd_req *req, const char *path, void *arg)
{
	if (strcmp(path, "/healthz") == 0)
		admin_healthz(req, arg);
	else if (strcmp(path, "/readyz") == 0)
		admin_readyz(req, arg);
	else
		admin_metrics(req, arg);
}
