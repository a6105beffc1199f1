/* Tests of record.c and crc32c.c: fixed byte vectors, known CRCs, boundaries. */
#include <stdlib.h>

#include "test.h"
#include "crc32c.h"
#include "record.h"

/* Parse hex into bytes; returns length. */
static size_t
unhex(const char *h, unsigned char *out)
{
	size_t		n = 0;

	while (h[0] && h[1])
	{
		unsigned int v;

		sscanf(h, "%2x", &v);
		out[n++] = (unsigned char) v;
		h += 2;
	}
	return n;
}

/* RFC 3720 / well-known CRC-32C check values, hardware and table paths alike. */
static void
test_crc32c_vectors(void)
{
	unsigned char z[32],
				inc[32];
	int			i;

	for (i = 0; i < 32; i++)
	{
		z[i] = 0;
		inc[i] = (unsigned char) i;
	}
	CHECK_INT(crc32c_update(0, "123456789", 9), 0xE3069283u);
	CHECK_INT(crc32c_update_sw(0, "123456789", 9), 0xE3069283u);
	CHECK_INT(crc32c_update(0, z, 32), 0x8A9136AAu);
	CHECK_INT(crc32c_update(0, inc, 32), 0x46DD794Eu);
	CHECK_INT(crc32c_update_sw(0, inc, 32), 0x46DD794Eu);
	CHECK_INT(crc32c_update(0, "", 0), 0);
	/* incremental equals one-shot */
	CHECK_INT(crc32c_update(crc32c_update(0, "1234", 4), "56789", 5), 0xE3069283u);
}

/* Encoding of a small record matches a fixed byte vector. */
static void
test_record_encode_vector(void)
{
	struct buf	b;
	unsigned char want[64];
	size_t		n;

	buf_init(&b);
	CHECK(record_append(&b, 1, "abc", 3) == EV_OK);
	n = unhex("45564c52030000004cbfdc4d0100000000000000616263", want);
	CHECK_INT(b.len, n);
	CHECK(memcmp(b.data, want, n) == 0);
	b.len = 0;
	CHECK(record_append(&b, 0x0102030405060708ULL, "", 0) == EV_OK);
	n = unhex("45564c5200000000c947a5790807060504030201", want);
	CHECK_INT(b.len, n);
	CHECK(memcmp(b.data, want, n) == 0);
	buf_free(&b);
}

/* Decoding the fixed vector gives back seq and payload. */
static void
test_record_decode_vector(void)
{
	unsigned char in[64];
	size_t		n = unhex("45564c52030000004cbfdc4d0100000000000000616263", in);
	struct record_view rec;
	size_t		used;
	enum record_error err;

	CHECK(record_decode(in, n, &rec, &used, &err) == EV_OK);
	CHECK_INT(used, n);
	CHECK_INT(rec.seq, 1);
	CHECK_INT(rec.length, 3);
	CHECK(memcmp(rec.payload, "abc", 3) == 0);
}

/* Empty payload round-trips. */
static void
test_record_empty_payload(void)
{
	struct buf	b;
	struct record_view rec;
	size_t		used;
	enum record_error err;

	buf_init(&b);
	CHECK(record_append(&b, 7, NULL, 0) == EV_OK);
	CHECK_INT(b.len, RECORD_HEADER_SIZE);
	CHECK(record_decode((unsigned char *) b.data, b.len, &rec, &used, &err) == EV_OK);
	CHECK_INT(rec.length, 0);
	CHECK_INT(rec.seq, 7);
	CHECK_INT(used, RECORD_HEADER_SIZE);
	buf_free(&b);
}

/* Maximum length is accepted, one more is refused on encode and on decode. */
static void
test_record_max_length(void)
{
	struct buf	b;
	char	   *big = calloc(1, (size_t) RECORD_MAX_PAYLOAD + 1);
	struct record_view rec;
	size_t		used;
	enum record_error err;
	unsigned char hdr[RECORD_HEADER_SIZE];
	int			ok;

	CHECK(big != NULL);
	buf_init(&b);
	ok = record_append(&b, 9, big, RECORD_MAX_PAYLOAD) == EV_OK;
	if (ok)
		ok = record_decode((unsigned char *) b.data, b.len, &rec, &used, &err) == EV_OK &&
			rec.length == RECORD_MAX_PAYLOAD && used == b.len;
	buf_free(&b);
	if (ok)
		ok = record_append(&b, 9, big, (size_t) RECORD_MAX_PAYLOAD + 1) == EV_ERROR && b.len == 0;
	free(big);
	CHECK(ok);
	/* a header claiming more than the maximum is corrupt, not "short" */
	put_u32le(hdr, RECORD_MAGIC);
	put_u32le(hdr + 4, RECORD_MAX_PAYLOAD + 1);
	put_u32le(hdr + 8, 0);
	put_u64le(hdr + 12, 1);
	CHECK(record_decode(hdr, sizeof(hdr), &rec, &used, &err) == EV_CORRUPT);
	CHECK_INT(err, RECORD_ERR_BAD_LENGTH);
	buf_free(&b);
}

/* A length field off by one either way is detected. */
static void
test_record_length_off_by_one(void)
{
	struct buf	b;
	struct record_view rec;
	size_t		used;
	enum record_error err;

	buf_init(&b);
	CHECK(record_append(&b, 3, "hello", 5) == EV_OK);
	/* one byte missing: short */
	CHECK(record_decode((unsigned char *) b.data, b.len - 1, &rec, &used, &err) == EV_RETRY);
	CHECK_INT(err, RECORD_ERR_SHORT);
	/* header only: short */
	CHECK(record_decode((unsigned char *) b.data, RECORD_HEADER_SIZE - 1, &rec, &used, &err) == EV_RETRY);
	/* length + 1 with a trailing byte present: the CRC no longer matches */
	CHECK(buf_putc(&b, 'x') == EV_OK);
	put_u32le((unsigned char *) b.data + 4, 6);
	CHECK(record_decode((unsigned char *) b.data, b.len, &rec, &used, &err) == EV_CORRUPT);
	CHECK_INT(err, RECORD_ERR_BAD_CRC);
	/* length - 1: CRC mismatch too */
	put_u32le((unsigned char *) b.data + 4, 4);
	CHECK(record_decode((unsigned char *) b.data, b.len, &rec, &used, &err) == EV_CORRUPT);
	CHECK_INT(err, RECORD_ERR_BAD_CRC);
	buf_free(&b);
}

/* Any flipped payload bit or bad magic is caught. */
static void
test_record_corruption(void)
{
	struct buf	b;
	struct record_view rec;
	size_t		used,
				i;
	enum record_error err;

	buf_init(&b);
	CHECK(record_append(&b, 5, "payload-bytes", 13) == EV_OK);
	for (i = RECORD_HEADER_SIZE; i < b.len; i++)
	{
		b.data[i] ^= 0x10;
		CHECK(record_decode((unsigned char *) b.data, b.len, &rec, &used, &err) == EV_CORRUPT);
		CHECK_INT(err, RECORD_ERR_BAD_CRC);
		b.data[i] ^= 0x10;
	}
	b.data[0] ^= 1;
	CHECK(record_decode((unsigned char *) b.data, b.len, &rec, &used, &err) == EV_CORRUPT);
	CHECK_INT(err, RECORD_ERR_BAD_MAGIC);
	buf_free(&b);
}

/* Segment header: fixed vector, round trip, version check. */
static void
test_segment_header(void)
{
	unsigned char out[SEGMENT_HEADER_SIZE];
	unsigned char want[SEGMENT_HEADER_SIZE];
	struct segment_header h = {SEGMENT_VERSION, 42},
				g;
	enum record_error err;

	segment_header_encode(out, &h);
	CHECK_INT(unhex("45564c53504f4f4c01000000200000002a0000000000000000000000f5d1fd15", want), 32);
	CHECK(memcmp(out, want, 32) == 0);
	CHECK(segment_header_decode(out, 32, &g, &err) == EV_OK);
	CHECK_INT(g.base_seq, 42);
	CHECK(segment_header_decode(out, 31, &g, &err) == EV_RETRY);
	out[8] = 2;
	CHECK(segment_header_decode(out, 32, &g, &err) == EV_CORRUPT);
	CHECK_INT(err, RECORD_ERR_BAD_CRC);
}

const struct test_case record_tests[] = {
	{"crc32c_vectors", test_crc32c_vectors},
	{"encode_vector", test_record_encode_vector},
	{"decode_vector", test_record_decode_vector},
	{"empty_payload", test_record_empty_payload},
	{"max_length", test_record_max_length},
	{"length_off_by_one", test_record_length_off_by_one},
	{"corruption", test_record_corruption},
	{"segment_header", test_segment_header},
	{NULL, NULL}
};
