/* Tests of dedup.c (window, capacity, journal reload) and ratelimit.c (token buckets). */
#include <stdlib.h>

#include "test.h"
#include "dedup.h"
#include "event.h"
#include "log.h"
#include "ratelimit.h"
#include "spool.h"

/* Id number i as 16 bytes. */
static void
mkid(unsigned char id[16], uint64_t i)
{
	memset(id, 0, 16);
	memcpy(id + 8, &i, 8);
	id[0] = (unsigned char) (i * 31);
}

/* Inside the window an id is a duplicate, after it not; the log is part of the key. */
static void
test_dedup_window(void)
{
	struct dedup *d;
	unsigned char id[16];
	uint32_t	la = dedup_log_hash("public.a", 8),
				lb = dedup_log_hash("public.b", 8);

	CHECK(dedup_new(1000, 3600 * 1000, &d) == EV_OK);
	mkid(id, 1);
	CHECK(!dedup_contains(d, la, id, 1000));
	dedup_insert(d, la, id, 1000);
	CHECK(dedup_contains(d, la, id, 1000));
	CHECK(!dedup_contains(d, lb, id, 1000));
	CHECK(dedup_contains(d, la, id, 1000 + 3599));
	CHECK(!dedup_contains(d, la, id, 1000 + 3600));
	dedup_expire(d, 1000 + 3600);
	CHECK_INT(dedup_count(d), 0);
	dedup_free(d);
}

/* At capacity the oldest ids are forgotten first; the table stays consistent. */
static void
test_dedup_capacity(void)
{
	struct dedup *d;
	unsigned char id[16];
	uint64_t	i;
	int			ok = 1;

	CHECK(dedup_new(1024, 3600 * 1000, &d) == EV_OK);
	for (i = 0; i < 5000; i++)
	{
		mkid(id, i);
		dedup_insert(d, 7, id, 100 + (int64_t) i / 100);
	}
	CHECK_INT(dedup_count(d), 1024);
	for (i = 0; i < 5000 && ok; i++)
	{
		mkid(id, i);
		ok = dedup_contains(d, 7, id, 200) == (i >= 5000 - 1024);
	}
	dedup_free(d);
	CHECK(ok);
}

/* A key inserted again (after it expired) survives the eviction of its older copy. */
static void
test_dedup_reinsert(void)
{
	struct dedup *d;
	unsigned char id[16],
				other[16];
	uint64_t	i;

	CHECK(dedup_new(1024, 10 * 1000, &d) == EV_OK);
	mkid(id, 77);
	dedup_insert(d, 1, id, 100);
	dedup_insert(d, 1, id, 200);	/* expired at 200 (window 10 s): added again */
	for (i = 0; i < 1023; i++)
	{
		mkid(other, 1000 + i);
		dedup_insert(d, 1, other, 200);	/* pushes the old copy out */
	}
	CHECK(dedup_contains(d, 1, id, 205));
	dedup_free(d);
}

/*
 * Against a model (a list of the newest ids, oldest first): through thousands of
 * inserts, refreshes, evictions at capacity and expiries in a small, crowded table,
 * the index answers exactly as the model does.
 */
static void
test_dedup_model(void)
{
	enum {CAP = 50, STEPS = 6000};
	struct dedup *d;
	uint64_t	mk[CAP + 1];
	int64_t		mts[CAP + 1];
	int			mn = 0,
				i,
				j,
				bad = 0;
	unsigned char id[16];

	CHECK(dedup_new(CAP, 20 * 1000, &d) == EV_OK);
	for (i = 0; i < STEPS; i++)
	{
		int64_t		now = i / 2;
		uint64_t	k = (i % 5 == 4) ? (uint64_t) (i - i % 37) : (uint64_t) i;

		/* model: refresh moves the id to the newest end; over capacity the oldest goes */
		for (j = 0; j < mn && mk[j] != k; j++)
			;
		if (j < mn)
		{
			memmove(mk + j, mk + j + 1, (size_t) (mn - j - 1) * sizeof(*mk));
			memmove(mts + j, mts + j + 1, (size_t) (mn - j - 1) * sizeof(*mts));
			mn--;
		}
		mk[mn] = k;
		mts[mn++] = now;
		if (mn > CAP)
		{
			memmove(mk, mk + 1, CAP * sizeof(*mk));
			memmove(mts, mts + 1, CAP * sizeof(*mts));
			mn--;
		}
		if (i % 10 == 0)
		{
			while (mn > 0 && mts[0] <= now - 20)
			{
				memmove(mk, mk + 1, (size_t) (mn - 1) * sizeof(*mk));
				memmove(mts, mts + 1, (size_t) (mn - 1) * sizeof(*mts));
				mn--;
			}
		}
		mkid(id, k);
		dedup_insert(d, 3, id, now);
		if (i % 10 == 0)
			dedup_expire(d, now);
		for (j = i > 120 ? i - 120 : 0; j <= i; j++)
		{
			int			m,
						in_model = 0;

			for (m = 0; m < mn; m++)
				if (mk[m] == (uint64_t) j && mts[m] > now - 20)
					in_model = 1;
			mkid(id, (uint64_t) j);
			bad += dedup_contains(d, 3, id, now) != in_model;
		}
	}
	CHECK_INT(bad, 0);
	CHECK(dedup_count(d) <= CAP);
	dedup_free(d);
}

/* Ids that differ only in a counter's last bytes spread over a small table's slots. */
static void
test_dedup_id_hash_spread(void)
{
	unsigned char id[16] = {0};
	unsigned char seen[1024] = {0};
	int			i,
				distinct = 0;

	memcpy(id, "RUN-0000-4000-80", 16);
	for (i = 0; i < 512; i++)
	{
		size_t		slot;

		id[14] = (unsigned char) (i >> 8);
		id[15] = (unsigned char) i;
		slot = (size_t) dedup_id_hash(7, id) & 1023;
		distinct += !seen[slot];
		seen[slot] = 1;
	}
	/* 512 random keys in 1024 slots: ~400 distinct; a hash of a few bytes gives a handful */
	CHECK(distinct > 350);
}

/* Journal entries reload into the index; entries of lost records (seq too high) do not. */
static void
test_dedup_journal_reload(void)
{
	struct dedup *d,
			   *e;
	struct buf	j;
	unsigned char id[16];
	uint64_t	i;

	buf_init(&j);
	CHECK(dedup_new(100, 3600 * 1000, &d) == EV_OK);
	for (i = 1; i <= 10; i++)
	{
		mkid(id, i);
		CHECK(dedup_journal_add(&j, 9, id, 5000, i) == EV_OK);
	}
	mkid(id, 99);
	CHECK(dedup_journal_add(&j, 9, id, 1000, 11) == EV_OK);	/* older than the window */
	dedup_free(d);
	CHECK(dedup_new(100, 3600 * 1000, &e) == EV_OK);
	dedup_load_prepare(e, 5000 + 10, 8);	/* the spool recovered seqs up to 8 only */
	dedup_journal_load_cb((unsigned char *) j.data, j.len, e);
	CHECK_INT(dedup_count(e), 8);
	mkid(id, 8);
	CHECK(dedup_contains(e, 9, id, 5010));
	mkid(id, 9);
	CHECK(!dedup_contains(e, 9, id, 5010));
	mkid(id, 99);
	CHECK(!dedup_contains(e, 9, id, 5010));
	dedup_free(e);
	buf_free(&j);
}

/*
 * After a restart, the client-given ids of the records still in the spool are remembered
 * even where the journal lost them; server-stamped and expired ones are not.
 */
static void
test_dedup_load_spool(void)
{
	struct spool *sp = NULL;
	struct buf	err,
				rec;
	struct dedup *d;
	struct event ev;
	unsigned char id[16];
	uint64_t	seq,
				i;
	size_t		added;
	uint32_t	lh = dedup_log_hash("public.audit", 12);
	int64_t		now_s = 1700000000;
	char		logpath[512];

	snprintf(logpath, sizeof(logpath), "%s/log.txt", test_tmpdir());
	CHECK(log_open_file(logpath) == EV_OK);
	buf_init(&err);
	buf_init(&rec);
	CHECK(spool_open(test_tmpdir(), 1 << 20, &sp, &err) == EV_OK);
	memset(&ev, 0, sizeof(ev));
	ev.tenant = "acme";
	ev.tenant_len = 4;
	ev.type = "x.y";
	ev.type_len = 3;
	ev.payload = "{}";
	ev.payload_len = 2;
	ev.schema_version = 1;
	spool_batch_begin(sp);
	for (i = 1; i <= 6; i++)
	{
		mkid(ev.id, i);
		ev.id_given = i != 5;	/* 5: stamped by the server */
		ev.received_us = (i == 6 ? now_s - 7200 : now_s - 10) * 1000000LL;	/* 6: past the window */
		rec.len = 0;
		CHECK(event_encode(&ev, "public.audit", 12, &rec) == EV_OK);
		CHECK(spool_batch_add(sp, rec.data, rec.len, &seq) == EV_OK);
	}
	CHECK(spool_batch_write(sp, NULL, 0, now_s) == EV_OK);
	spool_close(sp);
	CHECK(spool_open(test_tmpdir(), 1 << 20, &sp, &err) == EV_OK);
	CHECK(dedup_new(100, 3600 * 1000, &d) == EV_OK);
	mkid(id, 1);
	dedup_insert(d, lh, id, now_s - 10);	/* 1 was in the journal */
	CHECK(dedup_load_spool(d, sp, now_s, &added) == EV_OK);
	CHECK_INT(added, 3);
	for (i = 1; i <= 4; i++)
	{
		mkid(id, i);
		CHECK(dedup_contains(d, lh, id, now_s));
	}
	mkid(id, 5);
	CHECK(!dedup_contains(d, lh, id, now_s));
	mkid(id, 6);
	CHECK(!dedup_contains(d, lh, id, now_s));
	mkid(id, 2);
	CHECK(!dedup_contains(d, dedup_log_hash("public.other", 12), id, now_s));
	CHECK_INT(dedup_count(d), 4);
	dedup_free(d);
	spool_close(sp);
	buf_free(&err);
	buf_free(&rec);
	CHECK(log_open_file(NULL) == EV_OK);
}

/* Token bucket: burst, refill, Retry-After, large requests pass when the bucket is full. */
static void
test_ratelimit_bucket(void)
{
	struct ratelimit *rl;
	struct ratelimit_tenant *t,
			   *u;
	int64_t		ra = 0;

	CHECK(ratelimit_new(&rl) == EV_OK);
	ratelimit_configure(rl, 10, 20);
	t = ratelimit_tenant(rl, "acme", 4);
	u = ratelimit_tenant(rl, "beta", 4);
	CHECK(t && u && t != u && ratelimit_tenant(rl, "acme", 4) == t);
	CHECK(ratelimit_check(rl, t, 20, 1000, &ra));
	ratelimit_take(rl, t, 20);
	CHECK(!ratelimit_check(rl, t, 5, 1000, &ra));
	CHECK_INT(ra, 1);
	CHECK(ratelimit_check(rl, u, 5, 1000, &ra));	/* tenants are separate */
	CHECK(ratelimit_check(rl, t, 5, 1500, &ra));	/* 0.5 s refilled 5 */
	ratelimit_take(rl, t, 5);
	CHECK(!ratelimit_check(rl, t, 10, 1500, &ra));
	CHECK_INT(ra, 2);
	/* bigger than the bucket: passes once the bucket is full, leaving a debt */
	CHECK(ratelimit_check(rl, t, 100, 5000, &ra));
	ratelimit_take(rl, t, 100);
	CHECK(!ratelimit_check(rl, t, 1, 5000, &ra));
	CHECK(ra >= 8);
	ratelimit_configure(rl, 0, 0);
	CHECK(ratelimit_check(rl, t, 1000000, 5000, &ra));	/* no limit */
	CHECK_INT(ratelimit_count(rl), 2);
	ratelimit_free(rl);
}

const struct test_case dedup_tests[] = {
	{"window", test_dedup_window},
	{"capacity", test_dedup_capacity},
	{"model", test_dedup_model},
	{"id_hash_spread", test_dedup_id_hash_spread},
	{"journal_reload", test_dedup_journal_reload},
	{"load_spool", test_dedup_load_spool},
	{"reinsert", test_dedup_reinsert},
	{"ratelimit_bucket", test_ratelimit_bucket},
	{NULL, NULL}
};
