/*
 * Flusher: every PGconn; reads durable batches back from the spool and commits them via COPY.
 *
 * Lanes: each event carries lane = crc32c(tenant) % 64 (stored in its record). Worker w
 * (one thread, one connection) owns the lanes with lane % flush_connections == w, so one
 * tenant's events are always sent by one connection, in spool order. Every worker scans
 * the whole spool with its own reader and skips the records of other lanes; the backlog
 * stays on disk and a worker holds one batch at most in memory.
 *
 * Exactly once: a batch of one log is sent as ONE statement, so COPY and ledger commit
 * together or not at all:
 *     WITH c AS (SELECT eventlog.copy_in($1::regclass, $2::bytea, $3) AS n)
 *     INSERT INTO eventlog.ingest_ledger ... (source, lane, last_seq ...) ... ON CONFLICT ...
 * with source = 'eventlogd:<spool id>:<log>' and last_seq = the batch's highest seq of
 * that lane. Within a (log, lane) the worker commits in seq order, so "seq <= last_seq"
 * means committed. On every (re)connect the worker reads its ledger rows and rescans
 * from its last known-done position; records at or below the ledger are skipped, which
 * also settles a commit whose reply was lost.
 *
 * Errors (flusher_classify): transient -> drop the connection, backoff with jitter,
 * reconnect, rescan; data -> bisect the batch until single events fail, write those to
 * deadletter.ndjson and to eventlog.dead_letters (with the ledger bump, in one
 * statement), commit the rest; config -> pause that log (its records are skipped by the
 * main scan), retry it every pause_retry from its first unsent record, dead-letter nothing.
 *
 * Progress: a worker's done_seq says every record <= it is handled for its lanes (a
 * paused log holds it back). The minimum over workers is the committed watermark used for
 * ?ack=committed, /v1/flush and deleting spool segments.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "batch.h"
#include "config.h"
#include "copyenc.h"
#include "event.h"
#include "flusher.h"
#include "log.h"
#include "monotime.h"
#include "stats.h"
#include "timestamp.h"

#define SUB "flusher"

static const char *const commit_sql =
"WITH c AS (SELECT eventlog.copy_in($1::regclass, $2::bytea, $3::text) AS n) "
"INSERT INTO eventlog.ingest_ledger AS l (source, lane, last_seq, batches, events, updated_at) "
"SELECT $4::text, u.lane, u.seq, 1, u.cnt, now() "
"FROM c, unnest($5::int[], $6::bigint[], $7::bigint[]) AS u(lane, seq, cnt) "
"ON CONFLICT (source, lane) DO UPDATE SET last_seq = GREATEST(l.last_seq, EXCLUDED.last_seq), "
"batches = l.batches + 1, events = l.events + EXCLUDED.events, updated_at = EXCLUDED.updated_at "
"RETURNING (SELECT n FROM c)";

static const char *const dead_sql =
"WITH d AS (INSERT INTO eventlog.dead_letters (source, log, seq, event, error, sqlstate) "
"VALUES ($1::text, $2::text, $3::bigint, $4::text, $5::text, $6::text) RETURNING 1) "
"INSERT INTO eventlog.ingest_ledger AS l (source, lane, last_seq, batches, events, updated_at) "
"SELECT $7::text, $8::int, $3::bigint, 0, 0, now() FROM d "
"ON CONFLICT (source, lane) DO UPDATE SET last_seq = GREATEST(l.last_seq, EXCLUDED.last_seq), "
"updated_at = EXCLUDED.updated_at";

static const char *const ledger_sql =
"SELECT substr(source, length($1::text) + 1), lane, last_seq FROM eventlog.ingest_ledger "
"WHERE starts_with(source, $1::text)";

/* Per worker, per log: ledger and pause state. */
struct wlog {
	char	   *name;
	size_t		len;
	int64_t		ledger[EV_LANES];	/* last committed seq per lane, 0 = none */
	int			paused;
	uint64_t	pauses;			/* times worker_pause ran (catch-up sees a new failure) */
	struct spool_pos resume_pos;	/* first unsent record of a paused log */
	uint64_t	resume_seq;
	int64_t		next_retry_ms;
	struct wlog *next;
};

struct worker {
	struct flusher *fl;
	int			id;
	pthread_t	thread;
	int			started;
	PGconn	   *conn;
	struct spool_reader *reader;	/* main cursor */
	struct spool_reader *catchup;	/* paused logs */
	struct batch batch;
	struct batch cbatch;
	struct spool_pos done_pos;	/* everything of my lanes before it is handled */
	uint64_t	done_seq_local;
	struct spool_pos scan_pos;	/* reader position */
	uint64_t	scan_seq;		/* seq of the last record scanned */
	uint64_t	done_seq;		/* published (atomic) */
	struct wlog *logs;
	struct backoff backoff;
	struct buf	copybuf;
	struct buf	tmp;
	struct flusher_settings set;
	int64_t		next_logs_refresh_ms;
};

struct flusher {
	char	   *dsn;
	struct spool *sp;
	int			nworkers;
	struct worker *workers;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct flusher_settings set;
	int			stop;
	void		(*on_progress) (void *);
	void	   *arg;
	char		source[64];		/* "eventlogd:<spool id>" */
	char	  **logs;
	size_t		nlogs;
	uint64_t	logs_version;
	double		drain_tokens;
	int64_t		drain_last_ms;
};

/* Sort a SQLSTATE. */
enum pg_error_class
flusher_classify(const char *sqlstate, int connection_ok)
{
	if (!connection_ok || sqlstate == NULL || strlen(sqlstate) != 5)
		return PGERR_TRANSIENT;
	if (strncmp(sqlstate, "08", 2) == 0 ||	/* connection exception */
		strcmp(sqlstate, "57P01") == 0 || strcmp(sqlstate, "57P02") == 0 ||
		strcmp(sqlstate, "57P03") == 0 ||	/* shutdown, crash, cannot connect now */
		strcmp(sqlstate, "57014") == 0 ||	/* query canceled */
		strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0 ||
		strncmp(sqlstate, "53", 2) == 0 ||	/* insufficient resources (disk full, ...) */
		strcmp(sqlstate, "55P03") == 0 ||	/* lock not available */
		strncmp(sqlstate, "58", 2) == 0)	/* system error (I/O) */
		return PGERR_TRANSIENT;
	if (strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0 ||
		strcmp(sqlstate, "LG001") == 0 || strncmp(sqlstate, "54", 2) == 0)
		return PGERR_DATA;
	/* 42P01 undefined table, 42501 permission, 3F000 no schema, 42883 no function, ... */
	return PGERR_CONFIG;
}

/* Monotonic milliseconds. */
static int64_t
now_ms(void)
{
	return log_now_ms();
}

/* Is the flusher stopping? */
static int
stopping(struct flusher *fl)
{
	return __atomic_load_n(&fl->stop, __ATOMIC_ACQUIRE);
}

/* Sleep up to ms, waking early on stop. */
static void
flusher_sleep(struct flusher *fl, int64_t ms)
{
	struct timespec ts;

	monotime_deadline(&ts, ms);
	pthread_mutex_lock(&fl->mu);
	while (!fl->stop)
		if (pthread_cond_timedwait(&fl->cond, &fl->mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&fl->mu);
}

/* Wait for drain tokens (drain_max_events_per_sec). */
static void
flusher_drain_wait(struct flusher *fl, size_t n)
{
	for (;;)
	{
		double		rate;
		double		wait_s;
		int64_t		now = now_ms();

		pthread_mutex_lock(&fl->mu);
		rate = (double) fl->set.drain_max_events_per_sec;
		if (rate <= 0 || fl->stop)
		{
			pthread_mutex_unlock(&fl->mu);
			return;
		}
		if (fl->drain_last_ms == 0)
			fl->drain_tokens = rate;
		else
			fl->drain_tokens += rate * (double) (now - fl->drain_last_ms) / 1000.0;
		if (fl->drain_tokens > rate)
			fl->drain_tokens = rate;
		fl->drain_last_ms = now;
		/* a batch above one second's worth waits for a full bucket and leaves a debt */
		if (fl->drain_tokens >= (double) n || fl->drain_tokens >= rate)
		{
			fl->drain_tokens -= (double) n;
			pthread_mutex_unlock(&fl->mu);
			return;
		}
		wait_s = (((double) n < rate ? (double) n : rate) - fl->drain_tokens) / rate;
		pthread_mutex_unlock(&fl->mu);
		flusher_sleep(fl, (int64_t) (wait_s * 1000) + 1);
	}
}

/* Position order. */
static int
pos_cmp(const struct spool_pos *a, const struct spool_pos *b)
{
	if (a->seg != b->seg)
		return a->seg < b->seg ? -1 : 1;
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return 0;
}

/* The worker's state for a log (created on first sight). */
static struct wlog *
wlog_get(struct worker *w, const char *name, size_t len)
{
	struct wlog *l;

	for (l = w->logs; l; l = l->next)
		if (l->len == len && memcmp(l->name, name, len) == 0)
			return l;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->name = malloc(len + 1);
	if (l->name == NULL)
	{
		free(l);
		return NULL;
	}
	memcpy(l->name, name, len);
	l->name[len] = '\0';
	l->len = len;
	l->next = w->logs;
	w->logs = l;
	return l;
}

/* Publish done_seq (held back by paused logs) and tell the main loop if it moved. */
static void
worker_publish(struct worker *w)
{
	uint64_t	d = w->done_seq_local;
	struct wlog *l;
	uint64_t	old;

	for (l = w->logs; l; l = l->next)
		if (l->paused && l->resume_seq > 0 && l->resume_seq - 1 < d)
			d = l->resume_seq - 1;
	old = __atomic_exchange_n(&w->done_seq, d, __ATOMIC_ACQ_REL);
	if (old != d && w->fl->on_progress)
		w->fl->on_progress(w->fl->arg);
}

/* Drop the connection. */
static void
worker_disconnect(struct worker *w)
{
	if (w->conn)
	{
		PQfinish(w->conn);
		w->conn = NULL;
		__atomic_sub_fetch(&ev_stats.pg_connected, 1, __ATOMIC_RELAXED);
	}
}

/* Log a PostgreSQL error (rate-limited per kind). */
static void
worker_log_error(struct worker *w, enum pg_error_class cls, const char *what, const char *sqlstate,
				 const char *msg, const char *log)
{
	static struct log_limit lim_t,
				lim_c;
	size_t		n = msg ? strcspn(msg, "\n") : 0;

	if (cls == PGERR_TRANSIENT)
		log_limited(&lim_t, 10000, LOGL_WARNING, SUB, "[%d] %s failed (transient, retrying): %s%s%.*s",
					w->id, what, sqlstate ? sqlstate : "connection", msg ? ": " : "", (int) n, msg ? msg : "");
	else if (cls == PGERR_CONFIG)
		log_limited(&lim_c, 30000, LOGL_ERROR, SUB, "[%d] %s for log %s failed (configuration, log paused): %s: %.*s",
					w->id, what, log ? log : "-", sqlstate ? sqlstate : "-", (int) n, msg ? msg : "");
	else
		log_warning(SUB, "[%d] %s for log %s refused the data (%s: %.*s); isolating the bad events",
					w->id, what, log ? log : "-", sqlstate ? sqlstate : "-", (int) n, msg ? msg : "");
}

/* Load the ledger rows of this spool. */
static int
worker_load_ledger(struct worker *w, enum pg_error_class *cls)
{
	char		prefix[80];
	const char *params[1];
	PGresult   *res;
	int			i,
				rc = EV_ERROR;

	snprintf(prefix, sizeof(prefix), "%s:", w->fl->source);
	params[0] = prefix;
	res = PQexecParams(w->conn, ledger_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		*cls = flusher_classify(st, PQstatus(w->conn) == CONNECTION_OK);
		worker_log_error(w, *cls, "reading eventlog.ingest_ledger", st, PQresultErrorMessage(res), NULL);
		goto done;
	}
	for (i = 0; i < PQntuples(res); i++)
	{
		const char *log = PQgetvalue(res, i, 0);
		int			lane = atoi(PQgetvalue(res, i, 1));
		int64_t		seq = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		struct wlog *l;

		if (lane < 0 || lane >= EV_LANES)
			continue;
		l = wlog_get(w, log, strlen(log));
		if (l == NULL)
			goto done;
		if (seq > l->ledger[lane])
			l->ledger[lane] = seq;
	}
	rc = EV_OK;
done:
	PQclear(res);
	return rc;
}

/* Connect, prepare statements, read the ledger. */
static int
worker_connect(struct worker *w, enum pg_error_class *cls)
{
	const char *keys[] = {"fallback_application_name", "connect_timeout", "keepalives_idle", "dbname", NULL};
	const char *vals[] = {"eventlogd", "10", "30", w->fl->dsn, NULL};
	PGresult   *res;
	static struct log_limit lim;

	*cls = PGERR_TRANSIENT;
	w->conn = PQconnectdbParams(keys, vals, 1);
	if (w->conn == NULL || PQstatus(w->conn) != CONNECTION_OK)
	{
		size_t		n;
		const char *m = w->conn ? PQerrorMessage(w->conn) : "out of memory";

		n = strcspn(m, "\n");
		log_limited(&lim, 30000, LOGL_WARNING, SUB, "[%d] cannot connect to PostgreSQL: %.*s; retrying",
					w->id, (int) n, m);
		if (w->conn)
			PQfinish(w->conn);
		w->conn = NULL;
		return EV_ERROR;
	}
	__atomic_add_fetch(&ev_stats.pg_connected, 1, __ATOMIC_RELAXED);
	res = PQprepare(w->conn, "ev_commit", commit_sql, 0, NULL);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
	{
		PQclear(res);
		res = PQprepare(w->conn, "ev_dead", dead_sql, 0, NULL);
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		*cls = flusher_classify(st, PQstatus(w->conn) == CONNECTION_OK);
		worker_log_error(w, *cls, "preparing the COPY statement (is pg_eventlog installed?)", st,
						 PQresultErrorMessage(res), NULL);
		PQclear(res);
		worker_disconnect(w);
		return EV_ERROR;
	}
	PQclear(res);
	if (worker_load_ledger(w, cls) != EV_OK)
	{
		worker_disconnect(w);
		return EV_ERROR;
	}
	log_recovered(&lim, SUB, "[%d] connected to PostgreSQL again", w->id);
	log_info(SUB, "[%d] connected to PostgreSQL (server %d), resuming at segment %" PRIu64 " offset %" PRIu64,
			 w->id, PQserverVersion(w->conn), w->done_pos.seg, w->done_pos.off);
	return EV_OK;
}

/* Commit items[idx[0..n)] of batch b for log l as one statement. */
static enum pg_error_class
worker_try_commit(struct worker *w, struct batch *b, struct wlog *l, const size_t *idx, size_t n,
				  char *sqlstate, struct buf *errmsg)
{
	enum copy_format fmt = (enum copy_format) w->set.copy_format;
	int64_t		lane_seq[EV_LANES] = {0};
	int64_t		lane_cnt[EV_LANES] = {0};
	char		lanes[EV_LANES * 4 + 4],
				seqs[EV_LANES * 21 + 4],
				cnts[EV_LANES * 21 + 4];
	size_t		lp = 0,
				sp = 0,
				cp = 0;
	char		source[400];
	const char *values[7];
	int			lengths[7] = {0};
	int			formats[7] = {0};
	PGresult   *res;
	size_t		i;
	int			k;
	int64_t		t0;
	enum pg_error_class cls = PGERR_NONE;

	w->copybuf.len = 0;
	if (copyenc_begin(&w->copybuf, fmt) != EV_OK)
		goto oom;
	for (i = 0; i < n; i++)
	{
		const struct batch_item *it = &b->items[idx[i]];
		struct event ev;
		const char *log;
		size_t		loglen;

		if (event_decode((const unsigned char *) b->records.data + it->off, it->len, &ev, &log, &loglen) != EV_OK ||
			copyenc_row(&w->copybuf, fmt, &ev) != EV_OK)
			goto oom;
		if ((int64_t) it->seq > lane_seq[it->lane])
			lane_seq[it->lane] = (int64_t) it->seq;
		lane_cnt[it->lane]++;
	}
	if (copyenc_end(&w->copybuf, fmt) != EV_OK || w->copybuf.len > INT32_MAX)
		goto oom;
	lanes[lp++] = '{';
	seqs[sp++] = '{';
	cnts[cp++] = '{';
	for (k = 0; k < EV_LANES; k++)
		if (lane_cnt[k])
		{
			lp += (size_t) snprintf(lanes + lp, sizeof(lanes) - lp, "%s%d", lp > 1 ? "," : "", k);
			sp += (size_t) snprintf(seqs + sp, sizeof(seqs) - sp, "%s%" PRId64, sp > 1 ? "," : "", lane_seq[k]);
			cp += (size_t) snprintf(cnts + cp, sizeof(cnts) - cp, "%s%" PRId64, cp > 1 ? "," : "", lane_cnt[k]);
		}
	snprintf(lanes + lp, sizeof(lanes) - lp, "}");
	snprintf(seqs + sp, sizeof(seqs) - sp, "}");
	snprintf(cnts + cp, sizeof(cnts) - cp, "}");
	snprintf(source, sizeof(source), "%s:%s", w->fl->source, l->name);
	values[0] = l->name;
	values[1] = w->copybuf.data;
	lengths[1] = (int) w->copybuf.len;
	formats[1] = 1;				/* bytea in binary: the COPY stream as is */
	values[2] = copyenc_format_name(fmt);
	values[3] = source;
	values[4] = lanes;
	values[5] = seqs;
	values[6] = cnts;
	flusher_drain_wait(w->fl, n);
	t0 = timestamp_now_us();
	res = PQexecPrepared(w->conn, "ev_commit", 7, values, lengths, formats, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
	{
		stats_observe(&ev_stats.flush_seconds, (uint64_t) (timestamp_now_us() - t0));
		stats_observe(&ev_stats.batch_size, n);
		stats_add(&ev_stats.committed_events_total, n);
		stats_add(&ev_stats.committed_batches_total, 1);
		for (k = 0; k < EV_LANES; k++)
			if (lane_cnt[k] && lane_seq[k] > l->ledger[k])
				l->ledger[k] = lane_seq[k];
		if (PQntuples(res) > 0 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) != (long long) n)
			log_warning(SUB, "[%d] copy_in into %s reported %s rows for %zu events", w->id, l->name,
						PQgetvalue(res, 0, 0), n);
		log_noise(SUB, "[%d] committed %zu events into %s", w->id, n, l->name);
	}
	else
	{
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		snprintf(sqlstate, 6, "%s", st ? st : "");
		cls = flusher_classify(st, PQstatus(w->conn) == CONNECTION_OK);
		const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		errmsg->len = 0;
		buf_errorf(errmsg, "%s", primary ? primary : PQresultErrorMessage(res));
		while (errmsg->len > 0 && (errmsg->data[errmsg->len - 1] == '\n'))
			errmsg->data[--errmsg->len] = '\0';
	}
	PQclear(res);
	return cls;
oom:
	log_error(SUB, "[%d] out of memory building a COPY batch", w->id);
	snprintf(sqlstate, 6, "%s", "");
	return PGERR_TRANSIENT;
}

/* Dead-letter one event: file first (fsync), then table + ledger in one statement. */
static enum pg_error_class
worker_dead_letter(struct worker *w, struct batch *b, struct wlog *l, size_t i, const char *sqlstate,
				   const char *msg)
{
	const struct batch_item *it = &b->items[i];
	struct event ev;
	const char *log;
	size_t		loglen;
	char		seq[24],
				lane[8],
				source[400];
	char		ts[40],
				rts[40];
	const char *values[8];
	PGresult   *res;
	size_t		evstart,
				evlen;
	enum pg_error_class cls = PGERR_NONE;

	if (event_decode((const unsigned char *) b->records.data + it->off, it->len, &ev, &log, &loglen) != EV_OK)
		return PGERR_TRANSIENT;
	w->tmp.len = 0;
	timestamp_format_iso(timestamp_now_us(), ts);
	timestamp_format_iso(ev.received_us, rts);
	if (buf_puts(&w->tmp, "{\"log\":") != EV_OK ||
		buf_put_json_string(&w->tmp, l->name, l->len) != EV_OK ||
		buf_printf(&w->tmp, ",\"seq\":%" PRIu64 ",\"sqlstate\":\"%s\",\"failed_at\":\"%s\",\"received_at\":\"%s\",\"error\":",
				   it->seq, sqlstate, ts, rts) != EV_OK ||
		buf_put_json_string(&w->tmp, msg, strlen(msg)) != EV_OK ||
		buf_puts(&w->tmp, ",\"event\":") != EV_OK)
		return PGERR_TRANSIENT;
	evstart = w->tmp.len;
	if (event_format_json(&ev, &w->tmp) != EV_OK)
		return PGERR_TRANSIENT;
	evlen = w->tmp.len - evstart;
	if (buf_puts(&w->tmp, "}\n") != EV_OK || buf_cstr(&w->tmp) != EV_OK)
		return PGERR_TRANSIENT;
	if (spool_deadletter_append(w->fl->sp, w->tmp.data, w->tmp.len) != EV_OK)
		return PGERR_TRANSIENT;
	/* the table gets the event JSON alone: cut it out of the line with a NUL */
	{
		char	   *evjson = strndup(w->tmp.data + evstart, evlen);

		if (evjson == NULL)
			return PGERR_TRANSIENT;
		snprintf(seq, sizeof(seq), "%" PRIu64, it->seq);
		snprintf(lane, sizeof(lane), "%u", (unsigned) it->lane);
		snprintf(source, sizeof(source), "%s:%s", w->fl->source, l->name);
		values[0] = w->fl->source;
		values[1] = l->name;
		values[2] = seq;
		values[3] = evjson;
		values[4] = msg;
		values[5] = sqlstate;
		values[6] = source;
		values[7] = lane;
		res = PQexecPrepared(w->conn, "ev_dead", 8, values, NULL, NULL, 0);
		free(evjson);
	}
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
	{
		if ((int64_t) it->seq > l->ledger[it->lane])
			l->ledger[it->lane] = (int64_t) it->seq;
		stats_add(&ev_stats.dead_letter_events_total, 1);
		log_error(SUB, "[%d] dead-lettered event seq %" PRIu64 " of log %s: %s: %s", w->id, it->seq,
				  l->name, sqlstate, msg);
	}
	else
	{
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		cls = flusher_classify(st, PQstatus(w->conn) == CONNECTION_OK);
		if (cls == PGERR_DATA)
			cls = PGERR_CONFIG;	/* never loop on the dead-letter table itself */
		worker_log_error(w, cls, "writing eventlog.dead_letters", st, PQresultErrorMessage(res), l->name);
	}
	PQclear(res);
	return cls;
}

/* Pause log l at item i of b. */
static void
worker_pause(struct worker *w, struct wlog *l, const struct batch_item *it)
{
	if (!l->paused)
	{
		stats_add(&ev_stats.paused_logs, 1);
		log_error(SUB, "[%d] log %s paused at seq %" PRIu64 "; retrying every %" PRId64 " ms", w->id, l->name,
				  it->seq, w->set.pause_retry_ms);
	}
	l->paused = 1;
	l->pauses++;
	l->resume_pos = it->before;
	l->resume_seq = it->seq;
	l->next_retry_ms = now_ms() + w->set.pause_retry_ms;
}

/* Commit idx[lo..hi), bisecting on data errors. */
static enum pg_error_class
worker_send_range(struct worker *w, struct batch *b, struct wlog *l, const size_t *idx, size_t lo, size_t hi)
{
	char		sqlstate[6] = "";
	struct buf	msg;
	enum pg_error_class cls;
	size_t		mid;

	buf_init(&msg);
	cls = worker_try_commit(w, b, l, idx + lo, hi - lo, sqlstate, &msg);
	if (cls == PGERR_NONE)
		goto done;
	if (cls == PGERR_TRANSIENT)
		stats_add(&ev_stats.pg_errors_transient_total, 1);
	else if (cls == PGERR_CONFIG)
		stats_add(&ev_stats.pg_errors_config_total, 1);
	else
		stats_add(&ev_stats.pg_errors_data_total, 1);
	if (cls == PGERR_DATA)
	{
		if (hi - lo == 1)
		{
			cls = worker_dead_letter(w, b, l, idx[lo], sqlstate, msg.data ? msg.data : "");
			if (cls == PGERR_CONFIG)
				worker_pause(w, l, &b->items[idx[lo]]);
			goto done;
		}
		if (hi - lo == b->n || lo == 0)
			worker_log_error(w, cls, "COPY", sqlstate, msg.data, l->name);
		mid = lo + (hi - lo) / 2;
		cls = worker_send_range(w, b, l, idx, lo, mid);
		if (cls == PGERR_NONE)
			cls = worker_send_range(w, b, l, idx, mid, hi);
		goto done;
	}
	worker_log_error(w, cls, "COPY", sqlstate[0] ? sqlstate : NULL, msg.data, l->name);
	if (cls == PGERR_CONFIG)
		worker_pause(w, l, &b->items[idx[lo]]);
done:
	buf_free(&msg);
	return cls;
}

/*
 * Send batch b: one statement per log in it, in order of first appearance.
 * PGERR_TRANSIENT aborts; a paused log does not stop the others.
 */
static enum pg_error_class
worker_flush(struct worker *w, struct batch *b, struct wlog *only)
{
	size_t	   *idx = NULL;
	size_t		i,
				j,
				n;
	char	   *done = NULL;
	enum pg_error_class rc = PGERR_NONE;

	idx = malloc(b->n * sizeof(*idx));
	done = calloc(b->n, 1);
	if (idx == NULL || done == NULL)
	{
		rc = PGERR_TRANSIENT;
		goto out;
	}
	for (i = 0; i < b->n; i++)
	{
		struct event ev;
		const char *log,
				   *log2;
		size_t		loglen,
					loglen2;
		struct wlog *l;

		if (done[i])
			continue;
		if (event_decode((const unsigned char *) b->records.data + b->items[i].off, b->items[i].len, &ev,
						 &log, &loglen) != EV_OK || (l = wlog_get(w, log, loglen)) == NULL)
		{
			rc = PGERR_TRANSIENT;
			goto out;
		}
		n = 0;
		for (j = i; j < b->n; j++)
		{
			if (done[j])
				continue;
			if (j != i && (event_decode((const unsigned char *) b->records.data + b->items[j].off,
										b->items[j].len, &ev, &log2, &loglen2) != EV_OK ||
						   loglen2 != loglen || memcmp(log2, log, loglen) != 0))
				continue;
			idx[n++] = j;
			done[j] = 1;
		}
		if (l->paused && l != only)
			continue;			/* paused by an earlier group of this batch: catch-up sends it */
		rc = worker_send_range(w, b, l, idx, 0, n);
		if (rc == PGERR_TRANSIENT)
			goto out;
		rc = PGERR_NONE;
	}
out:
	free(idx);
	free(done);
	return rc;
}

/* Read the list of logs (worker 0) and hand it to the main loop if it changed. */
static void
worker_refresh_logs(struct worker *w)
{
	struct flusher *fl = w->fl;
	PGresult   *res;
	static struct log_limit lim;

	res = PQexec(w->conn, "SELECT name::text FROM eventlog.logs ORDER BY 1");
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
	{
		int			n = PQntuples(res),
					i,
					same;
		char	  **names = calloc((size_t) n + 1, sizeof(char *));

		if (names)
		{
			for (i = 0; i < n; i++)
				if ((names[i] = strdup(PQgetvalue(res, i, 0))) == NULL)
					break;
			if (i == n)
			{
				pthread_mutex_lock(&fl->mu);
				same = fl->logs && fl->nlogs == (size_t) n;
				for (i = 0; same && i < n; i++)
					same = strcmp(names[i], fl->logs[i]) == 0;
				if (!same)
				{
					char	  **old = fl->logs;

					fl->logs = names;
					fl->nlogs = (size_t) n;
					fl->logs_version++;
					names = old;	/* NULL-terminated too */
				}
				pthread_mutex_unlock(&fl->mu);
				if (!same && fl->on_progress)
					fl->on_progress(fl->arg);
			}
			for (i = 0; names && names[i]; i++)
				free(names[i]);
			free(names);
		}
		log_recovered(&lim, SUB, "reading eventlog.logs works again");
	}
	else
	{
		const char *m = PQresultErrorMessage(res);

		log_limited(&lim, 60000, LOGL_WARNING, SUB, "cannot read eventlog.logs: %.*s", (int) strcspn(m, "\n"), m);
	}
	PQclear(res);
}

/*
 * Read the spool into w->batch until it should be cut. Returns 1 when a batch is
 * ready, 0 after waiting with nothing to send (so periodic work can run).
 */
static int
worker_fill(struct worker *w)
{
	struct flusher *fl = w->fl;
	struct batch *b = &w->batch;

	for (;;)
	{
		struct record_view rec;
		struct spool_pos after;
		struct event ev;
		const char *log;
		size_t		loglen;
		int			r = spool_reader_next(w->reader, &rec, &after);
		int64_t		now;

		if (r == EV_OK)
		{
			if (event_decode(rec.payload, rec.length, &ev, &log, &loglen) != EV_OK)
			{
				static struct log_limit lim;

				log_limited(&lim, 30000, LOGL_ERROR, SUB, "[%d] undecodable event at seq %" PRIu64 " (segment %" PRIu64
							" offset %" PRIu64 "); the lane stops here", w->id, rec.seq, w->scan_pos.seg, w->scan_pos.off);
				spool_reader_seek(w->reader, &w->scan_pos);
				flusher_sleep(fl, 1000);
				return 0;
			}
			if (batch_worker_of(ev.lane, fl->nworkers) == w->id && ev.lane < EV_LANES)
			{
				struct wlog *l = wlog_get(w, log, loglen);

				if (l == NULL)
				{
					spool_reader_seek(w->reader, &w->scan_pos);
					flusher_sleep(fl, 100);
					return 0;
				}
				if (l->paused)
					;			/* the catch-up pass sends it */
				else if ((int64_t) rec.seq <= l->ledger[ev.lane])
					stats_add(&ev_stats.skipped_replayed_events_total, 1);
				else if (batch_add(b, rec.seq, ev.lane, &w->scan_pos, rec.payload, rec.length, now_ms()) != EV_OK)
				{
					spool_reader_seek(w->reader, &w->scan_pos);
					return b->n > 0;
				}
			}
			w->scan_pos = after;
			w->scan_seq = rec.seq;
			if (b->n == 0)
			{
				w->done_pos = after;
				w->done_seq_local = rec.seq;
			}
			if (batch_should_cut(b, w->set.batch_max_events, w->set.batch_max_ms, 1, now_ms()))
				return 1;
			continue;
		}
		if (r != EV_RETRY)
		{
			flusher_sleep(fl, 1000);
			return 0;
		}
		now = now_ms();
		if (batch_should_cut(b, w->set.batch_max_events, w->set.batch_max_ms, 0, now))
			return 1;
		worker_publish(w);
		if (stopping(fl) && b->n == 0)
			return 0;
		{
			int64_t		left = batch_time_left(b, w->set.batch_max_ms, now);

			spool_wait_synced(fl->sp, w->scan_seq, left < 0 || left > 500 ? 500 : left);
			if (left < 0 && spool_synced_seq(fl->sp) <= w->scan_seq)
				return 0;
		}
	}
}

/* Retry paused logs that are due: send their records from resume_pos up to scan_pos. */
static enum pg_error_class
worker_catch_up(struct worker *w)
{
	struct wlog *l;
	struct batch *b = &w->cbatch;

	for (l = w->logs; l; l = l->next)
	{
		if (!l->paused || now_ms() < l->next_retry_ms)
			continue;
		spool_reader_seek(w->catchup, &l->resume_pos);
		for (;;)
		{
			struct spool_pos before = l->resume_pos,
						after;
			struct record_view rec;
			enum pg_error_class cls;
			uint64_t	pauses;

			batch_clear(b);
			while (pos_cmp(&before, &w->scan_pos) < 0 && (int64_t) b->n < w->set.batch_max_events)
			{
				struct event ev;
				const char *log;
				size_t		loglen;

				if (spool_reader_next(w->catchup, &rec, &after) != EV_OK)
					break;
				if (event_decode(rec.payload, rec.length, &ev, &log, &loglen) == EV_OK &&
					batch_worker_of(ev.lane, w->fl->nworkers) == w->id && ev.lane < EV_LANES &&
					loglen == l->len && memcmp(log, l->name, loglen) == 0 &&
					(int64_t) rec.seq > l->ledger[ev.lane])
				{
					if (batch_add(b, rec.seq, ev.lane, &before, rec.payload, rec.length, now_ms()) != EV_OK)
						break;
				}
				before = after;
			}
			if (b->n == 0)
			{
				l->paused = 0;
				__atomic_sub_fetch(&ev_stats.paused_logs, 1, __ATOMIC_RELAXED);
				log_info(SUB, "[%d] log %s resumed", w->id, l->name);
				break;
			}
			pauses = l->pauses;
			cls = worker_flush(w, b, l);
			if (cls == PGERR_TRANSIENT)
				return cls;
			if (l->pauses != pauses)
				break;			/* still failing: worker_pause set the next retry */
			l->resume_pos = before;
			l->resume_seq = b->items[b->n - 1].seq + 1;
		}
		worker_publish(w);
	}
	return PGERR_NONE;
}

/* A flush connection's thread. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct flusher *fl = w->fl;

	while (!stopping(fl))
	{
		enum pg_error_class cls;

		pthread_mutex_lock(&fl->mu);
		w->set = fl->set;
		pthread_mutex_unlock(&fl->mu);
		backoff_set_max(&w->backoff, w->set.retry_max_delay_ms);
		if (w->conn == NULL)
		{
			if (worker_connect(w, &cls) != EV_OK)
			{
				flusher_sleep(fl, cls == PGERR_CONFIG ? w->set.pause_retry_ms : backoff_next(&w->backoff));
				continue;
			}
			spool_reader_seek(w->reader, &w->done_pos);
			w->scan_pos = w->done_pos;
			w->scan_seq = w->done_seq_local;
			batch_clear(&w->batch);
			w->next_logs_refresh_ms = 0;
		}
		if (w->id == 0 && now_ms() >= w->next_logs_refresh_ms)
		{
			worker_refresh_logs(w);
			w->next_logs_refresh_ms = now_ms() + w->set.logs_refresh_ms;
		}
		if (worker_catch_up(w) == PGERR_TRANSIENT)
			goto transient;
		if (!worker_fill(w))
			continue;
		if (worker_flush(w, &w->batch, NULL) == PGERR_TRANSIENT)
			goto transient;
		batch_clear(&w->batch);
		w->done_pos = w->scan_pos;
		w->done_seq_local = w->scan_seq;
		worker_publish(w);
		backoff_reset(&w->backoff);
		continue;
transient:
		/* rescan from the last known-done position; the ledger settles what did commit */
		stats_add(&ev_stats.retries_total, 1);
		worker_disconnect(w);
		batch_clear(&w->batch);
		flusher_sleep(fl, backoff_next(&w->backoff));
	}
	worker_disconnect(w);
	return NULL;
}

/* Create the flusher. */
int
flusher_new(const char *dsn, int nworkers, struct spool *sp, const struct flusher_settings *set,
			void (*on_progress) (void *), void *arg, struct flusher **out)
{
	struct flusher *fl = calloc(1, sizeof(*fl));
	int			i;

	*out = NULL;
	if (fl == NULL)
		return EV_ERROR;
	pthread_mutex_init(&fl->mu, NULL);
	monotime_cond_init(&fl->cond);
	fl->dsn = strdup(dsn);
	fl->sp = sp;
	fl->nworkers = nworkers;
	fl->set = *set;
	fl->on_progress = on_progress;
	fl->arg = arg;
	snprintf(fl->source, sizeof(fl->source), "eventlogd:%s", spool_id(sp));
	fl->workers = calloc((size_t) nworkers, sizeof(*fl->workers));
	if (fl->dsn == NULL || fl->workers == NULL)
		goto fail;
	for (i = 0; i < nworkers; i++)
	{
		struct worker *w = &fl->workers[i];

		w->fl = fl;
		w->id = i;
		w->set = *set;
		batch_init(&w->batch);
		batch_init(&w->cbatch);
		buf_init(&w->copybuf);
		buf_init(&w->tmp);
		backoff_init(&w->backoff, 100, set->retry_max_delay_ms, (uint64_t) timestamp_now_us() * (uint64_t) (i + 7));
		if (spool_reader_new(sp, &w->reader) != EV_OK || spool_reader_new(sp, &w->catchup) != EV_OK)
			goto fail;
		spool_first_pos(sp, &w->done_pos);
		w->scan_pos = w->done_pos;

		/*
		 * Issue 7 (found by test/faults): every seq below the oldest segment is settled
		 * (segments are deleted only once committed). Starting from 0 instead left the
		 * watermark below spool_written_seq() after a restart on an empty spool, until
		 * a new event came: /v1/flush answered 504 and SIGTERM waited drain_timeout.
		 */
		w->done_seq_local = spool_first_seq(sp) - 1;
		w->done_seq = w->done_seq_local;
	}
	*out = fl;
	return EV_OK;
fail:
	flusher_free(fl);
	return EV_ERROR;
}

/* Start the threads. */
int
flusher_start(struct flusher *fl)
{
	int			i;

	for (i = 0; i < fl->nworkers; i++)
	{
		if (pthread_create(&fl->workers[i].thread, NULL, worker_main, &fl->workers[i]) != 0)
			return EV_ERROR;
		fl->workers[i].started = 1;
	}
	return EV_OK;
}

/* Stop the threads. */
void
flusher_stop(struct flusher *fl)
{
	int			i;

	pthread_mutex_lock(&fl->mu);
	__atomic_store_n(&fl->stop, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&fl->cond);
	pthread_mutex_unlock(&fl->mu);
	spool_wake_all(fl->sp);
	for (i = 0; i < fl->nworkers; i++)
		if (fl->workers[i].started)
		{
			pthread_join(fl->workers[i].thread, NULL);
			fl->workers[i].started = 0;
		}
}

/* Free everything. */
void
flusher_free(struct flusher *fl)
{
	int			i;
	size_t		k;

	if (fl == NULL)
		return;
	flusher_stop(fl);
	for (i = 0; fl->workers && i < fl->nworkers; i++)
	{
		struct worker *w = &fl->workers[i];

		while (w->logs)
		{
			struct wlog *l = w->logs;

			w->logs = l->next;
			free(l->name);
			free(l);
		}
		spool_reader_free(w->reader);
		spool_reader_free(w->catchup);
		batch_free(&w->batch);
		batch_free(&w->cbatch);
		buf_free(&w->copybuf);
		buf_free(&w->tmp);
	}
	for (k = 0; k < fl->nlogs; k++)
		free(fl->logs[k]);
	free(fl->logs);
	free(fl->workers);
	free(fl->dsn);
	pthread_mutex_destroy(&fl->mu);
	pthread_cond_destroy(&fl->cond);
	free(fl);
}

/* Apply reloaded settings. */
void
flusher_update_settings(struct flusher *fl, const struct flusher_settings *set)
{
	pthread_mutex_lock(&fl->mu);
	fl->set = *set;
	pthread_mutex_unlock(&fl->mu);
}

/* The committed watermark. */
uint64_t
flusher_committed_seq(struct flusher *fl)
{
	uint64_t	m = UINT64_MAX;
	int			i;

	for (i = 0; i < fl->nworkers; i++)
	{
		uint64_t	d = __atomic_load_n(&fl->workers[i].done_seq, __ATOMIC_ACQUIRE);

		if (d < m)
			m = d;
	}
	return m == UINT64_MAX ? 0 : m;
}

/* Copy of the list of logs. */
int
flusher_logs_snapshot(struct flusher *fl, uint64_t *version, char ***names, size_t *n)
{
	int			rc = EV_RETRY;
	size_t		i;

	*names = NULL;
	*n = 0;
	pthread_mutex_lock(&fl->mu);
	if (fl->logs && fl->logs_version != *version)
	{
		*names = calloc(fl->nlogs + 1, sizeof(char *));
		if (*names == NULL)
			rc = EV_ERROR;
		else
		{
			for (i = 0; i < fl->nlogs; i++)
				(*names)[i] = fl->logs[i] ? strdup(fl->logs[i]) : NULL;
			*n = fl->nlogs;
			*version = fl->logs_version;
			rc = EV_OK;
		}
	}
	pthread_mutex_unlock(&fl->mu);
	return rc;
}

/* Number of connections up. */
int
flusher_connected(struct flusher *fl)
{
	EV_UNUSED(fl);
	return (int) stats_get(&ev_stats.pg_connected);
}
