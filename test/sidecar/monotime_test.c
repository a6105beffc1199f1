/* Tests of monotime.c: timed waits are measured on CLOCK_MONOTONIC, not the wall clock (issue 7). */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "test.h"
#include "monotime.h"

static int64_t
ns_of(const struct timespec *ts)
{
	return (int64_t) ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* The deadline is now + ms on CLOCK_MONOTONIC, normalised. */
static void
test_monotime_deadline_is_monotonic(void)
{
	struct timespec before,
				d,
				after;

	clock_gettime(CLOCK_MONOTONIC, &before);
	monotime_deadline(&d, 1500);
	clock_gettime(CLOCK_MONOTONIC, &after);
	CHECK(d.tv_nsec >= 0 && d.tv_nsec < 1000000000);
	CHECK(ns_of(&d) >= ns_of(&before) + 1500000000LL);
	CHECK(ns_of(&d) <= ns_of(&after) + 1500000000LL);
	monotime_deadline(&d, -5);
	CHECK(ns_of(&d) >= ns_of(&after));
}

/*
 * A condition variable from monotime_cond_init() times out after the interval of a
 * monotime_deadline(). (On a default, CLOCK_REALTIME, condition variable such a deadline
 * lies decades in the past and returns at once: this test tells the two apart. A wall
 * clock deadline is stretched by a backward clock step: the bug this module fixes.)
 */
static void
test_monotime_cond_waits_on_monotonic_clock(void)
{
	pthread_cond_t c;
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct timespec d,
				t0,
				t1;
	int			rc;

	monotime_cond_init(&c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	monotime_deadline(&d, 100);
	pthread_mutex_lock(&m);
	do
		rc = pthread_cond_timedwait(&c, &m, &d);
	while (rc == 0);			/* spurious wake-ups */
	pthread_mutex_unlock(&m);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_INT(rc, ETIMEDOUT);
	CHECK(ns_of(&t1) - ns_of(&t0) >= 100000000LL);
	CHECK(ns_of(&t1) - ns_of(&t0) < 10000000000LL);
	pthread_cond_destroy(&c);
}

const struct test_case monotime_tests[] = {
	{"deadline_is_monotonic", test_monotime_deadline_is_monotonic},
	{"cond_waits_on_monotonic_clock", test_monotime_cond_waits_on_monotonic_clock},
	{NULL, NULL}
};
