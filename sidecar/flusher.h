/* Flusher: every PGconn; reads durable batches back from the spool and commits them via COPY. */
#ifndef EV_FLUSHER_H
#define EV_FLUSHER_H

#include <stddef.h>
#include <stdint.h>
#include "ev.h"
#include "spool.h"

struct flusher_settings {
	int64_t		batch_max_events;
	int64_t		batch_max_ms;
	int64_t		copy_format;	/* enum copy_format */
	int64_t		drain_max_events_per_sec;
	int64_t		retry_max_delay_ms;
	int64_t		pause_retry_ms;
	int64_t		logs_refresh_ms;
};

/* How a PostgreSQL error is handled. */
enum pg_error_class {
	PGERR_NONE = 0,
	PGERR_TRANSIENT,			/* connection lost, restart, serialization: retry with backoff */
	PGERR_DATA,					/* the table refuses the data: bisect, dead-letter the bad events */
	PGERR_CONFIG				/* missing table, permission: pause the log, retry slowly */
};

struct flusher;

/*
 * Create the flusher: nworkers connections to dsn, each owning the lanes
 * lane % nworkers == its number. on_progress(arg) is called (from a flusher thread)
 * when the committed position or the list of logs changes. Caller frees.
 */
int			flusher_new(const char *dsn, int nworkers, struct spool *sp, const struct flusher_settings *set,
						void (*on_progress) (void *), void *arg, struct flusher **out) EV_MUST_USE;
/* Start the threads. */
int			flusher_start(struct flusher *fl) EV_MUST_USE;
/* Stop the threads (a transaction in flight finishes or is abandoned; the spool keeps it). */
void		flusher_stop(struct flusher *fl);
void		flusher_free(struct flusher *fl);
/* Apply reloaded settings. */
void		flusher_update_settings(struct flusher *fl, const struct flusher_settings *set);
/* Every record with seq <= this is committed (or dead-lettered) in PostgreSQL. */
uint64_t	flusher_committed_seq(struct flusher *fl);
/*
 * Copy of the list of logs last read from eventlog.logs, if its version differs from
 * *version (which is updated). EV_RETRY: unchanged or never read. Caller frees names.
 */
int			flusher_logs_snapshot(struct flusher *fl, uint64_t *version, char ***names, size_t *n) EV_MUST_USE;
/* Number of flush connections currently up. */
int			flusher_connected(struct flusher *fl);
/* Sort a SQLSTATE (NULL when there is none, e.g. the connection broke). */
enum pg_error_class flusher_classify(const char *sqlstate, int connection_ok);

#endif
