/* Spool record and segment header codec: pure byte encoding, never a file descriptor. */
#include <string.h>

#include "crc32c.h"
#include "record.h"

/* Bytes a record of payload length len takes on disk. */
size_t
record_size(uint32_t len)
{
	return (size_t) RECORD_HEADER_SIZE + len;
}

/* CRC over header bytes 0..7 (magic, length) and the payload. */
static uint32_t
record_crc(const unsigned char *hdr8, const void *payload, uint32_t len)
{
	uint32_t	crc = crc32c_update(0, hdr8, 8);

	return crc32c_update(crc, payload, len);
}

/* Encode a header for payload into out. */
void
record_encode_header(unsigned char *out, uint64_t seq, const void *payload, uint32_t len)
{
	put_u32le(out, RECORD_MAGIC);
	put_u32le(out + 4, len);
	put_u32le(out + 8, record_crc(out, payload, len));
	put_u64le(out + 12, seq);
}

/* Append one record to b. */
int
record_append(struct buf *b, uint64_t seq, const void *payload, size_t len)
{
	unsigned char hdr[RECORD_HEADER_SIZE];

	if (len > RECORD_MAX_PAYLOAD)
		return EV_ERROR;
	if (buf_reserve(b, RECORD_HEADER_SIZE + len) != EV_OK)
		return EV_ERROR;
	record_encode_header(hdr, seq, payload, (uint32_t) len);
	if (buf_append(b, hdr, sizeof(hdr)) != EV_OK || buf_append(b, payload, len) != EV_OK)
		return EV_ERROR;
	return EV_OK;
}

/* Decode the record at the start of in. */
int
record_decode(const unsigned char *in, size_t avail, struct record_view *rec,
			  size_t *consumed, enum record_error *err)
{
	uint32_t	len;

	*err = RECORD_ERR_NONE;
	if (avail < RECORD_HEADER_SIZE)
	{
		*err = RECORD_ERR_SHORT;
		return EV_RETRY;
	}
	if (get_u32le(in) != RECORD_MAGIC)
	{
		*err = RECORD_ERR_BAD_MAGIC;
		return EV_CORRUPT;
	}
	len = get_u32le(in + 4);
	if (len > RECORD_MAX_PAYLOAD)
	{
		*err = RECORD_ERR_BAD_LENGTH;
		return EV_CORRUPT;
	}
	if (avail - RECORD_HEADER_SIZE < len)
	{
		*err = RECORD_ERR_SHORT;
		return EV_RETRY;
	}
	if (record_crc(in, in + RECORD_HEADER_SIZE, len) != get_u32le(in + 8))
	{
		*err = RECORD_ERR_BAD_CRC;
		return EV_CORRUPT;
	}
	rec->payload = in + RECORD_HEADER_SIZE;
	rec->length = len;
	rec->seq = get_u64le(in + 12);
	*consumed = RECORD_HEADER_SIZE + (size_t) len;
	return EV_OK;
}

/* Name of an error, for log lines. */
const char *
record_error_name(enum record_error err)
{
	switch (err)
	{
		case RECORD_ERR_NONE:
			return "no error";
		case RECORD_ERR_SHORT:
			return "short record";
		case RECORD_ERR_BAD_MAGIC:
			return "bad magic";
		case RECORD_ERR_BAD_LENGTH:
			return "bad length";
		case RECORD_ERR_BAD_CRC:
			return "bad CRC";
		case RECORD_ERR_BAD_VERSION:
			return "unknown format version";
	}
	return "unknown error";
}

/* Encode a segment header. */
void
segment_header_encode(unsigned char *out, const struct segment_header *h)
{
	memcpy(out, SEGMENT_MAGIC, 8);
	put_u32le(out + 8, h->version);
	put_u32le(out + 12, SEGMENT_HEADER_SIZE);
	put_u64le(out + 16, h->base_seq);
	put_u32le(out + 24, 0);
	put_u32le(out + 28, crc32c_update(0, out, 28));
}

/* Decode a segment header. */
int
segment_header_decode(const unsigned char *in, size_t avail, struct segment_header *h,
					  enum record_error *err)
{
	*err = RECORD_ERR_NONE;
	if (avail < SEGMENT_HEADER_SIZE)
	{
		*err = RECORD_ERR_SHORT;
		return EV_RETRY;
	}
	if (memcmp(in, SEGMENT_MAGIC, 8) != 0)
	{
		*err = RECORD_ERR_BAD_MAGIC;
		return EV_CORRUPT;
	}
	if (crc32c_update(0, in, 28) != get_u32le(in + 28))
	{
		*err = RECORD_ERR_BAD_CRC;
		return EV_CORRUPT;
	}
	if (get_u32le(in + 8) != SEGMENT_VERSION || get_u32le(in + 12) != SEGMENT_HEADER_SIZE)
	{
		*err = RECORD_ERR_BAD_VERSION;
		return EV_CORRUPT;
	}
	h->version = get_u32le(in + 8);
	h->base_seq = get_u64le(in + 16);
	return EV_OK;
}
