/* One validated event: its stored (spool record) form, encode/decode, and its JSON form. */
#ifndef EV_EVENT_H
#define EV_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "ev.h"

/* An event; every pointer is borrowed (from the request body, or a decoded record). */
struct event {
	unsigned char id[16];
	int			id_given;		/* client sent it: dedup applies */
	const char *tenant;
	size_t		tenant_len;
	const char *type;
	size_t		type_len;
	const char *subject;		/* NULL: SQL NULL */
	size_t		subject_len;
	int			has_occurred;
	int64_t		occurred_us;	/* unix microseconds, skew-corrected */
	int64_t		received_us;
	int32_t		schema_version;
	const char *payload;		/* raw JSON text, exactly as the client sent it */
	size_t		payload_len;
	const char *metadata;		/* raw JSON text, or NULL */
	size_t		metadata_len;
	uint16_t	lane;
};

#define EVENT_FORMAT_VERSION 1

/* Append the stored form of ev (for log) to out. */
int			event_encode(const struct event *ev, const char *log, size_t loglen, struct buf *out) EV_MUST_USE;
/* Decode a stored form; pointers in *ev and *log borrow from p. EV_CORRUPT if malformed. */
int			event_decode(const unsigned char *p, size_t len, struct event *ev, const char **log,
						 size_t *loglen) EV_MUST_USE;
/* Append the event as an envelope JSON object a client could post again (no received_at). */
int			event_format_json(const struct event *ev, struct buf *out) EV_MUST_USE;

#endif
