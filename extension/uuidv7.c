/* UUIDv7 (RFC 9562): time-ordered event ids, and the time they carry. */
#include "postgres.h"

#include "fmgr.h"
#include "port/pg_bswap.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "ev.h"

PG_FUNCTION_INFO_V1(ev_uuidv7);
PG_FUNCTION_INFO_V1(ev_uuidv7_time);

/* Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01). */
#define EPOCH_DIFF_USECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC)

/*
 * Last (unix_ms, sub-ms fraction) handed out by this backend, so that ids made
 * in one backend within the same millisecond still sort in call order
 * (RFC 9562, method 3: the 12 bits of rand_a hold the sub-millisecond fraction).
 */
static int64 last_ms = 0;
static uint16 last_frac = 0;

/* Fills buf with a version 7 UUID for unix time usecs (microseconds). */
static void
MakeUuidV7(unsigned char *buf, int64 unix_usecs)
{
	int64		ms = unix_usecs / 1000;
	uint16		frac = (uint16) (((unix_usecs % 1000) * 4096) / 1000);

	if (ms < 0)
		ms = 0;
	if (ms == last_ms && frac <= last_frac)
	{
		frac = last_frac + 1;
		if (frac > 0x0FFF)
		{
			ms++;
			frac = 0;
		}
	}
	else if (ms < last_ms && unix_usecs / 1000 >= last_ms - 1)
	{
		/* small backwards clock step: keep monotonic */
		ms = last_ms;
		frac = last_frac + 1;
		if (frac > 0x0FFF)
		{
			ms++;
			frac = 0;
		}
	}
	last_ms = ms;
	last_frac = frac;

	if (!pg_strong_random(buf + 8, 8))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random values")));
	buf[0] = (unsigned char) (ms >> 40);
	buf[1] = (unsigned char) (ms >> 32);
	buf[2] = (unsigned char) (ms >> 24);
	buf[3] = (unsigned char) (ms >> 16);
	buf[4] = (unsigned char) (ms >> 8);
	buf[5] = (unsigned char) ms;
	buf[6] = (unsigned char) (0x70 | ((frac >> 8) & 0x0F));
	buf[7] = (unsigned char) (frac & 0xFF);
	buf[8] = (unsigned char) ((buf[8] & 0x3F) | 0x80);	/* variant 10 */
}

/* Fills buf (16 bytes) with a version 7 UUID for the current time. */
void
EvNewUuidV7(unsigned char *buf)
{
	MakeUuidV7(buf, GetCurrentTimestamp() + EPOCH_DIFF_USECS);
}

/* uuidv7(ts timestamptz DEFAULT clock_timestamp()) RETURNS uuid */
Datum
ev_uuidv7(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_ARGISNULL(0) ? GetCurrentTimestamp() : PG_GETARG_TIMESTAMPTZ(0);
	pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for uuidv7: %s",
						TIMESTAMP_IS_NOBEGIN(ts) ? "-infinity" : "infinity")));
	MakeUuidV7(uuid->data, ts + EPOCH_DIFF_USECS);
	PG_RETURN_UUID_P(uuid);
}

/* uuidv7_time(uuid) RETURNS timestamptz: the time a version 7 UUID carries, else NULL. */
Datum
ev_uuidv7_time(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *uuid = PG_GETARG_UUID_P(0);
	const unsigned char *b = uuid->data;
	int64		ms;

	if ((b[6] >> 4) != 7 || (b[8] & 0xC0) != 0x80)
		PG_RETURN_NULL();
	ms = ((int64) b[0] << 40) | ((int64) b[1] << 32) | ((int64) b[2] << 24) |
		((int64) b[3] << 16) | ((int64) b[4] << 8) | (int64) b[5];
	/* Millisecond precision: other generators put random bits below it. */
	PG_RETURN_TIMESTAMPTZ(ms * 1000 - EPOCH_DIFF_USECS);
}
