/* Strict JSON (RFC 8259) scanner: validates in place and hands out raw spans, no tree. */
#ifndef EV_JSON_H
#define EV_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "ev.h"

enum json_type {
	JSON_NULL,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_OBJECT,
	JSON_ARRAY
};

/* Why scanning stopped: a message and the byte offset (from the start of the scanned text). */
struct json_error {
	size_t		offset;
	const char *message;		/* static string */
};

#define JSON_MAX_DEPTH 1000

/*
 * Scan one value at text[*pos] (leading whitespace skipped). On EV_OK *pos is just past
 * it, *type is set and *start the offset where it began. Strings are checked for UTF-8,
 * escapes, and \u0000 (refused: PostgreSQL jsonb cannot store it). Numbers keep their
 * exact text, so jsonb gets exactly what the client sent.
 */
int			json_scan_value(const char *text, size_t len, size_t *pos, size_t *start,
							enum json_type *type, struct json_error *err) EV_MUST_USE;
/* Skip JSON whitespace. */
size_t		json_skip_ws(const char *text, size_t len, size_t pos);
/* Decode a scanned string literal (quotes included) into out as UTF-8. */
int			json_string_decode(const char *lit, size_t len, struct buf *out) EV_MUST_USE;
/* Does the scanned string literal contain escapes? (If not, its bytes are the value.) */
int			json_string_has_escape(const char *lit, size_t len);
/* Name of a type, for messages. */
const char *json_type_name(enum json_type t);

#endif
