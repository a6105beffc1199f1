/* COPY encoding of events: PostgreSQL binary and text formats of the 9 envelope columns. */
#include <string.h>

#include "copyenc.h"
#include "timestamp.h"
#include "uuid.h"

static const char copy_signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

/* Start a COPY stream. */
int
copyenc_begin(struct buf *out, enum copy_format fmt)
{
	if (fmt != COPY_FORMAT_BINARY)
		return EV_OK;
	if (buf_append(out, copy_signature, sizeof(copy_signature)) != EV_OK ||
		buf_put_u32be(out, 0) != EV_OK ||	/* flags: no OIDs */
		buf_put_u32be(out, 0) != EV_OK)	/* header extension length */
		return EV_ERROR;
	return EV_OK;
}

/* Binary field: length then bytes. */
static int
bin_field(struct buf *out, const void *p, size_t n)
{
	if (buf_put_u32be(out, (uint32_t) n) != EV_OK)
		return EV_ERROR;
	return buf_append(out, p, n);
}

/* Binary jsonb: version byte 1, then the JSON text. */
static int
bin_jsonb(struct buf *out, const char *p, size_t n)
{
	if (buf_put_u32be(out, (uint32_t) n + 1) != EV_OK || buf_putc(out, 1) != EV_OK)
		return EV_ERROR;
	return buf_append(out, p, n);
}

/* Text-format value with COPY escapes for backslash, newline, CR and tab. */
static int
text_value(struct buf *out, const char *p, size_t n)
{
	size_t		i,
				run = 0;

	if (buf_reserve(out, n + 8) != EV_OK)
		return EV_ERROR;
	for (i = 0; i < n; i++)
	{
		char		c = p[i];
		char		esc;

		switch (c)
		{
			case '\\':
				esc = '\\';
				break;
			case '\n':
				esc = 'n';
				break;
			case '\r':
				esc = 'r';
				break;
			case '\t':
				esc = 't';
				break;
			default:
				continue;
		}
		if (buf_append(out, p + run, i - run) != EV_OK || buf_putc(out, '\\') != EV_OK ||
			buf_putc(out, esc) != EV_OK)
			return EV_ERROR;
		run = i + 1;
	}
	return buf_append(out, p + run, n - run);
}

/* Append one row. */
int
copyenc_row(struct buf *out, enum copy_format fmt, const struct event *ev)
{
	if (fmt == COPY_FORMAT_BINARY)
	{
		if (buf_reserve(out, 2 + 9 * 4 + 16 + ev->tenant_len + ev->type_len + ev->subject_len + 8 + 8 + 4 +
						ev->payload_len + 1 + ev->metadata_len + 1) != EV_OK)
			return EV_ERROR;
		if (buf_put_u16be(out, 9) != EV_OK ||
			bin_field(out, ev->id, 16) != EV_OK ||
			bin_field(out, ev->tenant, ev->tenant_len) != EV_OK ||
			bin_field(out, ev->type, ev->type_len) != EV_OK)
			return EV_ERROR;
		if (ev->subject ? bin_field(out, ev->subject, ev->subject_len) : buf_put_u32be(out, 0xffffffffu))
			return EV_ERROR;
		if (ev->has_occurred)
		{
			if (buf_put_u32be(out, 8) != EV_OK ||
				buf_put_u64be(out, (uint64_t) (ev->occurred_us - PG_EPOCH_OFFSET_US)) != EV_OK)
				return EV_ERROR;
		}
		else if (buf_put_u32be(out, 0xffffffffu) != EV_OK)
			return EV_ERROR;
		if (buf_put_u32be(out, 8) != EV_OK ||
			buf_put_u64be(out, (uint64_t) (ev->received_us - PG_EPOCH_OFFSET_US)) != EV_OK ||
			buf_put_u32be(out, 4) != EV_OK ||
			buf_put_u32be(out, (uint32_t) ev->schema_version) != EV_OK ||
			bin_jsonb(out, ev->payload, ev->payload_len) != EV_OK)
			return EV_ERROR;
		if (ev->metadata ? bin_jsonb(out, ev->metadata, ev->metadata_len) : buf_put_u32be(out, 0xffffffffu))
			return EV_ERROR;
		return EV_OK;
	}
	else
	{
		char		id[UUID_TEXT_LEN + 1];
		char		ts[40];
		size_t		n;

		uuid_format(ev->id, id);
		if (buf_append(out, id, UUID_TEXT_LEN) != EV_OK || buf_putc(out, '\t') != EV_OK ||
			text_value(out, ev->tenant, ev->tenant_len) != EV_OK || buf_putc(out, '\t') != EV_OK ||
			text_value(out, ev->type, ev->type_len) != EV_OK || buf_putc(out, '\t') != EV_OK)
			return EV_ERROR;
		if (ev->subject ? text_value(out, ev->subject, ev->subject_len) : buf_puts(out, "\\N"))
			return EV_ERROR;
		if (buf_putc(out, '\t') != EV_OK)
			return EV_ERROR;
		if (ev->has_occurred)
		{
			n = timestamp_format_pg(ev->occurred_us, ts);
			if (buf_append(out, ts, n) != EV_OK)
				return EV_ERROR;
		}
		else if (buf_puts(out, "\\N") != EV_OK)
			return EV_ERROR;
		n = timestamp_format_pg(ev->received_us, ts);
		if (buf_putc(out, '\t') != EV_OK || buf_append(out, ts, n) != EV_OK ||
			buf_printf(out, "\t%d\t", (int) ev->schema_version) != EV_OK ||
			text_value(out, ev->payload, ev->payload_len) != EV_OK || buf_putc(out, '\t') != EV_OK)
			return EV_ERROR;
		if (ev->metadata ? text_value(out, ev->metadata, ev->metadata_len) : buf_puts(out, "\\N"))
			return EV_ERROR;
		return buf_putc(out, '\n');
	}
}

/* End the stream. */
int
copyenc_end(struct buf *out, enum copy_format fmt)
{
	if (fmt != COPY_FORMAT_BINARY)
		return EV_OK;
	return buf_put_u16be(out, 0xffff);
}

/* Name of the format. */
const char *
copyenc_format_name(enum copy_format fmt)
{
	return fmt == COPY_FORMAT_BINARY ? "binary" : "text";
}
