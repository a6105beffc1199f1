/* CRC-32C (Castagnoli), hardware-accelerated where the CPU has SSE4.2. */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int	crc_have_hw;

/* Build the slice-by-8 tables for the reflected polynomial 0x82F63B78. */
static void
crc32c_init(void)
{
	uint32_t	i,
				j,
				c;

	for (i = 0; i < 256; i++)
	{
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc_table[j][i] = (crc_table[j - 1][i] >> 8) ^ crc_table[0][crc_table[j - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_have_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* Table-driven CRC-32C. */
uint32_t
crc32c_update_sw(uint32_t crc, const void *data, size_t n)
{
	const unsigned char *p = data;

	pthread_once(&crc_once, crc32c_init);
	crc = ~crc;
	while (n >= 8)
	{
		uint32_t	lo = crc ^ ((uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24);
		uint32_t	hi = (uint32_t) p[4] | (uint32_t) p[5] << 8 | (uint32_t) p[6] << 16 | (uint32_t) p[7] << 24;

		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
			crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
			crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
			crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
/* SSE4.2 CRC32 instruction path. */
__attribute__((target("sse4.2")))
static uint32_t
crc32c_update_hw(uint32_t crc, const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t	c = ~crc;

	while (n >= 8)
	{
		uint64_t	v;

		memcpy(&v, p, 8);		/* x86 is little-endian, as the CRC wants */
		c = _mm_crc32_u64(c, v);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = _mm_crc32_u8((uint32_t) c, *p++);
	return ~(uint32_t) c;
}
#endif

/* CRC-32C of data, continuing from crc. */
uint32_t
crc32c_update(uint32_t crc, const void *data, size_t n)
{
	pthread_once(&crc_once, crc32c_init);
#if defined(__x86_64__)
	if (crc_have_hw)
		return crc32c_update_hw(crc, data, n);
#endif
	return crc32c_update_sw(crc, data, n);
}
