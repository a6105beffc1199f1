/* Tests of spool.c: append and reopen, torn tail, quarantine, deletion, lock, journal. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "log.h"
#include "spool.h"

static char logpath[512];

/* Open the spool in the test dir with log lines captured to a file. */
static struct spool *
open_spool(uint64_t segbytes)
{
	struct spool *sp = NULL;
	struct buf	err;

	snprintf(logpath, sizeof(logpath), "%s/log.txt", test_tmpdir());
	if (log_open_file(logpath) != EV_OK)
		return NULL;
	buf_init(&err);
	if (spool_open(test_tmpdir(), segbytes, &sp, &err) != EV_OK)
	{
		printf("#   spool_open: %s\n", err.data ? err.data : "");
	}
	buf_free(&err);
	return sp;
}

/* Append n records "rec-<seq>" in one batch; returns the first seq. */
static uint64_t
append_n(struct spool *sp, int n)
{
	uint64_t	first = 0,
				seq;
	int			i;

	spool_batch_begin(sp);
	for (i = 0; i < n; i++)
	{
		char		p[32];
		int			len = snprintf(p, sizeof(p), "rec-%d", i);

		if (spool_batch_add(sp, p, (size_t) len, &seq) != EV_OK)
			return 0;
		if (i == 0)
			first = seq;
	}
	if (spool_batch_write(sp, NULL, 0, 0) != EV_OK)
		return 0;
	return first;
}

/* Wait (bounded) until everything written is durable. */
static int
wait_synced(struct spool *sp)
{
	int			i;

	for (i = 0; i < 500; i++)
	{
		if (spool_synced_seq(sp) == spool_written_seq(sp))
			return 1;
		spool_wait_synced(sp, spool_synced_seq(sp), 10);
	}
	return 0;
}

/* Read every durable record; returns count and the last seq. */
static int
read_all(struct spool *sp, uint64_t *first, uint64_t *last)
{
	struct spool_reader *r;
	struct record_view rec;
	struct spool_pos after;
	int			n = 0;

	if (spool_reader_new(sp, &r) != EV_OK)
		return -1;
	while (spool_reader_next(r, &rec, &after) == EV_OK)
	{
		if (n == 0 && first)
			*first = rec.seq;
		if (last)
			*last = rec.seq;
		n++;
	}
	spool_reader_free(r);
	return n;
}

/* Does the log file contain s? */
static int
log_contains(const char *s)
{
	char	   *t = test_read_file(logpath, NULL);
	int			found = t && strstr(t, s) != NULL;

	free(t);
	return found;
}

/* Path of segment id in the test dir. */
static void
seg_path(char *out, size_t cap, uint64_t id)
{
	snprintf(out, cap, "%s/%016llx.seg", test_tmpdir(), (unsigned long long) id);
}

/* Records survive close and reopen; seqs continue. */
static void
test_spool_append_reopen(void)
{
	struct spool *sp = open_spool(1 << 20);
	uint64_t	first = 0,
				last = 0;

	CHECK(sp != NULL);
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	CHECK_INT(append_n(sp, 3), 1);
	CHECK_INT(append_n(sp, 2), 4);
	CHECK(wait_synced(sp));
	CHECK_INT(read_all(sp, &first, &last), 5);
	CHECK_INT(first, 1);
	CHECK_INT(last, 5);
	spool_close(sp);
	sp = open_spool(1 << 20);
	CHECK(sp != NULL);
	CHECK_INT(read_all(sp, &first, &last), 5);
	CHECK_INT(append_n(sp, 1), 6);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* Readers see only what the sync thread made durable. */
static void
test_spool_reader_sees_only_synced(void)
{
	struct spool *sp = open_spool(1 << 20);

	CHECK(sp != NULL);
	CHECK_INT(append_n(sp, 4), 1);
	CHECK_INT(read_all(sp, NULL, NULL), 0);
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	CHECK(wait_synced(sp));
	CHECK_INT(read_all(sp, NULL, NULL), 4);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* A torn tail of the newest segment is cut, with a log line naming file and offset. */
static void
test_spool_torn_tail_truncated(void)
{
	struct spool *sp = open_spool(1 << 20);
	char		path[600];
	struct stat st;
	uint64_t	last = 0;
	char		want[128];

	CHECK(sp != NULL);
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	CHECK_INT(append_n(sp, 3), 1);
	CHECK(wait_synced(sp));
	spool_close(sp);
	seg_path(path, sizeof(path), 1);
	CHECK(stat(path, &st) == 0);
	/* cut the last record in half */
	CHECK(truncate(path, st.st_size - 4) == 0);
	sp = open_spool(1 << 20);
	CHECK(sp != NULL);
	CHECK_INT(read_all(sp, NULL, &last), 2);
	CHECK_INT(last, 2);
	snprintf(want, sizeof(want), "truncating 0000000000000001.seg at offset %lld",
			 (long long) (st.st_size - (20 + 5)));
	CHECK(log_contains(want));
	/* the next append reuses seq 3 (it was never acknowledged) and is readable */
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	CHECK_INT(append_n(sp, 1), 3);
	CHECK(wait_synced(sp));
	CHECK_INT(read_all(sp, NULL, &last), 3);
	spool_close(sp);
	/* garbage (zeros) after the last record is also a torn tail */
	CHECK(stat(path, &st) == 0);
	{
		int			fd = open(path, O_WRONLY | O_APPEND);
		char		z[100] = {0};

		CHECK(fd >= 0);
		CHECK(write(fd, z, sizeof(z)) == (ssize_t) sizeof(z));
		close(fd);
	}
	sp = open_spool(1 << 20);
	CHECK(sp != NULL);
	CHECK_INT(read_all(sp, NULL, NULL), 3);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* A bad CRC in an older segment moves it to quarantine/ with an error line. */
static void
test_spool_bad_crc_older_quarantined(void)
{
	struct spool *sp = open_spool(120);
	char		path[600];
	int			fd,
				i;
	uint64_t	first = 0;
	struct spool_stats st;
	char		c;

	CHECK(sp != NULL);
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	for (i = 0; i < 6; i++)
		CHECK(append_n(sp, 3) != 0);
	CHECK(wait_synced(sp));
	spool_get_stats(sp, &st);
	CHECK(st.segments >= 3);
	spool_close(sp);
	/* flip a payload byte of the first record of segment 1 */
	seg_path(path, sizeof(path), 1);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK(pread(fd, &c, 1, 32 + 20) == 1);
	c ^= 0x40;
	CHECK(pwrite(fd, &c, 1, 32 + 20) == 1);
	close(fd);
	sp = open_spool(120);
	CHECK(sp != NULL);
	CHECK(access(path, F_OK) != 0);
	CHECK(log_contains("0000000000000001.seg has a bad record at offset 32 (bad CRC); moved to"));
	CHECK(log_contains("ERROR spool"));
	{
		char		q[600];
		DIR		   *d;
		struct dirent *de;
		int			found = 0;

		snprintf(q, sizeof(q), "%s/quarantine", test_tmpdir());
		d = opendir(q);
		CHECK(d != NULL);
		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, "0000000000000001.seg.", 21) == 0)
				found = 1;
		closedir(d);
		CHECK(found);
	}
	/* the other segments still replay, from the first record after the quarantined one */
	CHECK_INT(read_all(sp, &first, NULL), 18 - 3);
	CHECK_INT(first, 4);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* Committed sealed segments are deleted; the active one never is; readers skip ahead. */
static void
test_spool_delete_committed(void)
{
	struct spool *sp = open_spool(120);
	struct spool_stats before,
				after;
	struct spool_reader *r;
	struct spool_pos pos = {1, 32};
	struct record_view rec;
	struct spool_pos ap;
	int			i;
	char		path[600];

	CHECK(sp != NULL);
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	for (i = 0; i < 6; i++)
		CHECK(append_n(sp, 3) != 0);
	CHECK(wait_synced(sp));
	spool_get_stats(sp, &before);
	CHECK(spool_remove_committed(sp, 0) == 0);
	/* segments hold 3 records each here (120-byte cap): seqs 1-3 in segment 1 */
	CHECK(spool_remove_committed(sp, 4) > 0);
	seg_path(path, sizeof(path), 1);
	CHECK(access(path, F_OK) != 0);
	seg_path(path, sizeof(path), 2);
	CHECK(access(path, F_OK) == 0);
	/* a reader left in a deleted segment moves to the next one */
	CHECK(spool_reader_new(sp, &r) == EV_OK);
	spool_reader_seek(r, &pos);
	CHECK(spool_reader_next(r, &rec, &ap) == EV_OK);
	CHECK_INT(rec.seq, 4);
	spool_reader_free(r);
	CHECK(spool_pending_bytes(sp, 4) > spool_pending_bytes(sp, 10));
	CHECK_INT(spool_pending_bytes(sp, 1000), 0);
	/* a big, fully committed active segment is retired so that it can go too */
	CHECK(spool_retire_active(sp, 1000, 1) == EV_OK);
	/* everything committed: only the (new, empty) active segment remains */
	spool_remove_committed(sp, 1000);
	spool_get_stats(sp, &after);
	CHECK_INT(after.segments, 1);
	CHECK(after.bytes < before.bytes);
	spool_close(sp);
	/* after a restart seqs continue above everything ever written */
	sp = open_spool(120);
	CHECK(sp != NULL);
	CHECK_INT(append_n(sp, 1), 19);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* A second open of the same directory is refused while the first holds the lock. */
static void
test_spool_lock(void)
{
	struct spool *a = open_spool(1 << 20);
	struct spool *b = NULL;
	struct buf	err;

	CHECK(a != NULL);
	buf_init(&err);
	CHECK(spool_open(test_tmpdir(), 1 << 20, &b, &err) == EV_ERROR);
	CHECK(b == NULL);
	CHECK(buf_cstr(&err) == EV_OK);
	CHECK(strstr(err.data, "in use by another eventlogd") != NULL);
	spool_close(a);
	err.len = 0;
	CHECK(spool_open(test_tmpdir(), 1 << 20, &b, &err) == EV_OK);
	spool_close(b);
	buf_free(&err);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* If the newest segment is quarantined, seqs still never go back (seq.floor). */
static void
test_spool_seq_never_reused(void)
{
	struct spool *sp = open_spool(1 << 20);
	char		path[600];
	int			fd;

	CHECK(sp != NULL);
	CHECK_INT(append_n(sp, 5), 1);
	spool_close(sp);
	/* break the only segment's header beyond repair */
	seg_path(path, sizeof(path), 1);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, "XXXX", 4, 0) == 4);
	close(fd);
	sp = open_spool(1 << 20);
	CHECK(sp != NULL);
	/* floor was 1 (set when segment 1 was created); new seqs may start there but the
	 * spool id ties ledger rows to this directory, and a quarantined file is logged */
	CHECK(log_contains("moved to"));
	CHECK(append_n(sp, 1) >= 1);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

struct jctx {
	int			n;
	char		last[32];
};

/* Count journal records and keep the last. */
static void
journal_cb(const unsigned char *data, size_t len, void *arg)
{
	struct jctx *c = arg;

	c->n++;
	snprintf(c->last, sizeof(c->last), "%.*s", (int) len, (const char *) data);
}

/* Write one record with one journal entry in a batch; returns its seq (0 on failure). */
static uint64_t
append_journaled(struct spool *sp, const char *rec, const char *entry, int64_t now_s)
{
	uint64_t	seq;

	spool_batch_begin(sp);
	if (spool_batch_add(sp, rec, strlen(rec), &seq) != EV_OK ||
		spool_batch_write(sp, entry, strlen(entry), now_s) != EV_OK)
		return 0;
	return seq;
}

/* Journal entries written with batches are loaded back after a restart. */
static void
test_spool_journal_roundtrip(void)
{
	struct spool *sp = open_spool(1 << 20);
	struct jctx c = {0, ""};

	CHECK(sp != NULL);
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	CHECK(append_journaled(sp, "x", "entry-1", 1000) != 0);
	spool_batch_begin(sp);
	CHECK(spool_batch_write(sp, "entry-2", 7, 1001) == EV_OK);
	CHECK(wait_synced(sp));
	spool_close(sp);
	sp = open_spool(1 << 20);
	CHECK(sp != NULL);
	CHECK(spool_journal_load(sp, journal_cb, &c) == EV_OK);
	CHECK_INT(c.n, 2);
	CHECK_STR(c.last, "entry-2");
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/*
 * The ack path syncs only the segment; a sealed, committed segment whose ids are in
 * the journal is deleted only after the journal was synced for it.
 */
static void
test_spool_journal_before_delete(void)
{
	struct spool *sp = open_spool(120);
	struct spool_stats st;
	uint64_t	seq;
	char		path[600];
	int			i;

	CHECK(sp != NULL);
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	seq = append_journaled(sp, "rec-0", "entry-1", 1000);
	CHECK(seq != 0);
	CHECK(wait_synced(sp));
	spool_get_stats(sp, &st);
	CHECK_INT(st.journal_syncs, 0);
	CHECK(spool_retire_active(sp, seq, 1) == EV_OK);
	/* committed, but its journal entry is not durable yet: kept, and a sync is asked for */
	CHECK_INT(spool_remove_committed(sp, seq), 0);
	seg_path(path, sizeof(path), 1);
	CHECK(access(path, F_OK) == 0);
	for (i = 0; i < 500 && st.journal_syncs == 0; i++)
	{
		usleep(10000);
		spool_get_stats(sp, &st);
	}
	CHECK_INT(st.journal_syncs, 1);
	CHECK(spool_remove_committed(sp, seq) > 0);
	CHECK(access(path, F_OK) != 0);
	/* a segment with no journal entries since the last sync goes at once */
	seq = append_n(sp, 2) + 1;
	CHECK(wait_synced(sp));
	CHECK(spool_retire_active(sp, seq, 1) == EV_OK);
	CHECK(spool_remove_committed(sp, seq) > 0);
	spool_get_stats(sp, &st);
	CHECK_INT(st.journal_syncs, 1);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* The journal is bounded by size too: files behind newer ones holding keep_bytes are deleted. */
static void
test_spool_journal_size_bound(void)
{
	struct spool *sp = open_spool(1 << 20);
	struct jctx c = {0, ""};
	char		path[600],
				entry[64];
	DIR		   *dir;
	struct dirent *de;
	int			i,
				files = 0;

	CHECK(sp != NULL);
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	/* one 84-byte record a batch: a file is full (over 400 / 4) after one batch */
	spool_journal_set_policy(sp, 3600, 86400, 400);
	for (i = 0; i < 20; i++)
	{
		memset(entry, 'e', sizeof(entry));
		snprintf(entry, sizeof(entry), "entry-%d", i);
		spool_batch_begin(sp);
		CHECK(spool_batch_write(sp, entry, sizeof(entry), 1000 + i) == EV_OK);
	}
	spool_close(sp);
	snprintf(path, sizeof(path), "%s/dedup", test_tmpdir());
	dir = opendir(path);
	CHECK(dir != NULL);
	while ((de = readdir(dir)) != NULL)
		files += strstr(de->d_name, ".jnl") != NULL;
	closedir(dir);
	CHECK(files >= 4 && files <= 6);
	sp = open_spool(1 << 20);
	CHECK(sp != NULL);
	CHECK(spool_journal_load(sp, journal_cb, &c) == EV_OK);
	CHECK(c.n >= 3 && c.n <= 5);
	CHECK(strncmp(c.last, "entry-19", 8) == 0);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* Metadata files are replaced whole. */
static void
test_spool_meta(void)
{
	struct spool *sp = open_spool(1 << 20);
	struct buf	b;

	CHECK(sp != NULL);
	buf_init(&b);
	CHECK(spool_meta_read(sp, "logs.cache", &b) == EV_RETRY);
	CHECK(spool_meta_write(sp, "logs.cache", "a\nb\n", 4) == EV_OK);
	CHECK(spool_meta_write(sp, "logs.cache", "c\n", 2) == EV_OK);
	CHECK(spool_meta_read(sp, "logs.cache", &b) == EV_OK);
	CHECK_INT(b.len, 2);
	CHECK(memcmp(b.data, "c\n", 2) == 0);
	CHECK_INT(strlen(spool_id(sp)), 36);
	buf_free(&b);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* Group commit: many batches written back to back need fewer fdatasync rounds. */
static void
test_spool_group_commit(void)
{
	struct spool *sp = open_spool(64 << 20);
	struct spool_stats st;
	int			i;

	CHECK(sp != NULL);
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	for (i = 0; i < 2000; i++)
		CHECK(append_n(sp, 1) != 0);
	CHECK(wait_synced(sp));
	spool_get_stats(sp, &st);
	CHECK_INT(st.synced_seq, 2000);
	CHECK(st.syncs < 2000);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* Records that straddle the 1 MiB read chunks (header or payload split) all recover. */
static void
test_spool_reopen_across_chunks(void)
{
	struct spool *sp = open_spool(64 << 20);
	uint64_t	seq,
				last = 0;
	char	   *p = malloc(70000);
	int			i,
				total = 0;

	CHECK(sp != NULL && p != NULL);
	memset(p, 'q', 70000);
	/* odd sizes so that boundaries land everywhere, including inside headers */
	for (i = 0; i < 400; i++)
	{
		spool_batch_begin(sp);
		CHECK(spool_batch_add(sp, p, (size_t) (1 + (i * 7919) % 69000), &seq) == EV_OK);
		CHECK(spool_batch_add(sp, p, (size_t) (i % 13), &seq) == EV_OK);
		CHECK(spool_batch_write(sp, NULL, 0, 0) == EV_OK);
		total += 2;
	}
	free(p);
	CHECK(spool_start(sp, NULL, NULL) == EV_OK);
	CHECK(wait_synced(sp));
	CHECK_INT(read_all(sp, NULL, &last), total);
	spool_close(sp);
	sp = open_spool(64 << 20);
	CHECK(sp != NULL);
	CHECK(!log_contains("truncating"));
	CHECK_INT(read_all(sp, NULL, &last), total);
	CHECK_INT(last, total);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* A torn record followed by zeros, or zeros followed by a stray byte, is a torn tail. */
static void
test_spool_torn_tail_with_zeros(void)
{
	struct spool *sp = open_spool(1 << 20);
	char		path[600];
	struct stat st;
	int			fd;
	char		z[300] = {0};
	uint64_t	last = 0;

	CHECK(sp != NULL);
	CHECK_INT(append_n(sp, 3), 1);
	spool_close(sp);
	seg_path(path, sizeof(path), 1);
	CHECK(stat(path, &st) == 0);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	/* half a record header, then zeros */
	CHECK(pwrite(fd, "\x45\x56\x4c\x52\x09", 5, st.st_size) == 5);
	CHECK(pwrite(fd, z, sizeof(z), st.st_size + 5) == (ssize_t) sizeof(z));
	close(fd);
	sp = open_spool(1 << 20);
	CHECK(sp != NULL);
	CHECK(log_contains("truncating 0000000000000001.seg"));
	CHECK_INT(read_all(sp, NULL, &last), 3);
	spool_close(sp);
	/* zeros, then a stray non-zero byte: not a clean end either */
	CHECK(stat(path, &st) == 0);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, z, sizeof(z), st.st_size) == (ssize_t) sizeof(z));
	CHECK(pwrite(fd, "x", 1, st.st_size + sizeof(z)) == 1);
	close(fd);
	CHECK(log_open_file(NULL) == EV_OK);
	sp = open_spool(1 << 20);
	CHECK(sp != NULL);
	CHECK(log_contains("truncating 0000000000000001.seg"));
	CHECK_INT(read_all(sp, NULL, &last), 3);
	spool_close(sp);
	CHECK(log_open_file(NULL) == EV_OK);
}

const struct test_case spool_tests[] = {
	{"torn_tail_with_zeros", test_spool_torn_tail_with_zeros},
	{"reopen_across_chunks", test_spool_reopen_across_chunks},
	{"append_reopen", test_spool_append_reopen},
	{"reader_sees_only_synced", test_spool_reader_sees_only_synced},
	{"torn_tail_truncated", test_spool_torn_tail_truncated},
	{"bad_crc_older_quarantined", test_spool_bad_crc_older_quarantined},
	{"delete_committed", test_spool_delete_committed},
	{"lock", test_spool_lock},
	{"seq_never_reused", test_spool_seq_never_reused},
	{"journal_roundtrip", test_spool_journal_roundtrip},
	{"journal_before_delete", test_spool_journal_before_delete},
	{"journal_size_bound", test_spool_journal_size_bound},
	{"meta", test_spool_meta},
	{"group_commit", test_spool_group_commit},
	{NULL, NULL}
};
