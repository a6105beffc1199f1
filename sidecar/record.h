/* Spool record and segment header codec: pure byte encoding, never a file descriptor. */
#ifndef EV_RECORD_H
#define EV_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "ev.h"

/*
 * Record: a 20-byte header then the payload, all little-endian.
 *   0  magic   u32  RECORD_MAGIC
 *   4  length  u32  payload bytes
 *   8  crc32c  u32  CRC-32C of header bytes 0..7 followed by the payload
 *  12  seq     u64  spool sequence number (contiguous; checked by spool.c)
 */
#define RECORD_MAGIC		0x524c5645u	/* bytes "EVLR" */
#define RECORD_HEADER_SIZE	20
#define RECORD_MAX_PAYLOAD	(64u * 1024 * 1024)

/*
 * Segment header: 32 bytes at the start of every segment file.
 *   0  magic      8 bytes "EVLSPOOL"
 *   8  version    u32 SEGMENT_VERSION
 *  12  hdr_size   u32 32
 *  16  base_seq   u64 seq of the first record this segment holds (or would hold)
 *  24  flags      u32 0
 *  28  crc32c     u32 CRC-32C of bytes 0..27
 */
#define SEGMENT_MAGIC		"EVLSPOOL"
#define SEGMENT_VERSION		1
#define SEGMENT_HEADER_SIZE	32

enum record_error {
	RECORD_ERR_NONE = 0,
	RECORD_ERR_SHORT,			/* fewer bytes than the header or its length claims */
	RECORD_ERR_BAD_MAGIC,
	RECORD_ERR_BAD_LENGTH,		/* length over RECORD_MAX_PAYLOAD */
	RECORD_ERR_BAD_CRC,
	RECORD_ERR_BAD_VERSION		/* segment header of an unknown format version */
};

/* A decoded record; payload is borrowed from the input buffer. */
struct record_view {
	const unsigned char *payload;
	uint32_t	length;
	uint64_t	seq;
};

struct segment_header {
	uint32_t	version;
	uint64_t	base_seq;
};

/* Bytes a record of payload length len takes on disk. */
size_t		record_size(uint32_t len);
/* Append header and payload of one record to b; EV_ERROR if len is over the maximum. */
int			record_append(struct buf *b, uint64_t seq, const void *payload, size_t len) EV_MUST_USE;
/* Encode a header for payload into out[RECORD_HEADER_SIZE]. */
void		record_encode_header(unsigned char *out, uint64_t seq, const void *payload, uint32_t len);
/*
 * Decode the record at in[0..avail). EV_OK: *rec and *consumed are set.
 * EV_RETRY: not enough bytes (RECORD_ERR_SHORT). EV_CORRUPT: *err says why.
 */
int			record_decode(const unsigned char *in, size_t avail, struct record_view *rec,
						  size_t *consumed, enum record_error *err) EV_MUST_USE;
/* Name of an error, for log lines. */
const char *record_error_name(enum record_error err);

/* Encode a segment header. */
void		segment_header_encode(unsigned char *out, const struct segment_header *h);
/* Decode a segment header: EV_OK, EV_RETRY (short) or EV_CORRUPT (*err says why). */
int			segment_header_decode(const unsigned char *in, size_t avail, struct segment_header *h,
								  enum record_error *err) EV_MUST_USE;

#endif
