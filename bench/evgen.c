/*
 * evgen: the bench's events, and the syslog sender that feeds them to the peers.
 *
 *   evgen -n N [-s SEED] [-t START_MS] [-T TENANTS] [-z ZIPF_S] [-c]    synthetic events
 *   evgen -n N [-s SEED] [-t START_MS] -g FILE.ndjson              a real data set, cycled
 *   evgen -S HOST:PORT -f FILE.ndjson                              send FILE as syslog over TCP
 *
 * The first two forms print N event envelopes (shared/DESIGN.md) as NDJSON on
 * stdout, deterministic from SEED and START_MS:
 *  - synthetic: tenants drawn from a Zipf distribution (exponent ZIPF_S, default
 *    1.1, over TENANTS tenants, default 1,000), 20 event types, 50,000 subjects;
 *    payloads from 100 B to 4 KB, skewed toward small (the target size is
 *    100 * 40^(u^3) bytes for a uniform u: median ~200 B, mean ~500 B);
 *    with -c, compact events of ~300 bytes a line (the size DESIGN.md states its
 *    performance goals for): who did it and how it went, a trace id as metadata;
 *  - -g: the lines of FILE in turn (each an envelope), cycled to N events.
 * Every event gets a fresh event_id, a UUIDv7 of START_MS + n * 10 us (so ids
 * are time ordered, as eventlogd stamps them) with random bits from SEED.
 *
 * The -S form sends each line of FILE as one RFC 5424 syslog message whose MSG
 * is the line, newline framed, over one TCP connection, and prints the number
 * of messages sent. The receiver reads until the connection closes, so a clean
 * shutdown of the connection is waited for before exiting.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MIN_PAYLOAD 100
#define MAX_PAYLOAD 4000

static uint64_t rng_state;

/* splitmix64: a small, fast, seedable PRNG; the same SEED gives the same events. */
static uint64_t
rng_next(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double
rng_unit(void)
{
	return (rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

/* A uniform integer in [0, n). */
static long
rng_below(long n)
{
	return (long) (rng_unit() * n);
}

/* Writes a UUIDv7 of the millisecond ms (sub-ms fraction in rand_a) to out[37]. */
static void
uuidv7(char *out, double ms)
{
	uint64_t	whole = (uint64_t) ms;
	unsigned	frac = (unsigned) ((ms - (double) whole) * 4096.0) & 0xfff;
	uint64_t	r = rng_next();

	snprintf(out, 37, "%08x-%04x-7%03x-%04x-%012llx",
			 (unsigned) (whole >> 16), (unsigned) (whole & 0xffff), frac,
			 (unsigned) (0x8000 | ((r >> 48) & 0x3fff)),
			 (unsigned long long) (r & UINT64_C(0xffffffffffff)));
}

/* Formats the millisecond ms as an RFC 3339 UTC timestamp into out[32]. */
static void
timestamp(char *out, double ms)
{
	time_t		s = (time_t) (ms / 1000);
	struct tm	tm;
	size_t		len;

	gmtime_r(&s, &tm);
	len = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + len, 32 - len, ".%03uZ", (unsigned) ((long long) ms % 1000));
}

#include "vocab.h"
static const char *const agents[] = {
	"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15",
	"okhttp/4.12.0", "python-requests/2.32.3", "curl/8.5.0"
};
/* Field values of the change list that pads a payload to its size; some are not ASCII. */
static const char *const words[] = {
	"status", "billing_address", "plan", "quota", "owner", "display_name", "Zürich", "São Paulo",
	"東京", "pending", "approved", "rejected", "premium", "basic", "enterprise", "Ωmega",
	"shipping", "line_items", "discount", "tax_rate", "notes", "reviewer", "renée", "draft"
};

#define NELEM(a) ((long) (sizeof(a) / sizeof((a)[0])))

/* Cumulative Zipf(s) distribution over n tenants; the caller frees. */
static double *
zipf_cdf(int n, double s)
{
	double	   *cdf = malloc(sizeof(double) * (size_t) n);
	double		sum = 0;
	int			i;

	for (i = 0; i < n; i++)
		sum += 1.0 / pow(i + 1, s);
	for (i = 0; i < n; i++)
		cdf[i] = (i ? cdf[i - 1] : 0) + 1.0 / pow(i + 1, s) / sum;
	return cdf;
}

/* Draws a tenant rank (0 = the largest) from the cdf by binary search. */
static int
zipf_draw(const double *cdf, int n)
{
	double		u = rng_unit();
	int			lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Prints one compact synthetic event (~300 bytes) for time ms. */
static void
compact_event(FILE *out, double ms, const double *cdf, int tenants)
{
	char		id[37],
				occurred[32];

	uuidv7(id, ms);
	timestamp(occurred, ms - rng_unit() * 2000);
	fprintf(out,
			"{\"event_id\":\"%s\",\"tenant_id\":\"tenant-%04d\",\"event_type\":\"%s\","
			"\"subject\":\"user-%ld\",\"occurred_at\":\"%s\",\"schema_version\":1,"
			"\"payload\":{\"actor\":{\"id\":\"u-%ld\",\"role\":\"%s\"},\"status\":\"%s\","
			"\"latency_ms\":%ld},\"metadata\":{\"trace_id\":\"%016llx\"}}\n",
			id, zipf_draw(cdf, tenants), event_types[rng_below(NELEM(event_types))],
			rng_below(50000), occurred, rng_below(50000), roles[rng_below(NELEM(roles))],
			statuses[rng_below(NELEM(statuses))], rng_below(800),
			(unsigned long long) rng_next());
}

/* Prints one synthetic event for time ms (the event's received time). */
static void
synthetic_event(FILE *out, double ms, const double *cdf, int tenants)
{
	char		id[37],
				occurred[32],
				body[MAX_PAYLOAD + 512];
	int			len,
				target,
				k;
	double		u = rng_unit();

	uuidv7(id, ms);
	timestamp(occurred, ms - rng_unit() * 2000);
	target = (int) (MIN_PAYLOAD * pow((double) MAX_PAYLOAD / MIN_PAYLOAD, u * u * u));
	if (target < 200)
		/* the smallest events: who did it, and how it went */
		len = snprintf(body, sizeof(body),
					   "{\"actor\":{\"id\":\"u-%ld\",\"role\":\"%s\",\"ip\":\"10.%ld.%ld.%ld\"},"
					   "\"status\":\"%s\",\"latency_ms\":%ld",
					   rng_below(50000), roles[rng_below(NELEM(roles))],
					   rng_below(256), rng_below(256), rng_below(256),
					   statuses[rng_below(NELEM(statuses))], rng_below(800));
	else
		len = snprintf(body, sizeof(body),
					   "{\"actor\":{\"id\":\"u-%ld\",\"role\":\"%s\",\"ip\":\"10.%ld.%ld.%ld\"},"
					   "\"resource\":{\"type\":\"%s\",\"id\":\"r-%ld\",\"amount\":%ld.%02ld,\"currency\":\"%s\"},"
					   "\"status\":\"%s\",\"latency_ms\":%ld,\"tags\":[\"%s\",\"%s\"]",
					   rng_below(50000), roles[rng_below(NELEM(roles))],
					   rng_below(256), rng_below(256), rng_below(256),
					   rtypes[rng_below(NELEM(rtypes))], rng_below(10000000), rng_below(10000),
					   rng_below(100), currencies[rng_below(NELEM(currencies))],
					   statuses[rng_below(NELEM(statuses))], rng_below(800),
					   channels[rng_below(NELEM(channels))], regions[rng_below(NELEM(regions))]);
	/* pad to the target size with a list of changes, as an audit event carries them */
	if (len + 20 < target)
	{
		len += snprintf(body + len, sizeof(body) - (size_t) len, ",\"changes\":[");
		for (k = 0; len + 90 < target && len + 200 < (int) sizeof(body); k++)
			len += snprintf(body + len, sizeof(body) - (size_t) len,
							"%s{\"field\":\"%s\",\"from\":\"%s-%ld\",\"to\":\"%s-%ld\",\"seq\":%d}",
							k ? "," : "", words[rng_below(NELEM(words))],
							words[rng_below(NELEM(words))], rng_below(1000),
							words[rng_below(NELEM(words))], rng_below(1000), k);
		len += snprintf(body + len, sizeof(body) - (size_t) len, "]");
	}
	snprintf(body + len, sizeof(body) - (size_t) len, "}");
	fprintf(out,
			"{\"event_id\":\"%s\",\"tenant_id\":\"tenant-%04d\",\"event_type\":\"%s\","
			"\"subject\":\"user-%ld\",\"occurred_at\":\"%s\",\"schema_version\":1,\"payload\":%s,"
			"\"metadata\":{\"trace_id\":\"%016llx\",\"user_agent\":\"%s\"}}\n",
			id, zipf_draw(cdf, tenants), event_types[rng_below(NELEM(event_types))],
			rng_below(50000), occurred, body, (unsigned long long) rng_next(),
			agents[rng_below(NELEM(agents))]);
}

/* Reads the non-empty lines of path; returns their number (0 on error). */
static size_t
read_lines(const char *path, char ***lines)
{
	FILE	   *f = fopen(path, "r");
	char	   *l = NULL;
	size_t		cap = 0,
				n = 0;
	ssize_t		got;

	if (f == NULL)
	{
		perror(path);
		return 0;
	}
	while ((got = getline(&l, &cap, f)) > 0)
	{
		if (l[got - 1] == '\n')
			l[--got] = '\0';
		if (got == 0)
			continue;
		*lines = realloc(*lines, (n + 1) * sizeof(char *));
		(*lines)[n++] = strdup(l);
	}
	free(l);
	fclose(f);
	return n;
}

/* Prints line with its event_id replaced by id (or put first when it has none). */
static void
replay_event(FILE *out, const char *line, const char *id)
{
	const char *p = strstr(line, "\"event_id\"");
	const char *q = p ? strchr(p + 10, ':') : NULL;

	if (q)
		q = strchr(q, '"');
	if (q)
		q = strchr(q + 1, '"');
	if (p && q)
		fprintf(out, "%.*s\"event_id\":\"%s\"%s\n", (int) (p - line), line, id, q + 1);
	else
		fprintf(out, "{\"event_id\":\"%s\",%s\n", id, line + 1);
}

/* Connects to host:port over TCP; -1 on error. */
static int
dial(const char *addr)
{
	char		host[128];
	const char *c = strrchr(addr, ':');
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int			fd;

	if (c == NULL || c - addr >= (long) sizeof(host))
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int) (c - addr), addr);
	sa.sin_port = htons((uint16_t) atoi(c + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0)
	{
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Sends each line of path as a syslog message to addr; prints the count sent. */
static int
send_syslog(const char *addr, const char *path)
{
	FILE	   *in = fopen(path, "r");
	FILE	   *out = NULL;
	char	   *l = NULL,
				ts[32],
				dummy[256];
	size_t		cap = 0;
	ssize_t		got;
	long		sent = 0;
	int			fd,
				rc = 1;
	struct timespec now;

	if (in == NULL)
	{
		perror(path);
		return 1;
	}
	fd = dial(addr);
	if (fd < 0)
	{
		fprintf(stderr, "evgen: cannot connect to %s\n", addr);
		goto done;
	}
	out = fdopen(fd, "w");
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	clock_gettime(CLOCK_REALTIME, &now);
	timestamp(ts, now.tv_sec * 1000.0 + now.tv_nsec / 1e6);
	while ((got = getline(&l, &cap, in)) > 0)
	{
		if (l[got - 1] == '\n')
			l[--got] = '\0';
		if (got == 0)
			continue;
		/* <134> = local0.info; RFC 5424: VERSION TIMESTAMP HOST APP PROCID MSGID SD MSG */
		if (fprintf(out, "<134>1 %s bench evgen - - - %s\n", ts, l) < 0)
			goto done;
		sent++;
	}
	if (fflush(out) != 0)
		goto done;
	/* half-close, then wait for the peer to close: it has read everything */
	shutdown(fd, SHUT_WR);
	while (read(fd, dummy, sizeof(dummy)) > 0)
		;
	printf("%ld\n", sent);
	rc = 0;
done:
	if (rc != 0)
		fprintf(stderr, "evgen: sending to %s failed after %ld messages\n", addr, sent);
	if (out)
		fclose(out);
	free(l);
	fclose(in);
	return rc;
}

/* Parses the options, then generates the events or sends a file of them. */
int
main(int argc, char **argv)
{
	long		n = 0,
				i;
	uint64_t	seed = 1;
	double		start_ms = 0,
				zipf_s = 1.1;
	int			tenants = 1000,
				compact = 0,
				o;
	const char *replay = NULL,
			   *send_to = NULL,
			   *file = NULL;
	char	  **lines = NULL;
	size_t		nlines = 0;
	double	   *cdf;
	FILE	   *out = stdout;
	static char outbuf[1 << 20];

	while ((o = getopt(argc, argv, "n:s:t:T:z:g:S:f:c")) != -1)
		switch (o)
		{
			case 'n':
				n = atol(optarg);
				break;
			case 's':
				seed = strtoull(optarg, NULL, 10);
				break;
			case 't':
				start_ms = atof(optarg);
				break;
			case 'T':
				tenants = atoi(optarg);
				break;
			case 'z':
				zipf_s = atof(optarg);
				break;
			case 'g':
				replay = optarg;
				break;
			case 'S':
				send_to = optarg;
				break;
			case 'f':
				file = optarg;
				break;
			case 'c':
				compact = 1;
				break;
			default:
				fprintf(stderr, "usage: see the comment at the top of bench/evgen.c\n");
				return 2;
		}
	if (send_to)
	{
		if (file == NULL)
		{
			fprintf(stderr, "evgen: -S needs -f FILE\n");
			return 2;
		}
		return send_syslog(send_to, file);
	}
	if (n <= 0 || tenants <= 0)
	{
		fprintf(stderr, "evgen: -n N (N > 0) is required\n");
		return 2;
	}
	if (start_ms <= 0)
	{
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		start_ms = now.tv_sec * 1000.0;
	}
	if (replay && (nlines = read_lines(replay, &lines)) == 0)
	{
		fprintf(stderr, "evgen: no events in %s\n", replay);
		return 1;
	}
	rng_state = seed;
	setvbuf(out, outbuf, _IOFBF, sizeof(outbuf));
	cdf = zipf_cdf(tenants, zipf_s);
	for (i = 0; i < n; i++)
	{
		double		ms = start_ms + i * 0.01;

		if (replay)
		{
			char		id[37];

			uuidv7(id, ms);
			replay_event(out, lines[i % (long) nlines], id);
		}
		else if (compact)
			compact_event(out, ms, cdf, tenants);
		else
			synthetic_event(out, ms, cdf, tenants);
	}
	if (fflush(out) != 0)
	{
		perror("evgen: stdout");
		return 1;
	}
	free(cdf);
	return 0;
}
