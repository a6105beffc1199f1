/* Envelope validation: parse an NDJSON or JSON-array body into events, or name every problem. */
#ifndef EV_ENVELOPE_H
#define EV_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "ev.h"
#include "event.h"

#define ENVELOPE_MAX_ERRORS 1000	/* kept for the response; all are counted */
#define ENVELOPE_TENANT_MAX 128
#define ENVELOPE_TYPE_MAX 200
#define ENVELOPE_SUBJECT_MAX 1024
/* Timestamps accepted: 0001-01-01T00:00:00Z up to (not including) 10000-01-01, in unix microseconds. */
#define ENVELOPE_MIN_US (-62135596800LL * 1000000)
#define ENVELOPE_END_US (253402300800LL * 1000000)

/* One problem: the line (1-based, of the body) and index (1-based event number) and field. */
struct envelope_error {
	int			line;
	int			index;
	char		field[48];		/* "" when the problem is not a field's */
	char		message[200];
};

struct envelope_fix;

/* Result of parsing one body. Events borrow from the body and from strings. */
struct envelope_batch {
	struct event *events;
	size_t		n;
	size_t		cap;
	struct envelope_error *errors;
	size_t		nerr;			/* kept */
	size_t		nerr_total;		/* found */
	struct buf	strings;		/* decoded strings that had JSON escapes */
	struct envelope_fix *fix;	/* private */
};

void		envelope_batch_init(struct envelope_batch *b);
void		envelope_batch_free(struct envelope_batch *b);
/*
 * Parse body (NDJSON, or a JSON array when the first non-blank byte is '['). Every event
 * is checked against the envelope; missing event_ids are stamped as UUIDv7, received_at
 * is received_us, occurred_at is corrected by received_at - sent_at when sent_at is given.
 * EV_OK with nerr_total == 0: all good. EV_OK with errors: reject the request. EV_ERROR:
 * out of memory.
 */
int			envelope_parse(struct envelope_batch *b, const char *body, size_t len, int64_t received_us) EV_MUST_USE;

#endif
