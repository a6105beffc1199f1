/* Growable byte buffers with len/cap and overflow-checked sizes. */
#ifndef EV_BUF_H
#define EV_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include "ev.h"

struct buf {
	char	   *data;			/* owned; NULL until first reserve */
	size_t		len;
	size_t		cap;
};

/* Initialise an empty buffer (no allocation). */
void		buf_init(struct buf *b);
/* Release the buffer's memory; the buffer is empty and reusable afterwards. */
void		buf_free(struct buf *b);
/* Make room for extra more bytes; EV_ERROR on overflow or out of memory. */
int			buf_reserve(struct buf *b, size_t extra) EV_MUST_USE;
/* Append n bytes. */
int			buf_append(struct buf *b, const void *p, size_t n) EV_MUST_USE;
/* Append a NUL-terminated string (without the NUL). */
int			buf_puts(struct buf *b, const char *s) EV_MUST_USE;
/* Append one byte. */
int			buf_putc(struct buf *b, char c) EV_MUST_USE;
/* Append printf-formatted text. */
int			buf_printf(struct buf *b, const char *fmt,...) EV_MUST_USE EV_PRINTF(2, 3);
/* Append little-endian integers. */
int			buf_put_u16le(struct buf *b, uint16_t v) EV_MUST_USE;
int			buf_put_u32le(struct buf *b, uint32_t v) EV_MUST_USE;
int			buf_put_u64le(struct buf *b, uint64_t v) EV_MUST_USE;
/* Append big-endian (network order) integers, as PostgreSQL's binary COPY wants. */
int			buf_put_u16be(struct buf *b, uint16_t v) EV_MUST_USE;
int			buf_put_u32be(struct buf *b, uint32_t v) EV_MUST_USE;
int			buf_put_u64be(struct buf *b, uint64_t v) EV_MUST_USE;
/* Append s as a JSON string literal (quotes included); s is valid UTF-8. */
int			buf_put_json_string(struct buf *b, const char *s, size_t n) EV_MUST_USE;
/* Best effort printf for error messages: keeps the buffer NUL-terminated, ignores out of memory. */
void		buf_errorf(struct buf *b, const char *fmt,...) EV_PRINTF(2, 3);
/* Terminate with a NUL that is not counted in len (for C string use). */
int			buf_cstr(struct buf *b) EV_MUST_USE;

/* Little-endian accessors for encoded headers; no struct is ever cast onto bytes. */
static inline uint16_t
get_u16le(const unsigned char *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

static inline uint32_t
get_u32le(const unsigned char *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static inline uint64_t
get_u64le(const unsigned char *p)
{
	return (uint64_t) get_u32le(p) | ((uint64_t) get_u32le(p + 4) << 32);
}

static inline void
put_u16le(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char) v;
	p[1] = (unsigned char) (v >> 8);
}

static inline void
put_u32le(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char) v;
	p[1] = (unsigned char) (v >> 8);
	p[2] = (unsigned char) (v >> 16);
	p[3] = (unsigned char) (v >> 24);
}

static inline void
put_u64le(unsigned char *p, uint64_t v)
{
	put_u32le(p, (uint32_t) v);
	put_u32le(p + 4, (uint32_t) (v >> 32));
}

#endif
