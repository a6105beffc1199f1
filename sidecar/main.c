/*
 * eventlogd entry point: start-up, signals, periodic work, drain and shutdown.
 *
 * Threads: the libevent loop (HTTP, admin, signals, timers) runs here; spool.c runs the
 * group-commit thread; flusher.c runs one thread per flush connection. The other threads
 * talk to the loop only through event_active() on sync_ev and progress_ev.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "dedup.h"
#include "record.h"
#include "flusher.h"
#include "http.h"
#include "log.h"
#include "main.h"
#include "ratelimit.h"
#include "spool.h"
#include "stats.h"
#include "timestamp.h"
#include "unixsock.h"

#define SUB "main"

struct daemon {
	struct config cfg;
	struct config_args args;
	struct event_base *base;
	struct spool *sp;
	struct dedup *dd;
	struct ratelimit *rl;
	struct flusher *fl;
	struct http *http;
	struct admin_deps admin;
	struct event *sync_ev;
	struct event *progress_ev;
	struct event *tick_ev;
	struct event *sig_hup;
	struct event *sig_term;
	struct event *sig_int;
	int			draining;
	int64_t		drain_deadline_ms;
	uint64_t	logs_version;
	int64_t		next_stats_ms;
	uint64_t	last_accepted;
	uint64_t	last_committed;
	int64_t		last_stats_ms;
};

/* Print to stderr and exit: for start-up failures only. */
static void
die(const char *fmt,...) EV_PRINTF(1, 2) __attribute__((noreturn));

/* (definition) */
static void
die(const char *fmt,...)
{
	char		m[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	log_error(SUB, "%s", m);
	exit(1);
}

/* Flusher settings from the config. */
static void
settings_from(const struct config *c, struct flusher_settings *s)
{
	s->batch_max_events = c->batch_max_events;
	s->batch_max_ms = c->batch_max_ms;
	s->copy_format = c->copy_format;
	s->drain_max_events_per_sec = c->drain_max_events_per_sec;
	s->retry_max_delay_ms = c->retry_max_delay_ms;
	s->pause_retry_ms = c->pause_retry_ms;
	s->logs_refresh_ms = c->logs_refresh_ms;
}

/* Journal slices: 1/24 of the window (at least a minute), kept for the window. */
static void
apply_journal_policy(struct daemon *d)
{
	int64_t		win = d->cfg.dedup_window_ms / 1000;
	int64_t		slice = win / 24 > 60 ? win / 24 : 60;

	/* an entry is 32 bytes, plus a record header of 20 per batch at worst */
	spool_journal_set_policy(d->sp, slice, win + slice,
							 (uint64_t) d->cfg.dedup_max_entries * (DEDUP_JOURNAL_ENTRY + RECORD_HEADER_SIZE));
}

/* Called by the sync thread. */
static void
on_synced(void *arg)
{
	struct daemon *d = arg;

	event_active(d->sync_ev, EV_READ, 0);
}

/* Called by flusher threads. */
static void
on_progress(void *arg)
{
	struct daemon *d = arg;

	event_active(d->progress_ev, EV_READ, 0);
}

/* In the loop: requests whose records are durable get their 202. */
static void
sync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	EV_UNUSED(fd);
	EV_UNUSED(what);
	http_on_synced(d->http);
}

/* Save the list of logs so that a restart while PostgreSQL is down still knows them. */
static void
save_logs_cache(struct daemon *d, char **names, size_t n)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	for (i = 0; i < n; i++)
		if (buf_printf(&b, "%s\n", names[i]) != EV_OK)
			goto done;
	if (spool_meta_write(d->sp, "logs.cache", b.data ? b.data : "", b.len) != EV_OK)
		log_warning(SUB, "cannot write logs.cache: %s", strerror(errno));
done:
	buf_free(&b);
}

/* Load logs.cache (if any) into the HTTP layer. */
static void
load_logs_cache(struct daemon *d)
{
	struct buf	b;
	char	  **names = NULL;
	size_t		n = 0,
				cap = 0;
	char	   *p,
			   *nl;

	buf_init(&b);
	if (spool_meta_read(d->sp, "logs.cache", &b) != EV_OK || buf_cstr(&b) != EV_OK)
		goto done;
	for (p = b.data; *p; p = nl + 1)
	{
		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		if (n + 1 >= cap)
		{
			char	  **t;

			cap = cap ? cap * 2 : 16;
			t = realloc(names, cap * sizeof(char *));
			if (t == NULL)
				goto done;
			names = t;
		}
		names[n] = strdup(p);
		if (names[n] == NULL)
			goto done;
		names[++n] = NULL;
	}
	if (names == NULL)
	{
		names = calloc(1, sizeof(char *));
		if (names == NULL)
			goto done;
	}
	log_info(SUB, "loaded %zu log names from logs.cache (refreshed from PostgreSQL when it answers)", n);
	http_set_logs(d->http, names, n);
	names = NULL;
done:
	if (names)
	{
		size_t		i;

		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	buf_free(&b);
}

/* In the loop: commits moved on, or the list of logs changed. */
static void
progress_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char	  **names;
	size_t		n;

	EV_UNUSED(fd);
	EV_UNUSED(what);
	http_on_committed(d->http);
	if (flusher_logs_snapshot(d->fl, &d->logs_version, &names, &n) == EV_OK)
	{
		log_info(SUB, "%zu logs known from eventlog.logs", n);
		save_logs_cache(d, names, n);
		http_set_logs(d->http, names, n);
	}
}

/* The periodic stats line. */
static void
stats_line(struct daemon *d, int64_t now)
{
	struct spool_stats ss;
	uint64_t	acc = stats_get(&ev_stats.accepted_events_total);
	uint64_t	com = stats_get(&ev_stats.committed_events_total);
	uint64_t	committed = flusher_committed_seq(d->fl);
	double		secs = d->last_stats_ms ? (double) (now - d->last_stats_ms) / 1000.0 : 0;

	spool_get_stats(d->sp, &ss);
	if (secs > 0)
		log_info("stats", "%.0f events/s accepted, %.0f events/s committed, %" PRIu64 " pending, spool %" PRIu64
				 " bytes in %" PRIu64 " segments, %" PRIu64 " duplicates, %" PRIu64 " dead letters, %d/%lld connections",
				 (double) (acc - d->last_accepted) / secs, (double) (com - d->last_committed) / secs,
				 ss.written_seq > committed ? ss.written_seq - committed : 0, ss.bytes, ss.segments,
				 stats_get(&ev_stats.duplicate_events_total), stats_get(&ev_stats.dead_letter_events_total),
				 flusher_connected(d->fl), (long long) d->cfg.flush_connections);
	d->last_accepted = acc;
	d->last_committed = com;
	d->last_stats_ms = now;
}

/* Once a second: timeouts, watermarks, segment deletion, stats line, drain check. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	int64_t		now = log_now_ms();
	uint64_t	committed = flusher_committed_seq(d->fl);
	uint64_t	written = spool_written_seq(d->sp);

	EV_UNUSED(fd);
	EV_UNUSED(what);
	http_tick(d->http);
	dedup_expire(d->dd, timestamp_now_us() / 1000000);
	if (spool_retire_active(d->sp, committed, 1024 * 1024) != EV_OK)
		log_warning(SUB, "cannot start a new segment: %s", strerror(errno));
	spool_remove_committed(d->sp, committed);
	stats_age_sample(written, now);
	if (d->cfg.stats_period_ms > 0 && now >= d->next_stats_ms)
	{
		stats_line(d, now);
		d->next_stats_ms = now + d->cfg.stats_period_ms;
	}
	if (d->draining)
	{
		struct http_state st;

		http_get_state(d->http, &st);
		if (committed >= written && st.waiting_sync == 0 && st.waiting_commit == 0)
		{
			log_info(SUB, "drained: every accepted event is committed; exiting");
			event_base_loopexit(d->base, NULL);
		}
		else if (d->drain_deadline_ms && now >= d->drain_deadline_ms)
		{
			log_warning(SUB, "drain_timeout reached with %" PRIu64 " events not committed; they stay in the "
						"spool and are sent at the next start", written > committed ? written - committed : 0);
			event_base_loopexit(d->base, NULL);
		}
	}
}

/* SIGHUP: reload inside the event loop. */
static void
sighup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct config next;
	struct buf	err,
				notes;
	struct flusher_settings s;

	EV_UNUSED(fd);
	EV_UNUSED(what);
	buf_init(&err);
	buf_init(&notes);
	if (config_load(&next, &d->args, &err) != EV_OK)
	{
		log_error("config", "reload failed: %s; keeping the old configuration", err.data ? err.data : "out of memory");
		goto done;
	}
	if (config_apply_reload(&d->cfg, &next, &notes) != EV_OK)
		log_error("config", "reload failed: out of memory; some options may keep old values");
	config_free(&next);
	if (d->cfg.logfile[0] && log_open_file(d->cfg.logfile) != EV_OK)
		log_error("config", "cannot reopen logfile %s: %s", d->cfg.logfile, strerror(errno));
	log_set_verbose((int) d->cfg.verbose);
	ratelimit_configure(d->rl, d->cfg.rate_limit, d->cfg.rate_limit_burst);
	dedup_set_window(d->dd, d->cfg.dedup_window_ms);
	spool_set_segment_bytes(d->sp, (uint64_t) d->cfg.spool_segment_bytes);
	apply_journal_policy(d);
	settings_from(&d->cfg, &s);
	flusher_update_settings(d->fl, &s);
	http_reload(d->http);
	log_info("config", "reloaded %s: %s", d->cfg.path ? d->cfg.path : "(flags only)",
			 notes.len ? notes.data : "no changes");
done:
	buf_free(&err);
	buf_free(&notes);
}

/* SIGTERM: stop accepting, drain, exit 0. A second SIGTERM exits at once. */
static void
sigterm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	EV_UNUSED(fd);
	EV_UNUSED(what);
	if (d->draining)
	{
		log_info(SUB, "second SIGTERM: exiting now; unsent events stay in the spool");
		event_base_loopexit(d->base, NULL);
		return;
	}
	d->draining = 1;
	d->drain_deadline_ms = d->cfg.drain_timeout_ms ? log_now_ms() + d->cfg.drain_timeout_ms : 0;
	log_info(SUB, "SIGTERM: no new connections; draining the spool into PostgreSQL");
	http_set_draining(d->http);
	http_stop_listening(d->http);
	unixsock_unlink(d->cfg.unix_socket);
}

/* SIGINT: exit at once (nothing acknowledged is lost: it is in the spool). */
static void
sigint_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	EV_UNUSED(fd);
	EV_UNUSED(what);
	log_info(SUB, "SIGINT: exiting without draining; unsent events stay in the spool");
	event_base_loopexit(d->base, NULL);
}

/* Write the pid file. */
static void
write_pidfile(const char *path)
{
	FILE	   *f = fopen(path, "w");

	if (f == NULL || fprintf(f, "%d\n", (int) getpid()) < 0 || fclose(f) != 0)
		die("cannot write pidfile %s: %s", path, strerror(errno));
}

/* Start-up, the event loop, shutdown. */
int
main(int argc, char **argv)
{
	struct daemon d;
	struct buf	err;
	struct flusher_settings fs;
	struct http_deps hd;
	struct timeval one_sec = {1, 0};
	int			unix_fd = -1;

	memset(&d, 0, sizeof(d));
	buf_init(&err);
	/* a SIGHUP during start-up (journal load can take seconds) must not kill the daemon */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (config_args_parse(&d.args, argc, argv, &err) != EV_OK)
	{
		fprintf(stderr, "eventlogd: %s\n", err.data ? err.data : "out of memory");
		return 2;
	}
	if (d.args.help)
	{
		config_print_help(stdout);
		return 0;
	}
	if (d.args.version)
	{
		printf("eventlogd %s\n", EV_VERSION);
		return 0;
	}
	if (config_load(&d.cfg, &d.args, &err) != EV_OK)
	{
		fprintf(stderr, "eventlogd: %s\n", err.data ? err.data : "out of memory");
		return 2;
	}
	if (d.args.check)
	{
		struct buf	dump;

		buf_init(&dump);
		if (config_dump(&d.cfg, &dump) == EV_OK)
			fwrite(dump.data, 1, dump.len, stdout);
		buf_free(&dump);
		config_free(&d.cfg);
		config_args_free(&d.args);
		return 0;
	}
	log_set_verbose((int) d.cfg.verbose);
	if (d.cfg.logfile[0] && log_open_file(d.cfg.logfile) != EV_OK)
		die("cannot open logfile %s: %s", d.cfg.logfile, strerror(errno));
	stats_init();
	if (evthread_use_pthreads() != 0)
		die("libevent has no pthreads support");
	d.base = event_base_new();
	if (d.base == NULL)
		die("cannot create the event loop");

	/* the spool first: a second daemon on the same directory stops here */
	if (spool_open(d.cfg.spool_dir, (uint64_t) d.cfg.spool_segment_bytes, &d.sp, &err) != EV_OK)
		die("%s", err.data ? err.data : "cannot open the spool");
	if (dedup_new((size_t) d.cfg.dedup_max_entries, d.cfg.dedup_window_ms, &d.dd) != EV_OK)
		die("cannot allocate the dedup index (dedup_max_entries = %lld)", (long long) d.cfg.dedup_max_entries);
	dedup_load_prepare(d.dd, timestamp_now_us() / 1000000, spool_written_seq(d.sp));
	if (spool_journal_load(d.sp, dedup_journal_load_cb, d.dd) != EV_OK)
		die("cannot read the dedup journal in %s/dedup: %s", d.cfg.spool_dir, strerror(errno));
	{
		size_t		added;
		int			rc = dedup_load_spool(d.dd, d.sp, timestamp_now_us() / 1000000, &added);

		if (rc == EV_ERROR)
			die("cannot read the spool in %s to rebuild the dedup index: %s", d.cfg.spool_dir, strerror(errno));
		if (rc == EV_CORRUPT)
			log_warning(SUB, "a bad record in the spool stopped the dedup rebuild; ids after it are not remembered");
		if (added > 0)
			log_info(SUB, "dedup: %zu ids taken from the spool's records that the journal did not hold", added);
	}
	apply_journal_policy(&d);
	if (ratelimit_new(&d.rl) != EV_OK)
		die("out of memory");
	ratelimit_configure(d.rl, d.cfg.rate_limit, d.cfg.rate_limit_burst);
	settings_from(&d.cfg, &fs);
	if (flusher_new(d.cfg.dsn, (int) d.cfg.flush_connections, d.sp, &fs, on_progress, &d, &d.fl) != EV_OK)
		die("cannot create the flusher");
	hd.cfg = &d.cfg;
	hd.sp = d.sp;
	hd.dd = d.dd;
	hd.rl = d.rl;
	hd.fl = d.fl;
	if (http_new(d.base, &hd, &d.http) != EV_OK)
		die("cannot create the HTTP server");
	load_logs_cache(&d);
	d.admin.cfg = &d.cfg;
	d.admin.sp = d.sp;
	d.admin.dd = d.dd;
	d.admin.rl = d.rl;
	d.admin.fl = d.fl;
	d.admin.http = d.http;
	d.admin.start_unix_s = timestamp_now_us() / 1000000;
	http_set_admin(d.http, admin_handle, &d.admin);
	if (d.cfg.listen[0])
	{
		char		host[256];
		int			port;

		if (config_split_listen(d.cfg.listen, host, sizeof(host), &port) != EV_OK ||
			http_listen_tcp(d.http, host, port) != EV_OK)
			die("cannot listen on %s: %s", d.cfg.listen, strerror(errno));
		log_info(SUB, "listening on http://%s", d.cfg.listen);
	}
	if (d.cfg.unix_socket[0])
	{
		unix_fd = unixsock_listen(d.cfg.unix_socket, (int) d.cfg.unix_socket_mode, &err);
		if (unix_fd < 0 || http_accept_fd(d.http, unix_fd) != EV_OK)
			die("%s", err.data ? err.data : "cannot serve the unix socket");
		log_info(SUB, "listening on unix socket %s (HTTP)", d.cfg.unix_socket);
	}
	if (d.cfg.pidfile[0])
		write_pidfile(d.cfg.pidfile);

	d.sync_ev = event_new(d.base, -1, 0, sync_cb, &d);
	d.progress_ev = event_new(d.base, -1, 0, progress_cb, &d);
	d.tick_ev = event_new(d.base, -1, EV_PERSIST, tick_cb, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, sighup_cb, &d);
	d.sig_term = evsignal_new(d.base, SIGTERM, sigterm_cb, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, sigint_cb, &d);
	if (!d.sync_ev || !d.progress_ev || !d.tick_ev || !d.sig_hup || !d.sig_term || !d.sig_int ||
		event_add(d.tick_ev, &one_sec) != 0 || event_add(d.sig_hup, NULL) != 0 ||
		event_add(d.sig_term, NULL) != 0 || event_add(d.sig_int, NULL) != 0)
		die("cannot set up events");
	if (spool_start(d.sp, on_synced, &d) != EV_OK)
		die("cannot start the spool sync thread");
	if (flusher_start(d.fl) != EV_OK)
		die("cannot start the flush threads");
	d.next_stats_ms = log_now_ms() + d.cfg.stats_period_ms;
	d.last_stats_ms = log_now_ms();
	log_info(SUB, "eventlogd %s started: durability %s, %lld flush connections, spool %s",
			 EV_VERSION, d.cfg.durability == DURABILITY_FSYNC ? "fsync" : "none",
			 (long long) d.cfg.flush_connections, d.cfg.spool_dir);

	event_base_dispatch(d.base);

	/* shutdown: threads first, then the objects they use */
	flusher_stop(d.fl);
	http_free(d.http);
	unixsock_unlink(d.cfg.unix_socket);
	flusher_free(d.fl);
	spool_close(d.sp);
	dedup_free(d.dd);
	ratelimit_free(d.rl);
	event_free(d.sync_ev);
	event_free(d.progress_ev);
	event_free(d.tick_ev);
	event_free(d.sig_hup);
	event_free(d.sig_term);
	event_free(d.sig_int);
	event_base_free(d.base);
	if (d.cfg.pidfile[0])
		unlink(d.cfg.pidfile);
	log_info(SUB, "stopped");
	config_free(&d.cfg);
	config_args_free(&d.args);
	buf_free(&err);
	return 0;
}
