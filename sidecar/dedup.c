/*
 * Dedup of client event_ids: a bounded in-memory index over a window, rebuilt from a journal.
 *
 * Entries live in a ring in arrival order, so expiry and eviction pop the oldest; an
 * open-addressing table (linear probing, backward-shift deletion) maps (log, id) to its
 * ring slot. Memory is fixed at start: about max_entries * 40 bytes. The journal (written
 * by spool.c with the events, synced before the segments holding them are deleted) and
 * the records still in the spool (dedup_load_spool) let the index survive restarts: an
 * event acknowledged before a crash is still a duplicate after it.
 */
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "dedup.h"
#include "event.h"
#include "record.h"
#include "spool.h"

struct dedup_entry {
	unsigned char id[16];
	uint32_t	loghash;
	uint32_t	ts;				/* unix seconds */
};

struct dedup {
	struct dedup_entry *ring;
	size_t		cap;			/* ring capacity = max entries */
	size_t		head;			/* oldest */
	size_t		count;
	uint32_t   *table;			/* ring index + 1; 0 = empty */
	size_t		mask;			/* table size - 1 */
	int64_t		window_s;
	int64_t		load_now_s;		/* "now" while loading the journal */
	uint64_t	load_last_seq;	/* entries above it are not loaded */
};

/* Create the index. */
int
dedup_new(size_t max_entries, int64_t window_ms, struct dedup **out)
{
	struct dedup *d = calloc(1, sizeof(*d));
	size_t		tsize = 1;

	*out = NULL;
	if (d == NULL || max_entries == 0 || max_entries > UINT32_MAX / 4)
		goto fail;
	while (tsize < max_entries * 2)
		tsize <<= 1;
	d->ring = calloc(max_entries, sizeof(*d->ring));
	d->table = calloc(tsize, sizeof(*d->table));
	if (d->ring == NULL || d->table == NULL)
		goto fail;
	d->cap = max_entries;
	d->mask = tsize - 1;
	d->window_s = window_ms / 1000;
	*out = d;
	return EV_OK;
fail:
	if (d)
	{
		free(d->ring);
		free(d->table);
		free(d);
	}
	return EV_ERROR;
}

/* Free the index. */
void
dedup_free(struct dedup *d)
{
	if (d == NULL)
		return;
	free(d->ring);
	free(d->table);
	free(d);
}

/* Change the window (reload). */
void
dedup_set_window(struct dedup *d, int64_t window_ms)
{
	d->window_s = window_ms / 1000;
}

/* Hash of a log name. */
uint32_t
dedup_log_hash(const char *log, size_t len)
{
	return crc32c_update(0, log, len);
}

/* splitmix64 finalizer. */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Hash of (log, id); ids are structured (time, counters): every bit is mixed. */
uint64_t
dedup_id_hash(uint32_t loghash, const unsigned char id[16])
{
	uint64_t	a,
				b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	return mix64(mix64(a ^ ((uint64_t) loghash << 32)) ^ b);
}

/* Table slot to start probing for a key. */
static size_t
key_hash(const struct dedup *d, uint32_t loghash, const unsigned char id[16])
{
	return (size_t) dedup_id_hash(loghash, id) & d->mask;
}

/* Slot of the key in the table, or the empty slot where it would go. */
static size_t
find_slot(const struct dedup *d, uint32_t loghash, const unsigned char id[16], int *found)
{
	size_t		i = key_hash(d, loghash, id);

	for (;;)
	{
		uint32_t	v = d->table[i];

		if (v == 0)
		{
			*found = 0;
			return i;
		}
		if (d->ring[v - 1].loghash == loghash && memcmp(d->ring[v - 1].id, id, 16) == 0)
		{
			*found = 1;
			return i;
		}
		i = (i + 1) & d->mask;
	}
}

/* Remove table slot i, shifting later members of the probe run back. */
static void
table_delete(struct dedup *d, size_t i)
{
	size_t		j = i;

	for (;;)
	{
		uint32_t	v;
		size_t		home;

		j = (j + 1) & d->mask;
		v = d->table[j];
		if (v == 0)
			break;
		home = key_hash(d, d->ring[v - 1].loghash, d->ring[v - 1].id);
		/* can the entry at j move to i? (is i cyclically between home and j?) */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j)))
		{
			d->table[i] = v;
			i = j;
		}
	}
	d->table[i] = 0;
}

/* Drop the oldest entry. */
static void
pop_oldest(struct dedup *d)
{
	struct dedup_entry *e = &d->ring[d->head];
	int			found;
	size_t		slot = find_slot(d, e->loghash, e->id, &found);

	/* the table may point at a newer copy of the same key: leave that one */
	if (found && d->table[slot] - 1 == d->head)
		table_delete(d, slot);
	d->head = (d->head + 1) % d->cap;
	d->count--;
}

/* Is (log, id) remembered? */
int
dedup_contains(struct dedup *d, uint32_t loghash, const unsigned char id[16], int64_t now_s)
{
	int			found;
	size_t		slot;

	if (d->window_s <= 0)
		return 0;
	slot = find_slot(d, loghash, id, &found);
	if (!found)
		return 0;
	return (int64_t) d->ring[d->table[slot] - 1].ts > now_s - d->window_s;
}

/* Remember (log, id). */
void
dedup_insert(struct dedup *d, uint32_t loghash, const unsigned char id[16], int64_t now_s)
{
	int			found;
	size_t		slot,
				pos;

	if (d->window_s <= 0)
		return;
	slot = find_slot(d, loghash, id, &found);
	if (found)
	{
		/* an expired entry of the same key: refresh by re-adding at the tail */
		table_delete(d, slot);
		slot = find_slot(d, loghash, id, &found);
	}
	if (d->count == d->cap)
	{
		pop_oldest(d);
		slot = find_slot(d, loghash, id, &found);
	}
	pos = (d->head + d->count) % d->cap;
	memcpy(d->ring[pos].id, id, 16);
	d->ring[pos].loghash = loghash;
	d->ring[pos].ts = (uint32_t) now_s;
	d->table[slot] = (uint32_t) pos + 1;
	d->count++;
}

/* Forget entries older than the window. */
void
dedup_expire(struct dedup *d, int64_t now_s)
{
	while (d->count > 0 && (int64_t) d->ring[d->head].ts <= now_s - d->window_s)
		pop_oldest(d);
}

/* Entries held. */
size_t
dedup_count(struct dedup *d)
{
	return d->count;
}

/* Age of the oldest entry. */
int64_t
dedup_oldest_age(struct dedup *d, int64_t now_s)
{
	return d->count ? now_s - (int64_t) d->ring[d->head].ts : 0;
}

/* Append one journal entry. */
int
dedup_journal_add(struct buf *j, uint32_t loghash, const unsigned char id[16], int64_t now_s, uint64_t seq)
{
	if (buf_append(j, id, 16) != EV_OK || buf_put_u32le(j, loghash) != EV_OK ||
		buf_put_u32le(j, (uint32_t) now_s) != EV_OK || buf_put_u64le(j, seq) != EV_OK)
		return EV_ERROR;
	return EV_OK;
}

/* Set the clock used while loading. */
void
dedup_load_prepare(struct dedup *d, int64_t now_s, uint64_t last_seq)
{
	d->load_now_s = now_s;
	d->load_last_seq = last_seq;
}

/* Load journal records. */
void
dedup_journal_load_cb(const unsigned char *data, size_t len, void *arg)
{
	struct dedup *d = arg;
	size_t		i;

	for (i = 0; i + DEDUP_JOURNAL_ENTRY <= len; i += DEDUP_JOURNAL_ENTRY)
	{
		uint32_t	ts = get_u32le(data + i + 20);

		if ((int64_t) ts <= d->load_now_s - d->window_s || get_u64le(data + i + 24) > d->load_last_seq)
			continue;
		dedup_insert(d, get_u32le(data + i + 16), data + i, ts);
	}
}

/* Remember the client-given ids of the records still in the spool; see dedup.h. */
int
dedup_load_spool(struct dedup *d, struct spool *sp, int64_t now_s, size_t *added)
{
	struct spool_reader *r;
	struct record_view rec;
	struct spool_pos after;
	int			rc;

	*added = 0;
	if (d->window_s <= 0)
		return EV_OK;
	if (spool_reader_new(sp, &r) != EV_OK)
		return EV_ERROR;
	while ((rc = spool_reader_next(r, &rec, &after)) == EV_OK)
	{
		struct event ev;
		const char *log;
		size_t		loglen;
		int64_t		ts;
		uint32_t	loghash;

		/* a record that does not decode is the flusher's to dead-letter, not ours */
		if (event_decode(rec.payload, rec.length, &ev, &log, &loglen) != EV_OK || !ev.id_given)
			continue;
		ts = ev.received_us / 1000000;
		if (ts > now_s)
			ts = now_s;
		if (ts <= now_s - d->window_s)
			continue;
		loghash = dedup_log_hash(log, loglen);
		if (dedup_contains(d, loghash, ev.id, now_s))
			continue;
		dedup_insert(d, loghash, ev.id, ts);
		(*added)++;
	}
	spool_reader_free(r);
	return rc == EV_RETRY ? EV_OK : rc;
}
