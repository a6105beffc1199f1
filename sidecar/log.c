/* Logging: levels, subsystem prefixes, rate-limited repeats; payloads are never logged. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	log_verbose;
static int	log_fd = 2;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"ERROR", "WARNING", "LOG", "DEBUG", "NOISE"};

/* Set verbosity. */
void
log_set_verbose(int verbose)
{
	__atomic_store_n(&log_verbose, verbose, __ATOMIC_RELAXED);
}

/* Is a message of this level printed? */
int
log_enabled(enum log_level level)
{
	if (level <= LOGL_INFO)
		return 1;
	return (int) level - LOGL_INFO <= __atomic_load_n(&log_verbose, __ATOMIC_RELAXED);
}

/* Send log lines to path instead of stderr. */
int
log_open_file(const char *path)
{
	int			fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640) : 2;
	int			old;

	if (fd < 0)
		return EV_ERROR;
	pthread_mutex_lock(&log_mu);
	old = log_fd;
	log_fd = fd;
	pthread_mutex_unlock(&log_mu);
	if (old > 2)
		close(old);
	return EV_OK;
}

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t
log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Format and write one line with a single write() so lines never interleave. */
static void
log_vwrite(enum log_level level, const char *subsys, const char *suffix, const char *fmt, va_list ap)
{
	char		line[2048];
	struct timespec ts;
	struct tm	tm;
	size_t		n;
	int			r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ld UTC [%d] %s %s: ",
				 ts.tv_nsec / 1000000, (int) getpid(), level_names[level], subsys);
	if (r > 0)
		n += (size_t) r < sizeof(line) - n ? (size_t) r : sizeof(line) - n - 1;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t) r < sizeof(line) - n ? (size_t) r : sizeof(line) - n - 1;
	if (suffix && n < sizeof(line) - 1)
	{
		r = snprintf(line + n, sizeof(line) - n, "%s", suffix);
		if (r > 0)
			n += (size_t) r < sizeof(line) - n ? (size_t) r : sizeof(line) - n - 1;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	pthread_mutex_lock(&log_mu);
	while (write(log_fd, line, n) < 0 && errno == EINTR)
		;
	pthread_mutex_unlock(&log_mu);
}

/* Print one line. */
void
log_msg(enum log_level level, const char *subsys, const char *fmt,...)
{
	va_list		ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vwrite(level, subsys, NULL, fmt, ap);
	va_end(ap);
}

/* Print at most once per interval for this call site. */
void
log_limited(struct log_limit *lim, int64_t interval_ms, enum log_level level,
			const char *subsys, const char *fmt,...)
{
	va_list		ap;
	int64_t		now = log_now_ms();
	char		suffix[64];
	uint64_t	supp;

	pthread_mutex_lock(&log_mu);
	if (lim->last_ms != 0 && now - lim->last_ms < interval_ms)
	{
		lim->suppressed++;
		pthread_mutex_unlock(&log_mu);
		return;
	}
	supp = lim->suppressed;
	lim->suppressed = 0;
	lim->last_ms = now ? now : 1;
	pthread_mutex_unlock(&log_mu);
	suffix[0] = '\0';
	if (supp)
		snprintf(suffix, sizeof(suffix), " (%llu similar messages suppressed)",
				 (unsigned long long) supp);
	va_start(ap, fmt);
	log_vwrite(level, subsys, suffix, fmt, ap);
	va_end(ap);
}

/* If lim had fired, print a recovery line and reset it. */
void
log_recovered(struct log_limit *lim, const char *subsys, const char *fmt,...)
{
	va_list		ap;
	int			fired;

	pthread_mutex_lock(&log_mu);
	fired = lim->last_ms != 0;
	lim->last_ms = 0;
	lim->suppressed = 0;
	pthread_mutex_unlock(&log_mu);
	if (!fired)
		return;
	va_start(ap, fmt);
	log_vwrite(LOGL_INFO, subsys, NULL, fmt, ap);
	va_end(ap);
}
