/* Tests of dedup.c (window, capacity, journal reload) and ratelimit.c (token buckets). */
#include <stdlib.h>

#include "test.h"
#include "dedup.h"
#include "ratelimit.h"

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
	{"journal_reload", test_dedup_journal_reload},
	{"reinsert", test_dedup_reinsert},
	{"ratelimit_bucket", test_ratelimit_bucket},
	{NULL, NULL}
};
