/* Logging: levels, subsystem prefixes, rate-limited repeats; payloads are never logged. */
#ifndef EV_LOG_H
#define EV_LOG_H

#include <stdint.h>
#include "ev.h"

enum log_level {
	LOGL_ERROR = 0,
	LOGL_WARNING,
	LOGL_INFO,
	LOGL_DEBUG,					/* shown with verbose >= 1 */
	LOGL_NOISE					/* shown with verbose >= 2 */
};

/* State of one rate-limited message (one per call site; static storage). */
struct log_limit {
	int64_t		last_ms;		/* when it was last printed; 0 = never or recovered */
	uint64_t	suppressed;		/* repeats not printed since then */
};

/* Set verbosity: 0 = error..info, 1 = +debug, 2 = +noise. */
void		log_set_verbose(int verbose);
/* Is a message of this level printed? (to skip formatting costs) */
int			log_enabled(enum log_level level);
/* Send log lines to path (appending), or back to stderr with NULL; EV_ERROR if it cannot be opened. */
int			log_open_file(const char *path) EV_MUST_USE;
/* Print one line: "<time> [pid] LEVEL subsys: message". Thread-safe. */
void		log_msg(enum log_level level, const char *subsys, const char *fmt,...) EV_PRINTF(3, 4);
/* Print at most once per interval_ms for this call site; counts the rest. */
void		log_limited(struct log_limit *lim, int64_t interval_ms, enum log_level level,
						const char *subsys, const char *fmt,...) EV_PRINTF(5, 6);
/* If lim had fired, print a recovery line (at info) and reset it. */
void		log_recovered(struct log_limit *lim, const char *subsys, const char *fmt,...) EV_PRINTF(3, 4);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t		log_now_ms(void);

#define log_error(sub, ...)   log_msg(LOGL_ERROR, sub, __VA_ARGS__)
#define log_warning(sub, ...) log_msg(LOGL_WARNING, sub, __VA_ARGS__)
#define log_info(sub, ...)    log_msg(LOGL_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...)   do { if (log_enabled(LOGL_DEBUG)) log_msg(LOGL_DEBUG, sub, __VA_ARGS__); } while (0)
#define log_noise(sub, ...)   do { if (log_enabled(LOGL_NOISE)) log_msg(LOGL_NOISE, sub, __VA_ARGS__); } while (0)

#endif
