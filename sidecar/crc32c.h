/* CRC-32C (Castagnoli), hardware-accelerated where the CPU has SSE4.2. */
#ifndef EV_CRC32C_H
#define EV_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (start with 0) over n bytes; returns the finished CRC of all bytes so far. */
uint32_t	crc32c_update(uint32_t crc, const void *data, size_t n);
/* The portable table-driven version (used as fallback, and by tests to check the fast path). */
uint32_t	crc32c_update_sw(uint32_t crc, const void *data, size_t n);

#endif
