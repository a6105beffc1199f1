/* UUIDs: parse and format the text form, generate UUIDv7 (RFC 9562, monotonic per process). */
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "ev.h"
#include "uuid.h"

static pthread_mutex_t uuid_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char pool[4096];
static size_t pool_pos = sizeof(pool);
static int64_t last_ms;
static unsigned int counter;


/* Parse the 8-4-4-4-12 text form. */
int
uuid_parse(const char *s, size_t len, unsigned char out[16])
{
	size_t		i,
				o = 0;

	if (len != UUID_TEXT_LEN)
		return EV_ERROR;
	for (i = 0; i < len;)
	{
		int			hi,
					lo;

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return EV_ERROR;
			i++;
			continue;
		}
		hi = ev_hexval(s[i]);
		lo = ev_hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return EV_ERROR;
		out[o++] = (unsigned char) (hi * 16 + lo);
		i += 2;
	}
	return o == 16 ? EV_OK : EV_ERROR;
}

/* Format as text. */
void
uuid_format(const unsigned char u[16], char out[UUID_TEXT_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	int			i,
				o = 0;

	for (i = 0; i < 16; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
}

/* New UUIDv7. */
void
uuid_v7(int64_t unix_ms, unsigned char out[16])
{
	unsigned char rnd[8];
	uint64_t	ms;

	pthread_mutex_lock(&uuid_mu);
	if (pool_pos + sizeof(rnd) > sizeof(pool))
	{
		size_t		got = 0;

		while (got < sizeof(pool))
		{
			ssize_t		n = getrandom(pool + got, sizeof(pool) - got, 0);

			if (n > 0)
				got += (size_t) n;
		}
		pool_pos = 0;
	}
	memcpy(rnd, pool + pool_pos, sizeof(rnd));
	pool_pos += sizeof(rnd);
	/* RFC 9562 method 1: a counter in rand_a orders ids made in the same millisecond */
	if (unix_ms > last_ms)
	{
		last_ms = unix_ms;
		counter = rnd[0] & 0x3f;	/* random start, with room to count up */
	}
	else if (++counter > 0xfff)
	{
		last_ms++;				/* borrow the next millisecond rather than repeat */
		counter = 0;
	}
	ms = (uint64_t) last_ms;
	out[0] = (unsigned char) (ms >> 40);
	out[1] = (unsigned char) (ms >> 32);
	out[2] = (unsigned char) (ms >> 24);
	out[3] = (unsigned char) (ms >> 16);
	out[4] = (unsigned char) (ms >> 8);
	out[5] = (unsigned char) ms;
	out[6] = (unsigned char) (0x70 | ((counter >> 8) & 0x0f));
	out[7] = (unsigned char) counter;
	pthread_mutex_unlock(&uuid_mu);
	out[8] = (unsigned char) (0x80 | (rnd[1] & 0x3f));
	memcpy(out + 9, rnd + 2, 6);
	out[15] = rnd[7] ^ rnd[0];
}
