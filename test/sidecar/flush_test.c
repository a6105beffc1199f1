/* Tests of backoff.c, batch.c, copyenc.c and the flusher's error classes. */
#include <stdlib.h>

#include "test.h"
#include "spool.h"
#include "log.h"
#include "backoff.h"
#include "batch.h"
#include "copyenc.h"
#include "envelope.h"
#include "flusher.h"

/* Delays stay within [cap/2, cap], the cap doubles up to max, reset goes back. */
static void
test_backoff_bounds(void)
{
	struct backoff b;
	int64_t		cap = 100;
	int			i;

	backoff_init(&b, 100, 10000, 42);
	for (i = 0; i < 20; i++)
	{
		int64_t		d = backoff_next(&b);

		CHECK(d >= cap / 2 && d <= cap);
		cap = cap * 2 > 10000 ? 10000 : cap * 2;
	}
	backoff_reset(&b);
	CHECK(backoff_next(&b) <= 100);
	backoff_set_max(&b, 300);
	for (i = 0; i < 10; i++)
		CHECK(backoff_next(&b) <= 300);
}

/* The jitter spreads delays: different seeds, different sequences; not all equal. */
static void
test_backoff_jitter(void)
{
	struct backoff a,
				b;
	int			i,
				same = 0,
				distinct = 0;
	int64_t		prev = -1;

	backoff_init(&a, 1000, 1000, 1);
	backoff_init(&b, 1000, 1000, 2);
	for (i = 0; i < 50; i++)
	{
		int64_t		x = backoff_next(&a),
					y = backoff_next(&b);

		same += x == y;
		distinct += x != prev;
		prev = x;
	}
	CHECK(same < 5);
	CHECK(distinct > 40);
}

/* Lanes depend only on the tenant: stable, in range, and spread over the lanes. */
static void
test_lane_assignment(void)
{
	int			seen[EV_LANES] = {0};
	int			i,
				used = 0;
	char		t[32];

	CHECK_INT(batch_lane_of("acme", 4), batch_lane_of("acme", 4));
	for (i = 0; i < 2000; i++)
	{
		uint16_t	l;

		snprintf(t, sizeof(t), "tenant-%d", i);
		l = batch_lane_of(t, strlen(t));
		CHECK(l < EV_LANES);
		seen[l]++;
	}
	for (i = 0; i < EV_LANES; i++)
		used += seen[i] > 0;
	CHECK_INT(used, EV_LANES);
	/* a tenant's worker is its lane mod the connection count */
	CHECK_INT(batch_worker_of(5, 2), 1);
	CHECK_INT(batch_worker_of(63, 4), 3);
	CHECK_INT(batch_worker_of(7, 1), 0);
	/* fixed value: lanes must not change between versions (the ledger is per lane) */
	CHECK_INT(batch_lane_of("acme", 4), 6);
}

/* Cut by size, by time (only when nothing more is waiting), by bytes. */
static void
test_batch_cut(void)
{
	struct batch b;
	struct spool_pos p = {1, 32};
	int			i;

	batch_init(&b);
	CHECK(!batch_should_cut(&b, 3, 100, 0, 0));
	CHECK_INT(batch_time_left(&b, 100, 0), -1);
	CHECK(batch_add(&b, 1, 0, &p, "a", 1, 1000) == EV_OK);
	CHECK(!batch_should_cut(&b, 3, 100, 1, 1050));
	CHECK(!batch_should_cut(&b, 3, 100, 0, 1050));
	CHECK_INT(batch_time_left(&b, 100, 1050), 50);
	CHECK(!batch_should_cut(&b, 3, 100, 1, 1200));	/* more is available: keep filling */
	CHECK(batch_should_cut(&b, 3, 100, 0, 1100));	/* time */
	CHECK(batch_add(&b, 2, 0, &p, "b", 1, 1001) == EV_OK);
	CHECK(batch_add(&b, 3, 0, &p, "c", 1, 1002) == EV_OK);
	CHECK(batch_should_cut(&b, 3, 100, 1, 1003));	/* size */
	CHECK_INT(b.items[2].seq, 3);
	CHECK(memcmp(b.records.data + b.items[1].off, "b", 1) == 0);
	batch_clear(&b);
	CHECK_INT(b.n, 0);
	{
		char	   *big = calloc(1, 1 << 20);

		CHECK(big != NULL);
		for (i = 0; i < 32; i++)
			if (batch_add(&b, (uint64_t) i, 0, &p, big, 1 << 20, 0) != EV_OK)
				break;
		free(big);
		CHECK_INT(i, 32);
		CHECK(batch_should_cut(&b, 1000000, 100000, 1, 0));	/* BATCH_MAX_BYTES */
	}
	batch_free(&b);
}

/* SQLSTATEs sort into transient, data and configuration errors. */
static void
test_error_classes(void)
{
	CHECK_INT(flusher_classify(NULL, 0), PGERR_TRANSIENT);
	CHECK_INT(flusher_classify("08006", 1), PGERR_TRANSIENT);
	CHECK_INT(flusher_classify("57P01", 1), PGERR_TRANSIENT);
	CHECK_INT(flusher_classify("57P03", 1), PGERR_TRANSIENT);
	CHECK_INT(flusher_classify("40001", 1), PGERR_TRANSIENT);
	CHECK_INT(flusher_classify("40P01", 1), PGERR_TRANSIENT);
	CHECK_INT(flusher_classify("53100", 1), PGERR_TRANSIENT);
	CHECK_INT(flusher_classify("23514", 0), PGERR_TRANSIENT);	/* connection gone wins */
	CHECK_INT(flusher_classify("22P02", 1), PGERR_DATA);
	CHECK_INT(flusher_classify("23502", 1), PGERR_DATA);
	CHECK_INT(flusher_classify("23514", 1), PGERR_DATA);
	CHECK_INT(flusher_classify("LG001", 1), PGERR_DATA);
	CHECK_INT(flusher_classify("42P01", 1), PGERR_CONFIG);
	CHECK_INT(flusher_classify("42501", 1), PGERR_CONFIG);
	CHECK_INT(flusher_classify("3F000", 1), PGERR_CONFIG);
	CHECK_INT(flusher_classify("XX000", 1), PGERR_CONFIG);
}

/* Binary COPY of one event: signature, field count, field bytes, trailer. */
static void
test_copy_binary(void)
{
	struct envelope_batch eb;
	struct buf	o;
	const char *text = "{\"event_id\":\"0190f8a4-5c7e-7d3a-9b1e-2f4c6a8e0b12\",\"tenant_id\":\"ab\","
		"\"event_type\":\"t\",\"payload\":{}}";
	static const unsigned char want_head[] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0,
		0, 0, 0, 0, 0, 0, 0, 0,	/* flags, extension */
		0, 9,					/* fields */
		0, 0, 0, 16, 0x01, 0x90, 0xf8, 0xa4, 0x5c, 0x7e, 0x7d, 0x3a, 0x9b, 0x1e, 0x2f, 0x4c, 0x6a, 0x8e, 0x0b, 0x12,
		0, 0, 0, 2, 'a', 'b',
		0, 0, 0, 1, 't',
		0xff, 0xff, 0xff, 0xff,	/* subject NULL */
		0xff, 0xff, 0xff, 0xff,	/* occurred_at NULL */
	0, 0, 0, 8};

	buf_init(&o);
	envelope_batch_init(&eb);
	CHECK(envelope_parse(&eb, text, strlen(text), 946684800000000LL + 1) == EV_OK && eb.n == 1);
	CHECK(copyenc_begin(&o, COPY_FORMAT_BINARY) == EV_OK);
	CHECK(copyenc_row(&o, COPY_FORMAT_BINARY, &eb.events[0]) == EV_OK);
	CHECK(copyenc_end(&o, COPY_FORMAT_BINARY) == EV_OK);
	CHECK(o.len > sizeof(want_head));
	CHECK(memcmp(o.data, want_head, sizeof(want_head)) == 0);
	/* received_at = PostgreSQL epoch + 1 us */
	CHECK(memcmp(o.data + sizeof(want_head), "\0\0\0\0\0\0\0\1", 8) == 0);
	/* jsonb = version 1 + "{}"; metadata NULL; trailer -1 */
	CHECK(memcmp(o.data + o.len - 2 - 4 - 7, "\0\0\0\3\1{}", 7) == 0);
	CHECK(memcmp(o.data + o.len - 6, "\xff\xff\xff\xff\xff\xff", 6) == 0);
	buf_free(&o);
	envelope_batch_free(&eb);
}

/* Text COPY escapes backslash, tab, newline and writes \N for NULL. */
static void
test_copy_text(void)
{
	struct envelope_batch eb;
	struct buf	o;
	const char *text = "{\"event_id\":\"0190f8a4-5c7e-7d3a-9b1e-2f4c6a8e0b12\",\"tenant_id\":\"a\\tb\","
		"\"event_type\":\"t\",\"payload\":{\"s\":\"x\\\\y\\n\"}}";

	buf_init(&o);
	envelope_batch_init(&eb);
	CHECK(envelope_parse(&eb, text, strlen(text), 946684800000000LL) == EV_OK && eb.n == 1);
	CHECK(copyenc_begin(&o, COPY_FORMAT_TEXT) == EV_OK && o.len == 0);
	CHECK(copyenc_row(&o, COPY_FORMAT_TEXT, &eb.events[0]) == EV_OK);
	CHECK(buf_cstr(&o) == EV_OK);
	CHECK_STR(o.data, "0190f8a4-5c7e-7d3a-9b1e-2f4c6a8e0b12\ta\\tb\tt\t\\N\t\\N\t2000-01-01 00:00:00.000000+00\t1\t"
			  "{\"s\":\"x\\\\\\\\y\\\\n\"}\t\\N\n");
	buf_free(&o);
	envelope_batch_free(&eb);
}

/*
 * Issue 7: after a restart on a spool whose records are all committed (its one segment
 * empty, seqs going on from seq.floor), the committed watermark equals the written seq:
 * /v1/flush and the SIGTERM drain have nothing to wait for.
 */
static void
test_committed_watermark_empty_spool_issue_7(void)
{
	struct spool *sp = NULL;
	struct flusher *fl = NULL;
	struct flusher_settings set;
	struct buf	err;
	char		path[512];

	CHECK(log_open_file("/dev/null") == EV_OK);
	snprintf(path, sizeof(path), "%s/seq.floor", test_tmpdir());
	test_write_file(path, "880461\n", 7);
	buf_init(&err);
	CHECK(spool_open(test_tmpdir(), 1024 * 1024, &sp, &err) == EV_OK);
	buf_free(&err);
	memset(&set, 0, sizeof(set));
	set.retry_max_delay_ms = 1000;
	CHECK(flusher_new("host=/nonexistent", 2, sp, &set, NULL, NULL, &fl) == EV_OK);
	CHECK_INT(spool_written_seq(sp), 880460);
	CHECK_INT(flusher_committed_seq(fl), 880460);
	flusher_free(fl);
	spool_close(sp);
}

const struct test_case flush_tests[] = {
	{"committed_watermark_empty_spool_issue_7", test_committed_watermark_empty_spool_issue_7},
	{"backoff_bounds", test_backoff_bounds},
	{"backoff_jitter", test_backoff_jitter},
	{"lane_assignment", test_lane_assignment},
	{"batch_cut", test_batch_cut},
	{"error_classes", test_error_classes},
	{"copy_binary", test_copy_binary},
	{"copy_text", test_copy_text},
	{NULL, NULL}
};
