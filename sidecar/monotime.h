/* Monotonic deadlines for condition-variable waits: a wall-clock jump cannot stretch or cut them. */
#ifndef EV_MONOTIME_H
#define EV_MONOTIME_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Initialise a condition variable whose timed waits measure CLOCK_MONOTONIC. */
void		monotime_cond_init(pthread_cond_t *cond);
/* The CLOCK_MONOTONIC time ms milliseconds from now, for pthread_cond_timedwait on such a cond. */
void		monotime_deadline(struct timespec *ts, int64_t ms);

#endif
