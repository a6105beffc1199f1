/*
 * libFuzzer target: the request body validator (envelope_parse: NDJSON / JSON array,
 * strict JSON, UTF-8, the envelope's fields) and what an accepted event goes through
 * next: its spool form (event_encode/event_decode must round-trip), both COPY
 * encodings, and its dead-letter JSON form (which must parse again to the same event).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "copyenc.h"
#include "envelope.h"
#include "event.h"
#include "uuid.h"

#define RECEIVED_US INT64_C(1764000000000000)

static int
same_span(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen || (a == NULL) != (b == NULL))
		return 0;
	return alen == 0 || memcmp(a, b, alen) == 0;
}

/* Field by field equality of two events (payload and metadata compared as text). */
static int
same_event(const struct event *a, const struct event *b)
{
	return memcmp(a->id, b->id, 16) == 0 &&
		same_span(a->tenant, a->tenant_len, b->tenant, b->tenant_len) &&
		same_span(a->type, a->type_len, b->type, b->type_len) &&
		same_span(a->subject, a->subject_len, b->subject, b->subject_len) &&
		a->has_occurred == b->has_occurred && (!a->has_occurred || a->occurred_us == b->occurred_us) &&
		a->received_us == b->received_us && a->schema_version == b->schema_version &&
		same_span(a->payload, a->payload_len, b->payload, b->payload_len) &&
		same_span(a->metadata, a->metadata_len, b->metadata, b->metadata_len) && a->lane == b->lane;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope_batch b;
	struct buf	stored,
				copy,
				json;
	size_t		i;

	envelope_batch_init(&b);
	buf_init(&stored);
	buf_init(&copy);
	buf_init(&json);
	if (envelope_parse(&b, (const char *) data, size, RECEIVED_US) != EV_OK)
		abort();				/* only out of memory may fail, and libFuzzer's limit is far above */
	if (b.nerr_total > 0)
	{
		/* a rejected body names at least one problem, and keeps at most the maximum */
		if (b.nerr == 0 || b.nerr > ENVELOPE_MAX_ERRORS || b.nerr > b.nerr_total)
			abort();
		for (i = 0; i < b.nerr; i++)
			if (b.errors[i].line < 1 || b.errors[i].message[0] == '\0')
				abort();
		goto done;
	}
	if (copyenc_begin(&copy, COPY_FORMAT_BINARY) != EV_OK)
		abort();
	for (i = 0; i < b.n; i++)
	{
		const struct event *ev = &b.events[i];
		struct event back;
		const char *log;
		size_t		loglen;
		struct envelope_batch again;

		if (ev->tenant_len < 1 || ev->tenant_len > ENVELOPE_TENANT_MAX ||
			ev->type_len < 1 || ev->type_len > ENVELOPE_TYPE_MAX || ev->payload_len == 0 ||
			ev->received_us != RECEIVED_US || ev->lane >= EV_LANES)
			abort();
		stored.len = 0;
		if (event_encode(ev, "public.audit", 12, &stored) != EV_OK)
			abort();
		if (event_decode((const unsigned char *) stored.data, stored.len, &back, &log, &loglen) != EV_OK ||
			!same_event(ev, &back) || loglen != 12 || memcmp(log, "public.audit", 12) != 0)
			abort();
		if (copyenc_row(&copy, COPY_FORMAT_BINARY, ev) != EV_OK)
			abort();
		copy.len = 0;
		if (copyenc_row(&copy, COPY_FORMAT_TEXT, ev) != EV_OK)
			abort();
		copy.len = 0;

		/* the dead-letter form parses again to the same event */
		json.len = 0;
		if (event_format_json(ev, &json) != EV_OK)
			abort();
		envelope_batch_init(&again);
		if (envelope_parse(&again, json.data, json.len, RECEIVED_US) != EV_OK || again.nerr_total != 0 ||
			again.n != 1)
			abort();
		again.events[0].received_us = ev->received_us;
		if (!ev->id_given)
			again.events[0].id_given = 0;
		if (!same_event(ev, &again.events[0]))
			abort();
		envelope_batch_free(&again);
	}
done:
	envelope_batch_free(&b);
	buf_free(&stored);
	buf_free(&copy);
	buf_free(&json);
	return 0;
}
