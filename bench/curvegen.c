/*
 * curvegen: writes synthetic events for the cost curves (bench/curves.sh), as
 * COPY text rows of the 9 envelope columns or as NDJSON envelopes, fast enough
 * that a 50-million-row log can be loaded in 1M-row chunks without the
 * generator being the bottleneck (SQL generation runs at ~100k rows/s here).
 *
 *   curvegen -n COUNT [-f FIRST] [-t TENANTS] [-u] [-b BASE_US] [-s STEP_US]
 *            [-F text|ndjson] [-x SALT] [-r PICKS [-R SEED]]
 *
 * Row n (FIRST <= n < FIRST + COUNT) is a pure function of n and SALT, so a
 * chunk can be regenerated and two runs load the same events:
 *   - tenant: "tenant-NNNNN" of TENANTS (default 100), skewed like bench/run.sh
 *     (floor(T * u^2): tenant 0 gets ~10% of 100) or uniform with -u;
 *   - 20 event types, 50,000 subjects, a nested JSON payload of ~225 bytes
 *     (actor, resource with an amount, status, latency, tags) and a metadata
 *     object with a trace id: ~390 bytes a COPY row, as in bench/run.sh;
 *   - received_at = BASE_US + n * STEP_US (microseconds since the Unix epoch),
 *     occurred_at up to 2 s earlier;
 *   - event_id = a UUIDv7 of received_at (48-bit milliseconds, 12 bits of the
 *     sub-millisecond fraction, 62 random bits from the hash of n), so ids are
 *     time-ordered and unique, as eventlogd and eventlog.uuidv7() stamp them.
 *     NDJSON envelopes carry the id but no received_at (the server stamps it).
 *
 * With -r, only PICKS rows of the range are written, chosen at random (by the
 * hash of SEED): curves.sh samples existing event_ids that way for get_event().
 *
 * Writes to stdout; exits 2 on a usage error, 1 on a write error.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vocab.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* splitmix64: a well-mixed 64-bit hash of x. */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A uniform number in [0, 1) for row n and a field's salt. */
static double
unit(uint64_t n, uint64_t salt, uint64_t field)
{
	return (double) (mix(n ^ mix(salt * 131 + field)) >> 11) / 9007199254740992.0;
}

/* Formats microseconds since the epoch as ISO 8601 in UTC ('T' or ' ' between). */
static void
format_ts(char *out, size_t cap, int64_t us, char sep, const char *zone)
{
	time_t		secs = (time_t) (us / 1000000);
	unsigned	frac = (unsigned) (us % 1000000);
	struct tm	tm;

	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%04d-%02d-%02d%c%02d:%02d:%02d.%06u%s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, sep, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, frac % 1000000u, zone);
}

/* The UUIDv7 of received_at (microseconds) with random bits from row n. */
static void
format_uuidv7(char *out, int64_t us, uint64_t n, uint64_t salt)
{
	uint64_t	ms = (uint64_t) (us / 1000);
	uint64_t	frac = (uint64_t) (us % 1000) * 4096 / 1000;
	uint64_t	hi = (ms << 16) | (0x7ULL << 12) | frac;
	uint64_t	lo = (mix(n ^ mix(salt + 0x5eed)) & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;

	sprintf(out, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
			hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48, lo & UINT64_C(0xffffffffffff));
}

static void
usage(void)
{
	fprintf(stderr, "usage: curvegen -n COUNT [-f FIRST] [-t TENANTS] [-u] [-b BASE_US] [-s STEP_US]\n"
			"                [-F text|ndjson] [-x SALT] [-r PICKS [-R SEED]]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int64_t		first = 0,
				count = -1,
				tenants = 100,
				base = 1767225600000000LL,	/* 2026-01-01 00:00 UTC */
				step = 10;
	uint64_t	salt = 1,
				seed = 0;
	int64_t		picks = -1;
	int			uniform = 0,
				ndjson = 0,
				opt;
	static char outbuf[1 << 20];

	while ((opt = getopt(argc, argv, "f:n:t:ub:s:F:x:r:R:")) != -1)
	{
		switch (opt)
		{
			case 'f':
				first = strtoll(optarg, NULL, 10);
				break;
			case 'n':
				count = strtoll(optarg, NULL, 10);
				break;
			case 't':
				tenants = strtoll(optarg, NULL, 10);
				break;
			case 'u':
				uniform = 1;
				break;
			case 'b':
				base = strtoll(optarg, NULL, 10);
				break;
			case 's':
				step = strtoll(optarg, NULL, 10);
				break;
			case 'F':
				if (strcmp(optarg, "ndjson") == 0)
					ndjson = 1;
				else if (strcmp(optarg, "text") != 0)
					usage();
				break;
			case 'x':
				salt = strtoull(optarg, NULL, 10);
				break;
			case 'r':
				picks = strtoll(optarg, NULL, 10);
				break;
			case 'R':
				seed = strtoull(optarg, NULL, 10);
				break;
			default:
				usage();
		}
	}
	if (count < 0 || first < 0 || tenants < 1 || step < 0 || optind != argc ||
		(picks >= 0 && count == 0))
		usage();
	/* big stdout buffer: one write per MiB instead of one per line */
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	for (int64_t i = 0; i < (picks >= 0 ? picks : count); i++)
	{
		int64_t		n = picks >= 0 ? first + (int64_t) (mix(mix(seed) + (uint64_t) i) % (uint64_t) count) : first + i;
		uint64_t	un = (uint64_t) n;
		double		ut = unit(un, salt, 't');
		int64_t		tenant = (int64_t) ((double) tenants * (uniform ? ut : ut * ut));
		int64_t		received = base + n * step;
		int64_t		occurred = received - (int64_t) (unit(un, salt, 'o') * 2e6);
		char		id[40],
					rts[64],
					ots[64],
					tname[32],
					payload[512],
					trace[20];

#define PICK(arr, f) (arr)[(size_t) (unit(un, salt, (f)) * NELEM(arr))]
		if (tenant >= tenants)
			tenant = tenants - 1;
		snprintf(tname, sizeof(tname), "tenant-%05" PRId64, tenant);
		format_uuidv7(id, received, un, salt);
		snprintf(trace, sizeof(trace), "%016" PRIx64, mix(un ^ mix(salt + 'm')));
		snprintf(payload, sizeof(payload),
				 "{\"actor\": {\"id\": \"u-%d\", \"ip\": \"10.%d.%d.%d\", \"role\": \"%s\"}, "
				 "\"resource\": {\"id\": \"r-%d\", \"type\": \"%s\", \"amount\": %.2f, \"currency\": \"%s\"}, "
				 "\"status\": \"%s\", \"latency_ms\": %d, \"tags\": [\"%s\", \"%s\"]}",
				 (int) (unit(un, salt, 'a') * 50000), (int) (unit(un, salt, 1) * 256),
				 (int) (unit(un, salt, 2) * 256), (int) (unit(un, salt, 3) * 256), PICK(roles, 'r'),
				 (int) (unit(un, salt, 'd') * 1e7), PICK(rtypes, 'y'), unit(un, salt, 'm') * 10000,
				 PICK(currencies, 'c'), PICK(statuses, 's'), (int) (unit(un, salt, 'l') * 800),
				 PICK(channels, 4), PICK(regions, 5));
		if (ndjson)
		{
			format_ts(ots, sizeof(ots), occurred, 'T', "Z");
			printf("{\"event_id\": \"%s\", \"tenant_id\": \"%s\", \"event_type\": \"%s\", "
				   "\"subject\": \"user-%d\", \"occurred_at\": \"%s\", \"schema_version\": 1, "
				   "\"payload\": %s, \"metadata\": {\"trace_id\": \"%s\"}}\n",
				   id, tname, PICK(event_types, 'e'), (int) (unit(un, salt, 'u') * 50000), ots,
				   payload, trace);
		}
		else
		{
			format_ts(ots, sizeof(ots), occurred, ' ', "+00");
			format_ts(rts, sizeof(rts), received, ' ', "+00");
			printf("%s\t%s\t%s\tuser-%d\t%s\t%s\t1\t%s\t{\"trace_id\": \"%s\"}\n",
				   id, tname, PICK(event_types, 'e'), (int) (unit(un, salt, 'u') * 50000), ots, rts,
				   payload, trace);
		}
#undef PICK
	}
	if (fflush(stdout) != 0 || ferror(stdout))
	{
		perror("curvegen: write");
		return 1;
	}
	return 0;
}
