/*
 * evload: HTTP load generator for eventlogd tests and benchmarks.
 *
 *   evload -a 127.0.0.1:8687 | -U /path/sock  -l LOG  [-c conns] [-b events/request]
 *          [-n total events] [-d seconds] [-s payload bytes] [-T tenants] [-r run id]
 *          [-f file.ndjson (events to cycle through)] [-o acked-ids file] [-q ack query]
 *          [-R events/s (pace all clients together to this rate; 0: as fast as possible)]
 *
 * Every event gets event_id uuid(run, counter), so a test can check which acknowledged
 * events are in PostgreSQL, and how often. Prints one summary line (events/s, p50/p99 ack
 * latency, status counts). Bounded by -n and -d; targets only the address given.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *addr = "127.0.0.1:8687";
static const char *usock;
static const char *logname = "audit";
static int	conns = 8;
static int	per_req = 100;
static long total = 100000;
static double duration = 0;
static int	payload = 200;
static int	tenants = 16;
static unsigned run_id = 1;
static const char *query = "";
static char **lines;
static size_t nlines;
static size_t max_line;		/* longest line of the file; sizes the request buffers */
static FILE *acked;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long next_event;
static long ok_events,
			dup_events;
static long status_counts[600];
static double *lat;
static size_t nlat,
			caplat;
static double t_start;
static double rate;				/* -R: events/s for all clients together, 0: no pacing */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
dial(void)
{
	int			fd;

	if (usock)
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", usock);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0)
		{
			close(fd);
			return -1;
		}
		return fd;
	}
	else
	{
		char		host[128];
		const char *c = strrchr(addr, ':');
		struct sockaddr_in sa = {.sin_family = AF_INET};
		int			one = 1;

		snprintf(host, sizeof(host), "%.*s", (int) (c - addr), addr);
		sa.sin_port = htons((uint16_t) atoi(c + 1));
		inet_pton(AF_INET, host, &sa.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0)
		{
			close(fd);
			return -1;
		}
		return fd;
	}
}

static void
make_id(char *out, long n)
{
	snprintf(out, 40, "%08x-0000-4000-8000-%012lx", run_id, (unsigned long) n & 0xffffffffffffUL);
}

/* Take the next n event numbers; returns the first, or -1 when done. */
static long
take(int n, int *got)
{
	long		first;

	pthread_mutex_lock(&mu);
	first = next_event;
	if ((total > 0 && first >= total) || (duration > 0 && now() - t_start >= duration))
	{
		pthread_mutex_unlock(&mu);
		return -1;
	}
	*got = total > 0 && first + n > total ? (int) (total - first) : n;
	next_event += *got;
	pthread_mutex_unlock(&mu);
	if (rate > 0)
	{
		/* event number first is due at t_start + first / rate */
		double		wait = t_start + first / rate - now();

		if (wait > 0)
			usleep((useconds_t) (wait * 1e6));
	}
	return first;
}

static void *
client(void *arg)
{
	/* each event: the longer of a generated one and a file line, plus its event_id and framing */
	size_t		per_event = ((size_t) payload > max_line ? (size_t) payload : max_line) + 512;
	char	   *body = malloc((size_t) per_req * per_event + 4096);
	char	   *req = malloc((size_t) per_req * per_event + 8192);
	char		resp[65536];
	char	   *pad = malloc((size_t) payload + 1);
	int			fd = -1;

	(void) arg;
	memset(pad, 'x', (size_t) payload);
	pad[payload] = '\0';
	for (;;)
	{
		int			n = 0,
					i,
					hl,
					status = 0;
		long		first = take(per_req, &n);
		size_t		blen = 0,
					got = 0;
		double		t0;
		char		id[40];

		if (first < 0)
			break;
		for (i = 0; i < n; i++)
		{
			long		k = first + i;

			make_id(id, k);
			if (nlines)
			{
				/* the file's event with our event_id in front (its own is replaced) */
				const char *src = lines[k % nlines];
				const char *p = strstr(src, "\"event_id\"");

				if (p)
				{
					const char *q = strchr(p + 11, '"');

					q = q ? strchr(q + 1, '"') : NULL;
					blen += (size_t) sprintf(body + blen, "%.*s\"event_id\":\"%s\"%s\n", (int) (p - src), src, id, q + 1);
				}
				else
					blen += (size_t) sprintf(body + blen, "{\"event_id\":\"%s\",%s\n", id, src + 1);
			}
			else
				blen += (size_t) sprintf(body + blen,
										 "{\"event_id\":\"%s\",\"tenant_id\":\"tenant-%ld\",\"event_type\":\"load.test\","
										 "\"subject\":\"user-%ld\",\"payload\":{\"n\":%ld,\"pad\":\"%s\"}}\n",
										 id, k % tenants, k % 1000, k, pad);
		}
		hl = sprintf(req, "POST /v1/logs/%s/events%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
					 "Content-Length: %zu\r\n\r\n", logname, query, blen);
		memcpy(req + hl, body, blen);
		t0 = now();
		for (;;)
		{
			size_t		sent = 0;

			if (fd < 0 && (fd = dial()) < 0)
			{
				usleep(100000);
				if (duration > 0 && now() - t_start > duration + 30)
					goto out;
				continue;
			}
			while (sent < hl + blen)
			{
				ssize_t		w = write(fd, req + sent, hl + blen - sent);

				if (w <= 0)
					break;
				sent += (size_t) w;
			}
			got = 0;
			status = 0;
			if (sent == hl + blen)
				for (;;)
				{
					ssize_t		r = read(fd, resp + got, sizeof(resp) - 1 - got);
					char	   *e;

					if (r <= 0)
						break;
					got += (size_t) r;
					resp[got] = '\0';
					e = strstr(resp, "\r\n\r\n");
					if (e)
					{
						char	   *cl = strcasestr(resp, "Content-Length:");
						size_t		need = (size_t) (e + 4 - resp) + (cl ? (size_t) atol(cl + 15) : 0);

						if (got >= need)
						{
							status = atoi(resp + 9);
							break;
						}
					}
				}
			if (status == 0)
			{
				close(fd);
				fd = -1;
				usleep(50000);
				continue;		/* connection lost: retry the same request (same ids) */
			}
			if (status == 503 || status == 429)
			{
				if (now() - t_start > (duration > 0 ? duration : 60) + 60)
					goto out;	/* bounded: give up on a server that stays unavailable */
				pthread_mutex_lock(&mu);
				status_counts[status]++;
				pthread_mutex_unlock(&mu);
				usleep(200000);
				continue;
			}
			break;
		}
		pthread_mutex_lock(&mu);
		if (status < 600)
			status_counts[status]++;
		if (status == 202)
		{
			char	   *d = strstr(resp, "\"duplicates\":");
			long		dups = d ? atol(d + 13) : 0;

			ok_events += n;
			dup_events += dups;
			if (acked)
				for (i = 0; i < n; i++)
				{
					make_id(id, first + i);
					fprintf(acked, "%s\n", id);
				}
		}
		if (nlat == caplat)
		{
			caplat = caplat ? caplat * 2 : 65536;
			lat = realloc(lat, caplat * sizeof(double));
		}
		lat[nlat++] = now() - t0;
		pthread_mutex_unlock(&mu);
	}
out:
	if (fd >= 0)
		close(fd);
	free(body);
	free(req);
	free(pad);
	return NULL;
}

static int
cmpd(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int			o,
				i;
	pthread_t  *th;
	double		el;
	const char *file = NULL;

	while ((o = getopt(argc, argv, "a:U:l:c:b:n:d:s:T:r:f:o:q:R:")) != -1)
		switch (o)
		{
			case 'a': addr = optarg; break;
			case 'U': usock = optarg; break;
			case 'l': logname = optarg; break;
			case 'c': conns = atoi(optarg); break;
			case 'b': per_req = atoi(optarg); break;
			case 'n': total = atol(optarg); break;
			case 'd': duration = atof(optarg); total = duration > 0 && total == 100000 ? 0 : total; break;
			case 's': payload = atoi(optarg); break;
			case 'T': tenants = atoi(optarg); break;
			case 'r': run_id = (unsigned) strtoul(optarg, NULL, 16); break;
			case 'f': file = optarg; break;
			case 'o': acked = fopen(optarg, "a"); break;
			case 'q': query = optarg; break;
			case 'R': rate = atof(optarg); break;
			default:
				fprintf(stderr, "usage: see the comment at the top of evload.c\n");
				return 2;
		}
	if (file)
	{
		FILE	   *f = fopen(file, "r");
		char	   *l = NULL;
		size_t		cap = 0;
		ssize_t		n;

		if (!f)
		{
			perror(file);
			return 2;
		}
		while ((n = getline(&l, &cap, f)) > 0)
		{
			if (l[n - 1] == '\n')
				l[--n] = '\0';
			if (n == 0)
				continue;
			lines = realloc(lines, (nlines + 1) * sizeof(char *));
			lines[nlines++] = strdup(l);
			if ((size_t) n > max_line)
				max_line = (size_t) n;
		}
		free(l);
		fclose(f);
	}
	if (acked)
		setvbuf(acked, NULL, _IOLBF, 0);
	th = calloc((size_t) conns, sizeof(*th));
	t_start = now();
	for (i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, client, NULL);
	for (i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	el = now() - t_start;
	qsort(lat, nlat, sizeof(double), cmpd);
	printf("evload: %ld events acked in %.2f s = %.0f events/s, %zu requests, ack p50 %.2f ms p99 %.2f ms, "
		   "duplicates %ld, status 202:%ld 400:%ld 404:%ld 429:%ld 503:%ld\n",
		   ok_events, el, ok_events / el, nlat, nlat ? lat[nlat / 2] * 1000 : 0, nlat ? lat[(size_t) (nlat * 0.99)] * 1000 : 0,
		   dup_events, status_counts[202], status_counts[400], status_counts[404], status_counts[429], status_counts[503]);
	if (acked)
		fclose(acked);
	return status_counts[400] || status_counts[404] ? 1 : 0;
}
