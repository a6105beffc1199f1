/*
 * Monotonic deadlines for condition-variable waits.
 *
 * pthread_cond_timedwait() measures its absolute deadline against the condition
 * variable's clock, CLOCK_REALTIME unless told otherwise. A deadline taken from the wall
 * clock is wrong as soon as the clock is stepped (NTP, an operator, a VM resumed): set
 * back by an hour, a 100 ms backoff sleep of the flusher lasted an hour and 100 ms, and
 * PostgreSQL saw no batch meanwhile. Every timed wait of the sidecar uses these two
 * helpers instead, so its waits are measured on CLOCK_MONOTONIC (issue 7).
 */
#include "monotime.h"

/* Initialise cond with CLOCK_MONOTONIC as the clock of its timed waits. */
void
monotime_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* Now + ms on CLOCK_MONOTONIC (negative ms: now). */
void
monotime_deadline(struct timespec *ts, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t) (ms / 1000);
	ts->tv_nsec += (long) (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L)
	{
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}
