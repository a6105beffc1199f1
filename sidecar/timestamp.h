/* Timestamps: RFC 3339 parsing and formatting, in microseconds since the Unix epoch (UTC). */
#ifndef EV_TIMESTAMP_H
#define EV_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>
#include "ev.h"

/* Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01. */
#define PG_EPOCH_OFFSET_US 946684800000000LL

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t', 'z' and a space for 'T'
 * also accepted); a time zone is required. Fractions beyond microseconds are rounded.
 */
int			timestamp_parse(const char *s, size_t len, int64_t *unix_us) EV_MUST_USE;
/* Format as "YYYY-MM-DD HH:MM:SS.ffffff+00" (PostgreSQL text input); returns length. */
size_t		timestamp_format_pg(int64_t unix_us, char out[40]);
/* Format as "YYYY-MM-DDTHH:MM:SS.ffffffZ"; returns length. */
size_t		timestamp_format_iso(int64_t unix_us, char out[40]);
/* Wall clock now, in microseconds since the Unix epoch. */
int64_t		timestamp_now_us(void);

#endif
