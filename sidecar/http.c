/*
 * HTTP ingest API (served by httpd.c): parse, validate, spool, and answer once durable.
 *
 * POST /v1/logs/{log}/events runs in the event loop: check auth, log, back-pressure;
 * envelope_parse() the whole body (nothing is written if any event is bad); drop
 * retries found in the dedup index; write every record in one spool batch; then hold
 * the request until the sync thread reports its last seq durable (durability = fsync) or
 * PostgreSQL has committed it (?ack=committed). Held requests are answered from
 * http_on_synced() / http_on_committed(), which main.c calls when the spool or the
 * flusher reports progress. This file never calls libpq and owns no file descriptor.
 */
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <string.h>

#include "batch.h"
#include "dedup.h"
#include "envelope.h"
#include "flusher.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "ratelimit.h"
#include "spool.h"
#include "stats.h"
#include "timestamp.h"
#include "uuid.h"

#define SUB "http"
#define LOW_WATERMARK 0.9		/* the spool takes events again below 90% of spool_max_bytes */

/* A request held until its events are durable or committed. */
struct waiter {
	struct httpd_req *req;
	uint64_t	seq;			/* last seq of the request (or flush target) */
	int			commit;			/* wait for PostgreSQL too */
	int			is_flush;
	int64_t		start_us;
	int64_t		deadline_ms;
	struct buf	body;			/* 202 response */
	size_t		nnew,			/* counted once the group is written */
				ndup,
				nbytes;
	struct waiter *next;
};

/* An event_id staged in the current group. */
struct staged_id {
	uint32_t	loghash;
	unsigned char id[16];
};

#define GROUP_MAX_BYTES (4 * 1024 * 1024)	/* a larger group is written at once */

struct http {
	struct event_base *base;
	struct httpd *srv;
	http_admin_fn admin;
	void	   *admin_arg;
	struct http_deps d;
	struct waiter *sync_head,
			   *sync_tail;		/* FIFO by seq */
	struct waiter *commit_list;
	struct waiter *stage_head,
			   *stage_tail;		/* requests of the group not yet written */
	int			group_open;
	struct event *group_ev;
	struct staged_id *staged;	/* ids of the group, and an open-addressing index of them */
	size_t		nstaged,
				staged_cap;
	int		   *staged_idx;
	size_t		staged_idx_cap;
	size_t		nsync,
				ncommit;
	int			draining;
	int			spool_full;
	char	  **logs;			/* sorted? no: as read; NULL = unknown */
	size_t		nlogs;
	struct envelope_batch eb;
	struct buf	rec;
	struct buf	journal;
	struct buf	resp;
	int		   *local_set;
	size_t		local_cap;
	struct
	{
		struct ratelimit_tenant *t;
		uint64_t	n;
	}		   *tenants;
	size_t		tenants_cap;
	/* drain rate estimate */
	uint64_t	last_committed;
	int64_t		last_tick_ms;
	double		drain_rate;
};

/* Send a JSON reply (body ends with a newline); extra: header lines, or NULL. */
static void
reply_json(struct httpd_req *req, int code, const char *reason, const char *body, size_t len, const char *extra)
{
	httpd_reply(req, code, reason, "application/json", extra, body, len, 0);
}

/* Send {"error": msg} with a status; Retry-After when retry_after > 0. */
static void
reply_error(struct httpd_req *req, int code, const char *reason, const char *msg, int64_t retry_after)
{
	struct buf	b;
	char		extra[96];

	extra[0] = '\0';
	if (retry_after > 0)
		snprintf(extra, sizeof(extra), "Retry-After: %" PRId64 "\r\n", retry_after);
	else if (code == 401)
		snprintf(extra, sizeof(extra), "WWW-Authenticate: Bearer realm=\"eventlogd\"\r\n");
	buf_init(&b);
	if (buf_puts(&b, "{\"error\":") != EV_OK || buf_put_json_string(&b, msg, strlen(msg)) != EV_OK ||
		buf_puts(&b, "}\n") != EV_OK)
	{
		static const char oom[] = "{\"error\":\"out of memory\"}\n";

		httpd_reply(req, 500, "Internal Server Error", "application/json", NULL, oom, sizeof(oom) - 1, 1);
	}
	else
		httpd_reply(req, code, reason, "application/json", extra[0] ? extra : NULL, b.data, b.len, 0);
	buf_free(&b);
	switch (code)
	{
		case 400:
			stats_add(&ev_stats.rejected_requests_400, 1);
			break;
		case 401:
			stats_add(&ev_stats.rejected_requests_401, 1);
			break;
		case 403:
			stats_add(&ev_stats.rejected_requests_403, 1);
			break;
		case 404:
			stats_add(&ev_stats.rejected_requests_404, 1);
			break;
		case 413:
			stats_add(&ev_stats.rejected_requests_413, 1);
			break;
		case 429:
			stats_add(&ev_stats.rejected_requests_429, 1);
			break;
		case 503:
			stats_add(&ev_stats.rejected_requests_503, 1);
			break;
		default:
			break;
	}
}

/* Seconds a client should wait while the spool is over its watermark. */
static int64_t
spool_retry_after(struct http *h)
{
	struct spool_stats st;
	uint64_t	committed = flusher_committed_seq(h->d.fl);
	double		pending,
				secs;

	spool_get_stats(h->d.sp, &st);
	pending = st.written_seq > committed ? (double) (st.written_seq - committed) : 0;
	if (h->drain_rate < 1)
		return 10;
	/* time to drain down to the low watermark at the current commit rate */
	secs = pending * (1.0 - LOW_WATERMARK) / h->drain_rate;
	return secs < 1 ? 1 : secs > 60 ? 60 : (int64_t) secs + 1;
}

/* Update the spool-full state with hysteresis (no flapping at the limit). */
static void
update_watermark(struct http *h)
{
	double		max = (double) h->d.cfg->spool_max_bytes;
	uint64_t	bytes = spool_pending_bytes(h->d.sp, flusher_committed_seq(h->d.fl));

	if (!h->spool_full && (double) bytes >= max)
	{
		h->spool_full = 1;
		log_warning(SUB, "spool is full (%" PRIu64 " bytes not yet committed >= spool_max_bytes); answering 503 "
					"until it drains below %.0f bytes", bytes, max * LOW_WATERMARK);
	}
	else if (h->spool_full && (double) bytes < max * LOW_WATERMARK)
	{
		h->spool_full = 0;
		log_info(SUB, "spool below its low watermark (%" PRIu64 " bytes pending); accepting events again", bytes);
	}
}

/* Find the canonical name of a log: exact, or the unique "schema.name" whose name matches. */
static const char *
lookup_log(struct http *h, const char *name)
{
	size_t		i;
	const char *hit = NULL;
	int			hits = 0;

	if (h->logs == NULL)
		return name;			/* list never read: accept, PostgreSQL decides at flush time */
	for (i = 0; i < h->nlogs; i++)
		if (strcmp(h->logs[i], name) == 0)
			return h->logs[i];
	if (strchr(name, '.') != NULL)
		return NULL;
	for (i = 0; i < h->nlogs; i++)
	{
		const char *dot = strrchr(h->logs[i], '.');

		if (dot && strcmp(dot + 1, name) == 0)
		{
			hit = h->logs[i];
			hits++;
		}
	}
	return hits == 1 ? hit : NULL;
}

/* A log name as given in the URL: bounded, and only characters of (quoted) identifiers. */
int
http_valid_log_name(const char *s)
{
	size_t		n = strlen(s),
				i;

	if (n == 0 || n > 200)
		return 0;
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			  c == '.' || c == '$' || c == '"' || c == '-' || c >= 0x80))
			return 0;
	}
	return 1;
}

/* Free a waiter. */
static void group_write(struct http *h);

static void
waiter_free(struct waiter *w)
{
	buf_free(&w->body);
	free(w);
}

/* Answer a waiter with its 202 (or 200 for flush). */
static void
waiter_finish(struct waiter *w)
{
	reply_json(w->req, w->is_flush ? 200 : 202, w->is_flush ? "OK" : "Accepted", w->body.data, w->body.len, NULL);
	if (!w->is_flush)
		stats_observe(&ev_stats.ack_seconds, (uint64_t) (timestamp_now_us() - w->start_us));
	waiter_free(w);
}

/* Hold w until its commit (list, scanned on progress). */
static void
commit_wait(struct http *h, struct waiter *w)
{
	w->commit = 1;
	w->deadline_ms = log_now_ms() + h->d.cfg->flush_timeout_ms;
	w->next = h->commit_list;
	h->commit_list = w;
	h->ncommit++;
}

/* Answer the requests whose records are durable. */
void
http_on_synced(struct http *h)
{
	uint64_t	synced = spool_synced_seq(h->d.sp);

	while (h->sync_head && h->sync_head->seq <= synced)
	{
		struct waiter *w = h->sync_head;

		h->sync_head = w->next;
		if (h->sync_head == NULL)
			h->sync_tail = NULL;
		h->nsync--;
		if (w->commit)
			commit_wait(h, w);
		else
			waiter_finish(w);
	}
	if (h->commit_list)
		http_on_committed(h);
}

/* Answer the requests whose events are committed. */
void
http_on_committed(struct http *h)
{
	uint64_t	committed = flusher_committed_seq(h->d.fl);
	struct waiter **pp = &h->commit_list;

	while (*pp)
	{
		struct waiter *w = *pp;

		if (w->seq <= committed)
		{
			*pp = w->next;
			h->ncommit--;
			waiter_finish(w);
		}
		else
			pp = &w->next;
	}
}

/* Timeouts of commit waiters, watermarks, drain rate. */
void
http_tick(struct http *h)
{
	int64_t		now = log_now_ms();
	struct waiter **pp = &h->commit_list;
	uint64_t	committed;

	while (*pp)
	{
		struct waiter *w = *pp;

		if (now >= w->deadline_ms)
		{
			*pp = w->next;
			h->ncommit--;
			reply_error(w->req, 504, "Gateway Timeout",
						w->is_flush ? "timed out waiting for PostgreSQL to commit; the events stay spooled"
						: "accepted and durable in the spool, but not committed in PostgreSQL within flush_timeout",
						0);
			waiter_free(w);
		}
		else
			pp = &w->next;
	}
	/* committed events, not the watermark: that one jumps when a restart skips replayed records */
	committed = stats_get(&ev_stats.committed_events_total) + stats_get(&ev_stats.dead_letter_events_total);
	if (h->last_tick_ms && now > h->last_tick_ms)
	{
		double		inst = (double) (committed - h->last_committed) * 1000.0 / (double) (now - h->last_tick_ms);

		h->drain_rate = h->drain_rate * 0.7 + inst * 0.3;
	}
	h->last_committed = committed;
	h->last_tick_ms = now;
	update_watermark(h);
}

/* Token of an Authorization header value "Bearer <token>", or NULL. */
const char *
http_bearer_token(const char *a, size_t *len)
{
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return NULL;
	a += 7;
	while (*a == ' ')
		a++;
	*len = strlen(a);
	return *len ? a : NULL;
}

static size_t
staged_slot(struct http *h, uint32_t loghash, const unsigned char *id)
{
	size_t		mask = h->staged_idx_cap - 1,
				p = (size_t) dedup_id_hash(loghash, id) & mask;

	for (;;)
	{
		int			v = h->staged_idx[p];

		if (v < 0 || (h->staged[v].loghash == loghash && memcmp(h->staged[v].id, id, 16) == 0))
			return p;
		p = (p + 1) & mask;
	}
}

/* Is (log, id) staged in the current group? */
static int
staged_contains(struct http *h, uint32_t loghash, const unsigned char *id)
{
	return h->nstaged > 0 && h->staged_idx[staged_slot(h, loghash, id)] >= 0;
}

/* Add (log, id) to the group (not there yet). */
static int
staged_add(struct http *h, uint32_t loghash, const unsigned char *id)
{
	size_t		i;

	if (h->nstaged == h->staged_cap)
	{
		size_t		cap = h->staged_cap ? h->staged_cap * 2 : 1024;
		struct staged_id *p = realloc(h->staged, cap * sizeof(*p));

		if (p == NULL)
			return EV_ERROR;
		h->staged = p;
		h->staged_cap = cap;
	}
	if ((h->nstaged + 1) * 2 > h->staged_idx_cap)
	{
		size_t		cap = h->staged_idx_cap ? h->staged_idx_cap * 2 : 2048;
		int		   *p = realloc(h->staged_idx, cap * sizeof(int));

		if (p == NULL)
			return EV_ERROR;
		h->staged_idx = p;
		h->staged_idx_cap = cap;
		memset(p, 0xff, cap * sizeof(int));
		for (i = 0; i < h->nstaged; i++)
			h->staged_idx[staged_slot(h, h->staged[i].loghash, h->staged[i].id)] = (int) i;
	}
	h->staged[h->nstaged].loghash = loghash;
	memcpy(h->staged[h->nstaged].id, id, 16);
	h->staged_idx[staged_slot(h, loghash, id)] = (int) h->nstaged;
	h->nstaged++;
	return EV_OK;
}

static void
staged_clear(struct http *h)
{
	if (h->nstaged > 0)
		memset(h->staged_idx, 0xff, h->staged_idx_cap * sizeof(int));
	h->nstaged = 0;
}

/* Is event i a repeat of an earlier event of this request? (open-addressing set) */
static int
local_seen(struct http *h, size_t i)
{
	const struct event *e = &h->eb.events[i];
	size_t		mask = h->local_cap - 1,
				p = (size_t) dedup_id_hash(0, e->id) & mask;

	for (;;)
	{
		int			v = h->local_set[p];

		if (v < 0)
		{
			h->local_set[p] = (int) i;
			return 0;
		}
		if (memcmp(h->eb.events[v].id, e->id, 16) == 0)
			return 1;
		p = (p + 1) & mask;
	}
}

/* Append the 400 body listing every problem. */
static int
build_errors(struct http *h, struct buf *out)
{
	size_t		i;

	if (buf_printf(out, "{\"error\":\"invalid events; nothing was written\",\"error_count\":%zu,\"errors\":[",
				   h->eb.nerr_total) != EV_OK)
		return EV_ERROR;
	for (i = 0; i < h->eb.nerr; i++)
	{
		const struct envelope_error *e = &h->eb.errors[i];

		if (buf_printf(out, "%s{\"line\":%d,\"index\":%d,\"field\":", i ? "," : "", e->line, e->index) != EV_OK ||
			(e->field[0] ? buf_put_json_string(out, e->field, strlen(e->field)) : buf_puts(out, "null")) != EV_OK ||
			buf_puts(out, ",\"message\":") != EV_OK ||
			buf_put_json_string(out, e->message, strlen(e->message)) != EV_OK ||
			buf_putc(out, '}') != EV_OK)
			return EV_ERROR;
	}
	return buf_printf(out, "]%s}", h->eb.nerr < h->eb.nerr_total ? ",\"truncated\":true" : "");
}

/* POST /v1/logs/{log}/events */
static void
handle_events(struct http *h, struct httpd_req *req, const char *logname, int ack_committed, int no_dedup)
{
	struct config *cfg = h->d.cfg;
	int64_t		start_us = timestamp_now_us();
	int64_t		now_s = start_us / 1000000;
	const char *token_tenant = NULL;
	const char *log;
	size_t		len = req->body_len;
	const char *body = req->body;
	size_t		i,
				ndup = 0,
				nnew = 0,
				ntenants = 0;
	uint32_t	loghash;
	uint64_t	seq = 0;
	char	   *dupflags = NULL;
	struct waiter *w = NULL;
	char		idtext[UUID_TEXT_LEN + 1];
	int			first;
	size_t		mark_bytes,
				mark_journal,
				nbytes = 0;
	uint64_t	mark_count;

	stats_add(&ev_stats.requests_total, 1);
	if (h->draining)
	{
		reply_error(req, 503, "Service Unavailable", "eventlogd is shutting down; retry on another instance", 5);
		return;
	}
	if (cfg->ntokens > 0)
	{
		size_t		tlen = 0;
		const char *tok = http_bearer_token(req->authorization, &tlen);

		if (tok == NULL || (token_tenant = config_token_tenant(cfg, tok, tlen)) == NULL)
		{
			reply_error(req, 401, "Unauthorized", tok ? "unknown bearer token" : "missing bearer token (Authorization: Bearer ...)", 0);
			return;
		}
	}
	if (!http_valid_log_name(logname) || (log = lookup_log(h, logname)) == NULL)
	{
		char		m[300];

		snprintf(m, sizeof(m), "unknown log \"%.200s\" (not in eventlog.logs)", logname);
		reply_error(req, 404, "Not Found", m, 0);
		return;
	}
	if (h->spool_full)
	{
		reply_error(req, 503, "Service Unavailable", "spool is full (PostgreSQL is not keeping up or is down); retry later",
					spool_retry_after(h));
		return;
	}
	if (len > (size_t) cfg->max_body_bytes)
	{
		reply_error(req, 413, "Payload Too Large", "request body is over max_body_bytes", 0);
		return;
	}
	if (len == 0 || body == NULL)
	{
		reply_error(req, 400, "Bad Request", "empty body: send NDJSON (one event per line) or a JSON array", 0);
		return;
	}
	envelope_batch_free(&h->eb);
	if (envelope_parse(&h->eb, body, len, start_us) != EV_OK)
	{
		reply_error(req, 500, "Internal Server Error", "out of memory", 0);
		return;
	}
	if (h->eb.nerr_total > 0)
	{
		h->resp.len = 0;
		stats_add(&ev_stats.rejected_events_total, h->eb.n + h->eb.nerr_total);
		stats_add(&ev_stats.rejected_requests_400, 1);
		if (build_errors(h, &h->resp) == EV_OK && buf_putc(&h->resp, '\n') == EV_OK)
			reply_json(req, 400, "Bad Request", h->resp.data, h->resp.len, NULL);
		else
			reply_error(req, 500, "Internal Server Error", "out of memory", 0);
		return;
	}
	/* tenants: the token's only; rate limits checked for all before any is charged */
	if (h->tenants_cap < h->eb.n)
	{
		void	   *p = realloc(h->tenants, h->eb.n * sizeof(*h->tenants));

		if (p == NULL)
			goto oom;
		h->tenants = p;
		h->tenants_cap = h->eb.n;
	}
	for (i = 0; i < h->eb.n; i++)
	{
		struct event *e = &h->eb.events[i];
		struct ratelimit_tenant *t;
		size_t		k;

		if (token_tenant && (strlen(token_tenant) != e->tenant_len || memcmp(token_tenant, e->tenant, e->tenant_len) != 0))
		{
			char		m[400];

			snprintf(m, sizeof(m), "event %zu: tenant_id \"%.*s\" is not the tenant of this token", i + 1,
					 (int) (e->tenant_len > 128 ? 128 : e->tenant_len), e->tenant);
			reply_error(req, 403, "Forbidden", m, 0);
			return;
		}
		e->lane = batch_lane_of(e->tenant, e->tenant_len);
		if (ntenants > 0 && h->tenants[ntenants - 1].t->len == e->tenant_len &&
			memcmp(h->tenants[ntenants - 1].t->name, e->tenant, e->tenant_len) == 0)
		{
			h->tenants[ntenants - 1].n++;
			continue;
		}
		for (k = 0; k < ntenants; k++)
			if (h->tenants[k].t->len == e->tenant_len && memcmp(h->tenants[k].t->name, e->tenant, e->tenant_len) == 0)
				break;
		if (k < ntenants)
		{
			h->tenants[k].n++;
			continue;
		}
		t = ratelimit_tenant(h->d.rl, e->tenant, e->tenant_len);
		if (t == NULL)
			goto oom;
		h->tenants[ntenants].t = t;
		h->tenants[ntenants].n = 1;
		ntenants++;
	}
	for (i = 0; i < ntenants; i++)
	{
		int64_t		ra = 1;

		if (!ratelimit_check(h->d.rl, h->tenants[i].t, h->tenants[i].n, start_us / 1000, &ra))
		{
			char		m[300];

			snprintf(m, sizeof(m), "tenant \"%.128s\" is over rate_limit", h->tenants[i].t->name);
			reply_error(req, 429, "Too Many Requests", m, ra);
			return;
		}
	}
	/* duplicates: inside the dedup window, staged in this group, or earlier in this request */
	loghash = dedup_log_hash(log, strlen(log));
	dupflags = calloc(h->eb.n, 1);
	if (dupflags == NULL)
		goto oom;
	{
		size_t		need = 16;

		while (need < h->eb.n * 2)
			need <<= 1;
		if (h->local_cap < need)
		{
			int		   *p = realloc(h->local_set, need * sizeof(int));

			if (p == NULL)
				goto oom;
			h->local_set = p;
			h->local_cap = need;
		}
		memset(h->local_set, 0xff, h->local_cap * sizeof(int));
	}
	if (!h->group_open)
	{
		spool_batch_begin(h->d.sp);
		h->journal.len = 0;
		staged_clear(h);
		h->group_open = 1;
		event_active(h->group_ev, EV_READ, 0);
	}
	spool_batch_mark(h->d.sp, &mark_bytes, &mark_count);
	mark_journal = h->journal.len;
	for (i = 0; i < h->eb.n; i++)
	{
		struct event *e = &h->eb.events[i];

		if (e->id_given && !no_dedup &&
			(dedup_contains(h->d.dd, loghash, e->id, now_s) || staged_contains(h, loghash, e->id) || local_seen(h, i)))
		{
			dupflags[i] = 1;
			ndup++;
			continue;
		}
		h->rec.len = 0;
		if (event_encode(e, log, strlen(log), &h->rec) != EV_OK ||
			spool_batch_add(h->d.sp, h->rec.data, h->rec.len, &seq) != EV_OK)
			goto oom_staged;
		if (e->id_given && cfg->dedup_window_ms > 0 &&
			dedup_journal_add(&h->journal, loghash, e->id, now_s, seq) != EV_OK)
			goto oom_staged;
		nbytes += h->rec.len + RECORD_HEADER_SIZE;
		nnew++;
	}
	/* the new ids join the group: a retry in the same group is a duplicate, and waits for it */
	for (i = 0; i < h->eb.n; i++)
		if (!dupflags[i] && h->eb.events[i].id_given && !no_dedup &&
			staged_add(h, loghash, h->eb.events[i].id) != EV_OK)
			goto oom_staged;
	for (i = 0; i < ntenants; i++)
	{
		ratelimit_take(h->d.rl, h->tenants[i].t, h->tenants[i].n);
		h->tenants[i].t->accepted += h->tenants[i].n;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto oom_staged;
	buf_init(&w->body);
	w->req = req;
	w->start_us = start_us;
	/* a request of duplicates only waits for everything written before it */
	w->seq = nnew > 0 ? seq : spool_staged_seq(h->d.sp);
	w->commit = ack_committed;
	w->nnew = nnew;
	w->ndup = ndup;
	w->nbytes = nbytes;
	if (buf_printf(&w->body, "{\"accepted\":%zu,\"duplicates\":%zu,\"event_ids\":[", nnew, ndup) != EV_OK)
		goto oom_staged;
	for (i = 0; i < h->eb.n; i++)
	{
		uuid_format(h->eb.events[i].id, idtext);
		if (buf_printf(&w->body, "%s\"%s\"", i ? "," : "", idtext) != EV_OK)
			goto oom_staged;
	}
	if (buf_puts(&w->body, "],\"duplicate_ids\":[") != EV_OK)
		goto oom_staged;
	for (i = 0, first = 1; i < h->eb.n; i++)
		if (dupflags[i])
		{
			uuid_format(h->eb.events[i].id, idtext);
			if (buf_printf(&w->body, "%s\"%s\"", first ? "" : ",", idtext) != EV_OK)
				goto oom_staged;
			first = 0;
		}
	if (buf_puts(&w->body, "]}\n") != EV_OK)
		goto oom_staged;
	free(dupflags);
	/* answered when the group is written (end of this turn of the event loop) and synced */
	w->next = NULL;
	if (h->stage_tail)
		h->stage_tail->next = w;
	else
		h->stage_head = w;
	h->stage_tail = w;
	if (spool_batch_bytes(h->d.sp) >= GROUP_MAX_BYTES)
		group_write(h);
	return;
oom_staged:
	/* this request's records and journal entries leave the group; earlier ones stay */
	spool_batch_rollback(h->d.sp, mark_bytes, mark_count);
	h->journal.len = mark_journal;
oom:
	free(dupflags);
	if (w)
		waiter_free(w);
	log_error(SUB, "out of memory handling a request");
	reply_error(req, 500, "Internal Server Error", "out of memory", 0);
}

/*
 * Write the group: the records and dedup journal entries of every request staged since
 * the last write, in one write each, so that many small requests cost one write (and,
 * through the sync thread, one fdatasync). Runs once the event loop has served every
 * connection that was ready (group_ev is made active behind them), or earlier when the
 * group is large. A failed write answers every request of the group 503: nothing of it
 * is acknowledged, and its ids are not remembered, so retries are stored.
 */
static void
group_write(struct http *h)
{
	int64_t		now_s = timestamp_now_us() / 1000000;
	struct waiter *w,
			   *next;
	size_t		i;

	if (!h->group_open)
		return;
	h->group_open = 0;
	w = h->stage_head;
	h->stage_head = h->stage_tail = NULL;
	if (spool_batch_write(h->d.sp, h->journal.data, h->journal.len, now_s) != EV_OK)
	{
		for (; w; w = next)
		{
			next = w->next;
			reply_error(w->req, 503, "Service Unavailable",
						"the spool cannot be written (disk full or I/O error); retry later", 5);
			waiter_free(w);
		}
		staged_clear(h);
		update_watermark(h);
		return;
	}
	for (i = 0; i < h->nstaged; i++)
		dedup_insert(h->d.dd, h->staged[i].loghash, h->staged[i].id, now_s);
	staged_clear(h);
	for (; w; w = next)
	{
		next = w->next;
		w->next = NULL;
		stats_add(&ev_stats.accepted_events_total, w->nnew);
		stats_add(&ev_stats.duplicate_events_total, w->ndup);
		stats_add(&ev_stats.accepted_bytes_total, w->nbytes);
		if (h->d.cfg->durability == DURABILITY_NONE || w->seq == 0)
		{
			if (!w->commit)
				waiter_finish(w);	/* at-most-once: ack once written */
			else
				commit_wait(h, w);
		}
		else
		{
			if (h->sync_tail)
				h->sync_tail->next = w;
			else
				h->sync_head = w;
			h->sync_tail = w;
			h->nsync++;
		}
	}
	/* requests of duplicates may wait for records that are durable already */
	http_on_synced(h);
	update_watermark(h);
}

static void
group_cb(evutil_socket_t fd, short what, void *arg)
{
	EV_UNUSED(fd);
	EV_UNUSED(what);
	group_write(arg);
}

/* POST /v1/flush */
static void
handle_flush(struct http *h, struct httpd_req *req)
{
	uint64_t	target = spool_written_seq(h->d.sp);
	struct waiter *w = calloc(1, sizeof(*w));

	if (w == NULL)
	{
		reply_error(req, 500, "Internal Server Error", "out of memory", 0);
		return;
	}
	buf_init(&w->body);
	w->req = req;
	w->seq = target;
	w->is_flush = 1;
	w->start_us = timestamp_now_us();
	if (buf_printf(&w->body, "{\"committed\":true,\"up_to_seq\":%" PRIu64 "}\n", target) != EV_OK)
	{
		waiter_free(w);
		reply_error(req, 500, "Internal Server Error", "out of memory", 0);
		return;
	}
	commit_wait(h, w);
	http_on_committed(h);
}

/* Parse a request target; see http.h. */
int
http_parse_target(const char *path, const char *query, struct http_target *t)
{
	const char *name,
			   *slash;
	char	   *raw;

	memset(t, 0, sizeof(*t));
	if (path == NULL)
	{
		t->status = 400;
		t->message = "bad request URI";
		return EV_OK;
	}
	if (strcmp(path, "/v1/flush") == 0)
	{
		t->kind = HTTP_ROUTE_FLUSH;
		return EV_OK;
	}
	name = path + 9;
	if (strncmp(path, "/v1/logs/", 9) != 0 || (slash = strchr(name, '/')) == NULL || strcmp(slash, "/events") != 0)
	{
		t->status = 404;
		t->message = strncmp(path, "/v1/logs/", 9) == 0 ? "no such endpoint (POST /v1/logs/{log}/events)" : "no such endpoint";
		return EV_OK;
	}
	t->kind = HTTP_ROUTE_EVENTS;
	if (query)
	{
		struct evkeyvalq q;
		const char *v;

		TAILQ_INIT(&q);
		if (evhttp_parse_query_str(query, &q) == 0)
		{
			/* dedup=off: replay of dead letters, whose event_ids were seen when first accepted */
			if ((v = evhttp_find_header(&q, "dedup")) != NULL)
			{
				if (strcmp(v, "off") == 0)
					t->no_dedup = 1;
				else if (strcmp(v, "on") != 0)
				{
					t->status = 400;
					t->message = "dedup must be on or off";
				}
			}
			if (t->status == 0 && (v = evhttp_find_header(&q, "ack")) != NULL)
			{
				if (strcmp(v, "committed") == 0)
					t->ack_committed = 1;
				else if (strcmp(v, "spooled") != 0)
				{
					t->status = 400;
					t->message = "ack must be spooled or committed";
				}
			}
		}
		evhttp_clear_headers(&q);
		if (t->status != 0)
			return EV_OK;
	}
	raw = strndup(name, (size_t) (slash - name));
	t->log = raw ? evhttp_uridecode(raw, 0, NULL) : NULL;
	free(raw);
	return t->log ? EV_OK : EV_ERROR;
}

/* Free what http_parse_target allocated. */
void
http_target_free(struct http_target *t)
{
	free(t->log);
	t->log = NULL;
}

/* Router: the ingest API, and the admin endpoints through the callback of admin.c. */
static void
http_route(struct httpd_req *req, void *arg)
{
	struct http *h = arg;
	struct http_target t;

	if (h->admin && (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/readyz") == 0 ||
					 strcmp(req->path, "/metrics") == 0))
	{
		if (req->method == HTTPP_POST)
			reply_error(req, 405, "Method Not Allowed", "use GET", 0);
		else
			h->admin(req, req->path, h->admin_arg);
		return;
	}
	if (http_parse_target(req->path, req->query, &t) != EV_OK)
	{
		reply_error(req, 500, "Internal Server Error", "out of memory", 0);
		return;
	}
	if (t.kind != HTTP_ROUTE_NONE && req->method != HTTPP_POST)
		reply_error(req, 405, "Method Not Allowed", "use POST", 0);
	else if (t.status != 0)
		reply_error(req, t.status, t.status == 404 ? "Not Found" : "Bad Request", t.message, 0);
	else if (t.kind == HTTP_ROUTE_FLUSH)
		handle_flush(h, req);
	else
		handle_events(h, req, t.log, t.ack_committed, t.no_dedup);
	http_target_free(&t);
}

/* Limits of the server from the config. */
static void
http_limits(const struct config *cfg, struct httpd_limits *lim)
{
	lim->max_body_bytes = (uint64_t) cfg->max_body_bytes;
	lim->max_head_bytes = 64 * 1024;
	lim->idle_timeout_ms = 120 * 1000;
	lim->read_timeout_ms = 60 * 1000;
	lim->max_connections = 10000;
}

/* Create the server. */
int
http_new(struct event_base *base, const struct http_deps *deps, struct http **out)
{
	struct http *h = calloc(1, sizeof(*h));
	struct httpd_limits lim;

	*out = NULL;
	if (h == NULL)
		return EV_ERROR;
	h->base = base;
	h->d = *deps;
	envelope_batch_init(&h->eb);
	buf_init(&h->rec);
	buf_init(&h->journal);
	buf_init(&h->resp);
	http_limits(h->d.cfg, &lim);
	h->group_ev = event_new(base, -1, 0, group_cb, h);
	if (h->group_ev == NULL || httpd_new(base, &lim, http_route, h, &h->srv) != EV_OK)
	{
		if (h->group_ev)
			event_free(h->group_ev);
		free(h);
		return EV_ERROR;
	}
	*out = h;
	return EV_OK;
}

/* Apply reloaded limits. */
void
http_reload(struct http *h)
{
	struct httpd_limits lim;

	http_limits(h->d.cfg, &lim);
	httpd_set_limits(h->srv, &lim);
}

/* Route /healthz, /readyz and /metrics to fn. */
void
http_set_admin(struct http *h, http_admin_fn fn, void *arg)
{
	h->admin = fn;
	h->admin_arg = arg;
}

/* Listen on host:port. */
int
http_listen_tcp(struct http *h, const char *host, int port)
{
	return httpd_listen_tcp(h->srv, host, port);
}

/* Serve an already listening socket. */
int
http_accept_fd(struct http *h, int fd)
{
	return httpd_accept_fd(h->srv, fd);
}

/* Stop accepting connections (closes the listening sockets). */
void
http_stop_listening(struct http *h)
{
	httpd_stop_listening(h->srv);
}

/* From now on, new requests get 503 (SIGTERM). */
void
http_set_draining(struct http *h)
{
	h->draining = 1;
}

/* Replace the set of known logs. */
void
http_set_logs(struct http *h, char **names, size_t n)
{
	size_t		i;

	for (i = 0; h->logs && i < h->nlogs; i++)
		free(h->logs[i]);
	free(h->logs);
	h->logs = names;
	h->nlogs = n;
}

/* Snapshot for /readyz and /metrics. */
void
http_get_state(struct http *h, struct http_state *st)
{
	st->draining = h->draining;
	st->spool_full = h->spool_full;
	st->logs_known = h->logs != NULL;
	st->nlogs = h->nlogs;
	st->waiting_sync = h->nsync;
	st->waiting_commit = h->ncommit;
	st->drain_events_per_sec = h->drain_rate;
	st->connections = httpd_connections(h->srv);
}

/* Free the server; held requests are answered 503 (their events stay spooled). */
void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	group_write(h);
	while (h->sync_head)
	{
		struct waiter *w = h->sync_head;

		h->sync_head = w->next;
		reply_error(w->req, 503, "Service Unavailable", "shutting down", 5);
		waiter_free(w);
	}
	while (h->commit_list)
	{
		struct waiter *w = h->commit_list;

		h->commit_list = w->next;
		reply_error(w->req, 503, "Service Unavailable", "shutting down before the commit; the events stay spooled", 5);
		waiter_free(w);
	}
	httpd_free(h->srv);
	http_set_logs(h, NULL, 0);
	envelope_batch_free(&h->eb);
	buf_free(&h->rec);
	buf_free(&h->journal);
	buf_free(&h->resp);
	free(h->local_set);
	free(h->staged);
	free(h->staged_idx);
	event_free(h->group_ev);
	free(h->tenants);
	free(h);
}
