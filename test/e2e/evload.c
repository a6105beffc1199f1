/*
 * evload: HTTP load generator for eventlogd tests and benchmarks.
 *
 *   evload -a 127.0.0.1:8687 | -U /path/sock  -l LOG  [-c conns] [-b events/request]
 *          [-n total events] [-d seconds] [-s payload bytes] [-T tenants] [-r run id]
 *          [-f file.ndjson (events to cycle through)] [-o acked-ids file] [-q ack query]
 *          [-R events/s (pace all clients together to this rate; 0: as fast as possible)]
 *          [-t threads (the conns share this many epoll threads; default: a blocking thread each)]
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
#include <fcntl.h>
#include <sys/epoll.h>
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
static int	nthreads;			/* -t: epoll threads (0: one blocking thread per connection) */

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

/* Build the request for events first..first+n-1 into req; returns its length. */
static size_t
build_request(char *req, char *body, const char *pad, long first, int n)
{
	size_t		blen = 0;
	int			i,
				hl;
	char		id[40];

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
	return (size_t) hl + blen;
}

/* Status of a complete response in resp[0..got), 0 while incomplete. */
static int
response_status(char *resp, size_t got)
{
	char	   *e;

	resp[got] = '\0';
	e = strstr(resp, "\r\n\r\n");
	if (e)
	{
		char	   *cl = strcasestr(resp, "Content-Length:");
		size_t		need = (size_t) (e + 4 - resp) + (cl ? (size_t) atol(cl + 15) : 0);

		if (got >= need)
			return atoi(resp + 9);
	}
	return 0;
}

/* Count a final answer. */
static void
record_answer(int status, const char *resp, long first, int n, double t0)
{
	char		id[40];
	int			i;

	pthread_mutex_lock(&mu);
	if (status < 600)
		status_counts[status]++;
	if (status == 202)
	{
		const char *d = strstr(resp, "\"duplicates\":");
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
					status = 0;
		long		first = take(per_req, &n);
		size_t		reqlen,
					got = 0;
		double		t0;

		if (first < 0)
			break;
		reqlen = build_request(req, body, pad, first, n);
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
			while (sent < reqlen)
			{
				ssize_t		w = write(fd, req + sent, reqlen - sent);

				if (w <= 0)
					break;
				sent += (size_t) w;
			}
			got = 0;
			status = 0;
			if (sent == reqlen)
				for (;;)
				{
					ssize_t		r = read(fd, resp + got, sizeof(resp) - 1 - got);

					if (r <= 0)
						break;
					got += (size_t) r;
					if ((status = response_status(resp, got)) != 0)
						break;
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
		record_answer(status, resp, first, n, t0);
	}
out:
	if (fd >= 0)
		close(fd);
	free(body);
	free(req);
	free(pad);
	return NULL;
}

/* One connection of an epoll thread. */
struct econn {
	int			fd;
	char	   *req;
	size_t		reqlen,
				sent;
	char	   *resp;
	size_t		got;
	long		first;
	int			n;
	double		t0;
	double		retry_at;		/* 503/429 or a lost connection: send again at this time */
	int			done;
};

static void
econn_arm(int ep, struct econn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* (Re)connect c and start sending its request. */
static void
econn_start(int ep, struct econn *c)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};

	if (c->fd < 0)
	{
		c->fd = dial();
		if (c->fd < 0)
		{
			c->retry_at = now() + 0.1;
			return;
		}
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	}
	else
		econn_arm(ep, c, EPOLLOUT);
	c->sent = 0;
	c->got = 0;
	c->retry_at = 0;
}

/* Take the next events for c, or mark it done. */
static void
econn_next(int ep, struct econn *c, char *body, const char *pad)
{
	c->first = take(per_req, &c->n);
	if (c->first < 0)
	{
		c->done = 1;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return;
	}
	c->reqlen = build_request(c->req, body, pad, c->first, c->n);
	c->t0 = now();
	econn_start(ep, c);
}

/* -t: an epoll thread driving its share of the connections, one request in flight each. */
static void *
loop_thread(void *arg)
{
	int			mine = (int) (long) arg;
	size_t		per_event = ((size_t) payload > max_line ? (size_t) payload : max_line) + 512;
	char	   *body = malloc((size_t) per_req * per_event + 4096);
	char	   *pad = malloc((size_t) payload + 1);
	struct econn *cs = calloc((size_t) mine, sizeof(*cs));
	struct epoll_event evs[256];
	int			ep = epoll_create1(0),
				i,
				left = mine;

	memset(pad, 'x', (size_t) payload);
	pad[payload] = '\0';
	for (i = 0; i < mine; i++)
	{
		cs[i].fd = -1;
		cs[i].req = malloc((size_t) per_req * per_event + 8192);
		cs[i].resp = malloc(65536);
		econn_next(ep, &cs[i], body, pad);
	}
	while (left > 0)
	{
		int			k = epoll_wait(ep, evs, 256, 10),
					j;
		double		t = now();

		for (j = 0; j < k; j++)
		{
			struct econn *c = evs[j].data.ptr;
			int			status = 0,
						lost = 0;

			if (c->sent < c->reqlen)
			{
				ssize_t		w = send(c->fd, c->req + c->sent, c->reqlen - c->sent, MSG_NOSIGNAL);

				if (w > 0)
					c->sent += (size_t) w;
				else if (!(w < 0 && errno == EAGAIN))
					lost = 1;
				if (!lost && c->sent == c->reqlen)
					econn_arm(ep, c, EPOLLIN);
			}
			else
			{
				ssize_t		r = recv(c->fd, c->resp + c->got, 65535 - c->got, 0);

				if (r > 0)
				{
					c->got += (size_t) r;
					status = response_status(c->resp, c->got);
				}
				else if (!(r < 0 && errno == EAGAIN))
					lost = 1;
			}
			if (lost)
			{
				/* connection lost: the same request again (same ids) on a new one */
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				c->retry_at = t + 0.05;
			}
			else if (status == 503 || status == 429)
			{
				pthread_mutex_lock(&mu);
				status_counts[status]++;
				pthread_mutex_unlock(&mu);
				if (t - t_start > (duration > 0 ? duration : 60) + 60)
				{
					c->done = 1;	/* bounded: give up on a server that stays unavailable */
					close(c->fd);
					c->fd = -1;
					left--;
					continue;
				}
				econn_arm(ep, c, 0);
				c->retry_at = t + 0.2;
			}
			else if (status != 0)
			{
				record_answer(status, c->resp, c->first, c->n, c->t0);
				econn_next(ep, c, body, pad);
				if (c->done)
					left--;
			}
		}
		for (i = 0; i < mine; i++)
			if (!cs[i].done && cs[i].retry_at > 0 && cs[i].retry_at <= t)
				econn_start(ep, &cs[i]);
	}
	for (i = 0; i < mine; i++)
	{
		free(cs[i].req);
		free(cs[i].resp);
	}
	free(cs);
	free(body);
	free(pad);
	close(ep);
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

	while ((o = getopt(argc, argv, "a:U:l:c:b:n:d:s:T:r:f:o:q:R:t:")) != -1)
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
			case 't': nthreads = atoi(optarg); break;
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
	if (nthreads > 0)
	{
		if (nthreads > conns)
			nthreads = conns;
		for (i = 0; i < nthreads; i++)
			pthread_create(&th[i], NULL, loop_thread, (void *) (long) (conns / nthreads + (i < conns % nthreads)));
		for (i = 0; i < nthreads; i++)
			pthread_join(th[i], NULL);
	}
	else
	{
		for (i = 0; i < conns; i++)
			pthread_create(&th[i], NULL, client, NULL);
		for (i = 0; i < conns; i++)
			pthread_join(th[i], NULL);
	}
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
