/* One validated event: its stored (spool record) form, encode/decode, and its JSON form. */
#include <string.h>

#include "event.h"
#include "timestamp.h"
#include "uuid.h"

/*
 * Stored form, little-endian:
 *   u8 version, u8 flags (1 subject, 2 occurred_at, 4 metadata, 8 event_id sent by the
 *   client: the dedup index is rebuilt from such records), u16 lane,
 *   16 bytes event_id, i64 received_us, i64 occurred_us, i32 schema_version,
 *   u16 log_len + log, u8 tenant_len + tenant, u8 type_len + type,
 *   u32 subject_len + subject, u32 payload_len + payload, u32 metadata_len + metadata
 */
#define F_SUBJECT 1
#define F_OCCURRED 2
#define F_METADATA 4
#define F_ID_GIVEN 8

/* Append the stored form. */
int
event_encode(const struct event *ev, const char *log, size_t loglen, struct buf *out)
{
	unsigned char h[4];
	size_t		total;

	if (loglen > 0xffff || ev->tenant_len > 0xff || ev->type_len > 0xff ||
		ev->subject_len > 0xffffffffu || ev->payload_len > 0xffffffffu || ev->metadata_len > 0xffffffffu)
		return EV_ERROR;
	total = 4 + 16 + 8 + 8 + 4 + 2 + loglen + 1 + ev->tenant_len + 1 + ev->type_len + 12 +
		ev->subject_len + ev->payload_len + ev->metadata_len;
	if (buf_reserve(out, total) != EV_OK)
		return EV_ERROR;
	h[0] = EVENT_FORMAT_VERSION;
	h[1] = (unsigned char) ((ev->subject ? F_SUBJECT : 0) | (ev->has_occurred ? F_OCCURRED : 0) |
							(ev->metadata ? F_METADATA : 0) | (ev->id_given ? F_ID_GIVEN : 0));
	put_u16le(h + 2, ev->lane);
	if (buf_append(out, h, 4) != EV_OK ||
		buf_append(out, ev->id, 16) != EV_OK ||
		buf_put_u64le(out, (uint64_t) ev->received_us) != EV_OK ||
		buf_put_u64le(out, (uint64_t) (ev->has_occurred ? ev->occurred_us : 0)) != EV_OK ||
		buf_put_u32le(out, (uint32_t) ev->schema_version) != EV_OK ||
		buf_put_u16le(out, (uint16_t) loglen) != EV_OK ||
		buf_append(out, log, loglen) != EV_OK ||
		buf_putc(out, (char) ev->tenant_len) != EV_OK ||
		buf_append(out, ev->tenant, ev->tenant_len) != EV_OK ||
		buf_putc(out, (char) ev->type_len) != EV_OK ||
		buf_append(out, ev->type, ev->type_len) != EV_OK ||
		buf_put_u32le(out, (uint32_t) ev->subject_len) != EV_OK ||
		buf_append(out, ev->subject, ev->subject_len) != EV_OK ||
		buf_put_u32le(out, (uint32_t) ev->payload_len) != EV_OK ||
		buf_append(out, ev->payload, ev->payload_len) != EV_OK ||
		buf_put_u32le(out, (uint32_t) ev->metadata_len) != EV_OK ||
		buf_append(out, ev->metadata, ev->metadata_len) != EV_OK)
		return EV_ERROR;
	return EV_OK;
}

/* Take n bytes at *p if available. */
static const unsigned char *
take(const unsigned char **p, const unsigned char *end, size_t n)
{
	const unsigned char *r = *p;

	if ((size_t) (end - r) < n)
		return NULL;
	*p = r + n;
	return r;
}

/* Decode a stored form. */
int
event_decode(const unsigned char *p, size_t len, struct event *ev, const char **log, size_t *loglen)
{
	const unsigned char *end = p + len;
	const unsigned char *q;
	unsigned	flags;

	memset(ev, 0, sizeof(*ev));
	if ((q = take(&p, end, 4 + 16 + 8 + 8 + 4 + 2)) == NULL || q[0] != EVENT_FORMAT_VERSION)
		return EV_CORRUPT;
	flags = q[1];
	ev->lane = get_u16le(q + 2);
	memcpy(ev->id, q + 4, 16);
	ev->id_given = (flags & F_ID_GIVEN) != 0;
	ev->received_us = (int64_t) get_u64le(q + 20);
	ev->has_occurred = (flags & F_OCCURRED) != 0;
	ev->occurred_us = (int64_t) get_u64le(q + 28);
	ev->schema_version = (int32_t) get_u32le(q + 36);
	*loglen = get_u16le(q + 40);
	if ((q = take(&p, end, *loglen)) == NULL)
		return EV_CORRUPT;
	*log = (const char *) q;
	if ((q = take(&p, end, 1)) == NULL)
		return EV_CORRUPT;
	ev->tenant_len = q[0];
	if ((ev->tenant = (const char *) take(&p, end, ev->tenant_len)) == NULL)
		return EV_CORRUPT;
	if ((q = take(&p, end, 1)) == NULL)
		return EV_CORRUPT;
	ev->type_len = q[0];
	if ((ev->type = (const char *) take(&p, end, ev->type_len)) == NULL)
		return EV_CORRUPT;
	if ((q = take(&p, end, 4)) == NULL)
		return EV_CORRUPT;
	ev->subject_len = get_u32le(q);
	if ((ev->subject = (const char *) take(&p, end, ev->subject_len)) == NULL)
		return EV_CORRUPT;
	if (!(flags & F_SUBJECT))
		ev->subject = NULL;
	if ((q = take(&p, end, 4)) == NULL)
		return EV_CORRUPT;
	ev->payload_len = get_u32le(q);
	if ((ev->payload = (const char *) take(&p, end, ev->payload_len)) == NULL)
		return EV_CORRUPT;
	if ((q = take(&p, end, 4)) == NULL)
		return EV_CORRUPT;
	ev->metadata_len = get_u32le(q);
	if ((ev->metadata = (const char *) take(&p, end, ev->metadata_len)) == NULL)
		return EV_CORRUPT;
	if (!(flags & F_METADATA))
		ev->metadata = NULL;
	if (p != end)
		return EV_CORRUPT;
	return EV_OK;
}

/* Append the event as envelope JSON, as a client would post it (received_at is the server's). */
int
event_format_json(const struct event *ev, struct buf *out)
{
	char		id[UUID_TEXT_LEN + 1];
	char		ts[40];
	size_t		n;

	uuid_format(ev->id, id);
	if (buf_printf(out, "{\"event_id\":\"%s\",\"tenant_id\":", id) != EV_OK ||
		buf_put_json_string(out, ev->tenant, ev->tenant_len) != EV_OK ||
		buf_puts(out, ",\"event_type\":") != EV_OK ||
		buf_put_json_string(out, ev->type, ev->type_len) != EV_OK ||
		buf_puts(out, ",\"subject\":") != EV_OK)
		return EV_ERROR;
	if (ev->subject ? buf_put_json_string(out, ev->subject, ev->subject_len) : buf_puts(out, "null"))
		return EV_ERROR;
	if (buf_puts(out, ",\"occurred_at\":") != EV_OK)
		return EV_ERROR;
	if (ev->has_occurred)
	{
		n = timestamp_format_iso(ev->occurred_us, ts);
		if (buf_put_json_string(out, ts, n) != EV_OK)
			return EV_ERROR;
	}
	else if (buf_puts(out, "null") != EV_OK)
		return EV_ERROR;
	if (buf_printf(out, ",\"schema_version\":%d,\"payload\":", (int) ev->schema_version) != EV_OK ||
		buf_append(out, ev->payload, ev->payload_len) != EV_OK ||
		buf_puts(out, ",\"metadata\":") != EV_OK)
		return EV_ERROR;
	if (ev->metadata ? buf_append(out, ev->metadata, ev->metadata_len) : buf_puts(out, "null"))
		return EV_ERROR;
	return buf_putc(out, '}');
}
