/* Append-only spool: segment files, append, group-commit sync thread, crash recovery. */
#ifndef EV_SPOOL_H
#define EV_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "ev.h"
#include "record.h"

enum spool_error {
	SPOOL_ERR_NONE = 0,
	SPOOL_ERR_IO,				/* open/read/write/rename failed; see last_errno */
	SPOOL_ERR_LOCKED,			/* another eventlogd holds the spool lock */
	SPOOL_ERR_BAD_RECORD,		/* a record failed its checks while reading */
	SPOOL_ERR_TOO_BIG,			/* record payload over RECORD_MAX_PAYLOAD */
	SPOOL_ERR_NOMEM
};

/* Position of the next record to read: segment number and byte offset in it. */
struct spool_pos {
	uint64_t	seg;
	uint64_t	off;
};

/* Counters for /metrics and the stats line (a consistent snapshot). */
struct spool_stats {
	uint64_t	bytes;			/* all segment files */
	uint64_t	segments;
	uint64_t	written_seq;	/* last seq written */
	uint64_t	synced_seq;		/* last seq durable */
	uint64_t	syncs;			/* fdatasync rounds */
	uint64_t	journal_syncs;	/* fdatasyncs of the dedup journal (before segment deletion) */
	uint64_t	quarantined;	/* segments moved to quarantine/ since start */
	uint64_t	truncations;	/* torn tails cut since start */
};

struct spool;
struct spool_reader;

/*
 * Open (creating if needed) the spool in dir: take the lock, read or create the
 * spool id, recover every segment. err gets a message. Caller closes.
 */
int			spool_open(const char *dir, uint64_t segment_bytes, struct spool **out, struct buf *err) EV_MUST_USE;
/* Start the group-commit thread; on_synced(arg) runs in it after each durable round. */
int			spool_start(struct spool *sp, void (*on_synced) (void *), void *arg) EV_MUST_USE;
/* Stop the sync thread (after a last sync), close every file, release the lock. */
void		spool_close(struct spool *sp);
/* The spool's identity (uuid text, borrowed), stable for the life of the directory. */
const char *spool_id(const struct spool *sp);
/* Size at which a new segment starts (applies at the next rotation). */
void		spool_set_segment_bytes(struct spool *sp, uint64_t bytes);
/* Reason of the last EV_ERROR / EV_CORRUPT, and errno for SPOOL_ERR_IO. */
enum spool_error spool_last_error(const struct spool *sp, int *errnum);

/* Writer side (one thread only). A batch is staged with add, then written at once. */
void		spool_batch_begin(struct spool *sp);
/* Stage one record; *seq receives its sequence number. */
int			spool_batch_add(struct spool *sp, const void *payload, size_t len, uint64_t *seq) EV_MUST_USE;
/*
 * write() the staged records (and journal bytes, if any, first) and wake the sync
 * thread. On EV_ERROR nothing of the batch stays on disk and the seqs are reused.
 */
int			spool_batch_write(struct spool *sp, const void *journal, size_t jlen, int64_t now_s) EV_MUST_USE;
/* Staging several requests in one batch: a mark, and dropping what came after it. */
void		spool_batch_mark(const struct spool *sp, size_t *bytes, uint64_t *count);
void		spool_batch_rollback(struct spool *sp, size_t bytes, uint64_t count);
size_t		spool_batch_bytes(const struct spool *sp);
/* Seq of the last record staged (or written, when nothing is staged). Writer only. */
uint64_t	spool_staged_seq(const struct spool *sp);
/* Last seq that is durable (fdatasync done). */
uint64_t	spool_synced_seq(struct spool *sp);
/* Last seq written. */
uint64_t	spool_written_seq(struct spool *sp);
/* Delete sealed segments whose records are all <= committed_seq; returns bytes freed. */
uint64_t	spool_remove_committed(struct spool *sp, uint64_t committed_seq);
/* Bytes of the segments that still hold records above committed_seq (the back-pressure measure). */
uint64_t	spool_pending_bytes(struct spool *sp, uint64_t committed_seq);
/*
 * Writer: if the active segment is over min_bytes and all committed, start a new one so
 * spool_remove_committed can delete it (an idle spool does not keep a big file).
 */
int			spool_retire_active(struct spool *sp, uint64_t committed_seq, uint64_t min_bytes) EV_MUST_USE;
/* Snapshot of the counters. */
void		spool_get_stats(struct spool *sp, struct spool_stats *st);

/* Reader side (any thread; one reader per thread). Reads only durable records. */
int			spool_reader_new(struct spool *sp, struct spool_reader **out) EV_MUST_USE;
void		spool_reader_free(struct spool_reader *r);
/* Seq of the first record the oldest segment holds (or would hold); every seq below it is settled. */
uint64_t	spool_first_seq(struct spool *sp);
/* Position of the first record of the oldest segment. */
void		spool_first_pos(struct spool *sp, struct spool_pos *pos);
/* Move the reader to pos (a deleted segment means: the next one). */
void		spool_reader_seek(struct spool_reader *r, const struct spool_pos *pos);
/*
 * Next durable record: EV_OK (*rec borrowed until the next call, *after is the
 * position behind it), EV_RETRY (nothing more yet), EV_CORRUPT (a bad record).
 */
int			spool_reader_next(struct spool_reader *r, struct record_view *rec, struct spool_pos *after) EV_MUST_USE;
/* Wait until a seq beyond seen_seq is durable, the timeout passes, or the spool stops. */
void		spool_wait_synced(struct spool *sp, uint64_t seen_seq, int64_t timeout_ms);
/* Wake every waiter (used at shutdown). */
void		spool_wake_all(struct spool *sp);

/* Dedup journal (files under dedup/): load at start, append with batches, prune by age and size. */
typedef void (*spool_journal_cb) (const unsigned char *data, size_t len, void *arg);
/* Call cb for every journal record, oldest first; cuts a torn tail like segments. */
int			spool_journal_load(struct spool *sp, spool_journal_cb cb, void *arg) EV_MUST_USE;
/*
 * Start new journal files every slice_s seconds or keep_bytes / 4 bytes; delete files
 * older than keep_s, and files behind newer ones that hold keep_bytes (0: no size bound).
 */
void		spool_journal_set_policy(struct spool *sp, int64_t slice_s, int64_t keep_s, uint64_t keep_bytes);

/* Dead-letter file (deadletter.ndjson): append one line and fdatasync it. Thread-safe. */
int			spool_deadletter_append(struct spool *sp, const char *line, size_t len) EV_MUST_USE;
/* Small metadata files, replaced atomically (temp, fsync, rename, fsync dir). */
int			spool_meta_write(struct spool *sp, const char *name, const void *data, size_t len) EV_MUST_USE;
/* Read a metadata file into out; EV_RETRY if it does not exist. */
int			spool_meta_read(struct spool *sp, const char *name, struct buf *out) EV_MUST_USE;

#endif
