/* UUIDs: parse and format the text form, generate UUIDv7 (RFC 9562, monotonic per process). */
#ifndef EV_UUID_H
#define EV_UUID_H

#include <stddef.h>
#include <stdint.h>
#include "ev.h"

#define UUID_TEXT_LEN 36

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case); EV_ERROR if not that form. */
int			uuid_parse(const char *s, size_t len, unsigned char out[16]) EV_MUST_USE;
/* Format as 36 lowercase chars plus NUL. */
void		uuid_format(const unsigned char u[16], char out[UUID_TEXT_LEN + 1]);
/*
 * New UUIDv7 for unix_ms: 48-bit time, a 12-bit counter that keeps ids of one
 * millisecond in order, 62 random bits. Thread-safe.
 */
void		uuid_v7(int64_t unix_ms, unsigned char out[16]);

#endif
