/*
 * libFuzzer target: the spool reader and crash recovery (spool_open's scan of every
 * segment: torn tails, bad CRCs, seq gaps, quarantine) and the record and stored-event
 * decoders, on segment files built from the input.
 *
 * Input: a list of ops. Byte op, then a 16-bit little-endian length n and n bytes:
 *   op % 4 == 0  a well-formed record (next seq) with those bytes as payload
 *   op % 4 == 1  the raw bytes, as they are (garbage, torn records)
 *   op % 4 == 2  start the next segment file (at most 4); its header is well formed
 *   op % 4 == 3  flip the bits n of the byte at offset n * 7919 % size of the segment
 * Files go to a scratch directory under $FUZZ_SPOOL_DIR (default /dev/shm), emptied after
 * each input. Each recovered record's payload also goes through event_decode.
 * FUZZ_SPOOL_VERBOSE=1 prints what each input recovered.
 */
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "record.h"
#include "spool.h"

#define MAX_SEGMENTS 4

static char dir[256];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static void
write_segment(int k, const struct buf *b)
{
	char		path[512];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%016x.seg", dir, k + 1);
	f = fopen(path, "wb");
	if (f == NULL)
		abort();
	if (b->len && fwrite(b->data, 1, b->len, f) != b->len)
		abort();
	fclose(f);
}

static void
segment_start(struct buf *b, uint64_t base_seq)
{
	struct segment_header h = {.version = SEGMENT_VERSION, .base_seq = base_seq};
	unsigned char hdr[SEGMENT_HEADER_SIZE];

	segment_header_encode(hdr, &h);
	b->len = 0;
	if (buf_append(b, hdr, sizeof(hdr)) != EV_OK)
		abort();
}

/* Remove the scratch directory when libFuzzer exits. */
static void
remove_dir(void)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("FUZZ_SPOOL_DIR");

	(void) argc;
	(void) argv;
	snprintf(dir, sizeof(dir), "%s/fuzz_spool.XXXXXX", base ? base : "/dev/shm");
	if (mkdtemp(dir) == NULL)
		abort();
	if (log_open_file("/dev/null") != EV_OK)
		abort();
	atexit(remove_dir);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	seg,
				err;
	uint64_t	seq = 1;
	int			k = 0;
	size_t		p = 0;
	struct spool *sp = NULL;
	struct spool_reader *r = NULL;

	buf_init(&seg);
	buf_init(&err);
	segment_start(&seg, seq);
	/* a raw record decode of the whole input first: it must never read out of bounds */
	{
		struct record_view rec;
		size_t		consumed;
		enum record_error re;
		struct segment_header sh;

		if (record_decode(data, size, &rec, &consumed, &re) == EV_OK && (consumed > size || rec.length > size))
			abort();
		if (segment_header_decode(data, size, &sh, &re) == EV_OK && size < SEGMENT_HEADER_SIZE)
			abort();
	}
	while (p + 3 <= size)
	{
		int			op = data[p] % 4;
		size_t		n = (size_t) data[p + 1] | (size_t) data[p + 2] << 8;

		p += 3;
		if (op == 0 || op == 1)
		{
			if (n > size - p)
				n = size - p;
			if (op == 0)
			{
				if (record_append(&seg, seq++, data + p, n) != EV_OK)
					abort();
			}
			else if (buf_append(&seg, data + p, n) != EV_OK)
				abort();
			p += n;
		}
		else if (op == 2)
		{
			if (k == MAX_SEGMENTS - 1)
				break;
			write_segment(k++, &seg);
			segment_start(&seg, seq);
		}
		else if (seg.len > 0)
			((unsigned char *) seg.data)[n * 7919 % seg.len] ^= (unsigned char) (n | 1);
	}
	write_segment(k, &seg);

	if (spool_open(dir, 1024 * 1024, &sp, &err) == EV_OK)
	{
		struct spool_pos pos,
					after;
		struct record_view rec;
		uint64_t	last = 0;
		int			rc,
					guard = 0;

		if (spool_reader_new(sp, &r) != EV_OK)
			abort();
		spool_first_pos(sp, &pos);
		spool_reader_seek(r, &pos);
		while ((rc = spool_reader_next(r, &rec, &after)) == EV_OK && guard++ < 100000)
		{
			struct event ev;
			const char *log;
			size_t		loglen;

			/* recovery keeps only records whose seqs go up */
			if (rec.seq <= last)
				abort();
			last = rec.seq;
			(void) event_decode(rec.payload, rec.length, &ev, &log, &loglen);
		}
		if (getenv("FUZZ_SPOOL_VERBOSE"))
			fprintf(stderr, "fuzz_spool: %d segment(s), read %d records, last seq %llu, stop %d\n",
					k + 1, guard, (unsigned long long) last, rc);
		spool_reader_free(r);
		spool_close(sp);
	}
	else if (getenv("FUZZ_SPOOL_VERBOSE"))
		fprintf(stderr, "fuzz_spool: spool_open: %s\n", err.data ? err.data : "?");
	buf_free(&seg);
	buf_free(&err);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}
