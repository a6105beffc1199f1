/* Dedup of client event_ids: a bounded in-memory index over a window, rebuilt from a journal. */
#ifndef EV_DEDUP_H
#define EV_DEDUP_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "ev.h"

#define DEDUP_JOURNAL_ENTRY 32	/* 16 id + u32 log hash + u32 unix seconds + u64 spool seq */

struct dedup;

/* Index of at most max_entries ids, each remembered for window_ms. Caller frees. */
int			dedup_new(size_t max_entries, int64_t window_ms, struct dedup **out) EV_MUST_USE;
void		dedup_free(struct dedup *d);
void		dedup_set_window(struct dedup *d, int64_t window_ms);
/* Hash of a log name (part of the key: the same id in two logs is two events). */
uint32_t	dedup_log_hash(const char *log, size_t len);
/*
 * 64-bit hash of (log, id) with every input bit mixed into every output bit: ids can
 * differ only in a counter's last byte, so a table must not hash a few bytes of them.
 */
uint64_t	dedup_id_hash(uint32_t loghash, const unsigned char id[16]);
/* Is (log, id) remembered and younger than the window? */
int			dedup_contains(struct dedup *d, uint32_t loghash, const unsigned char id[16], int64_t now_s);
/* Remember (log, id) at now_s; the oldest entry goes when full. */
void		dedup_insert(struct dedup *d, uint32_t loghash, const unsigned char id[16], int64_t now_s);
/* Forget entries older than the window. */
void		dedup_expire(struct dedup *d, int64_t now_s);
/* Entries held, and the age in seconds of the oldest (the window actually in force). */
size_t		dedup_count(struct dedup *d);
int64_t		dedup_oldest_age(struct dedup *d, int64_t now_s);
/* Append one journal entry to j. */
int			dedup_journal_add(struct buf *j, uint32_t loghash, const unsigned char id[16], int64_t now_s,
							  uint64_t seq) EV_MUST_USE;
/*
 * Before loading the journal: the clock (to skip expired entries) and the last seq the
 * spool recovered; entries of higher seqs belong to records lost in a torn tail (the
 * journal page reached the disk first) and are not loaded, so a retry of such an event
 * is stored, not dropped as a duplicate.
 */
void		dedup_load_prepare(struct dedup *d, int64_t now_s, uint64_t last_seq);
/* Load journal records (spool_journal_load callback); arg is the struct dedup. */
void		dedup_journal_load_cb(const unsigned char *data, size_t len, void *arg);

struct spool;

/*
 * After the journal: remember the client-given ids of every record still in the spool
 * that the index does not hold. The journal is synced only before the segments whose
 * ids it holds are deleted, so after a power loss its tail may miss ids whose records
 * survived; they come from the records. *added counts them. EV_CORRUPT if a record in
 * the spool is bad (the ids before it are loaded).
 */
int			dedup_load_spool(struct dedup *d, struct spool *sp, int64_t now_s, size_t *added) EV_MUST_USE;

#endif
