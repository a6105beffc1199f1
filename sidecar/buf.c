/* Growable byte buffers with len/cap and overflow-checked sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Initialise an empty buffer (no allocation). */
void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Release the buffer's memory. */
void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* Make room for extra more bytes (plus one for an optional NUL). */
int
buf_reserve(struct buf *b, size_t extra)
{
	size_t		need;
	size_t		ncap;
	char	   *p;

	if (extra > SIZE_MAX - b->len - 1)
		return EV_ERROR;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return EV_OK;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
	{
		if (ncap > SIZE_MAX / 2)
		{
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	p = realloc(b->data, ncap);
	if (p == NULL)
		return EV_ERROR;
	b->data = p;
	b->cap = ncap;
	return EV_OK;
}

/* Append n bytes. */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return EV_OK;
	if (buf_reserve(b, n) != EV_OK)
		return EV_ERROR;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return EV_OK;
}

/* Append a NUL-terminated string. */
int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* Append one byte. */
int
buf_putc(struct buf *b, char c)
{
	if (buf_reserve(b, 1) != EV_OK)
		return EV_ERROR;
	b->data[b->len++] = c;
	return EV_OK;
}

/* Append printf-formatted text. */
int
buf_printf(struct buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return EV_ERROR;
	if (buf_reserve(b, (size_t) n) != EV_OK)
		return EV_ERROR;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
	return EV_OK;
}

/* Append a little-endian u16. */
int
buf_put_u16le(struct buf *b, uint16_t v)
{
	unsigned char t[2];

	put_u16le(t, v);
	return buf_append(b, t, 2);
}

/* Append a little-endian u32. */
int
buf_put_u32le(struct buf *b, uint32_t v)
{
	unsigned char t[4];

	put_u32le(t, v);
	return buf_append(b, t, 4);
}

/* Append a little-endian u64. */
int
buf_put_u64le(struct buf *b, uint64_t v)
{
	unsigned char t[8];

	put_u64le(t, v);
	return buf_append(b, t, 8);
}

/* Append a big-endian u16. */
int
buf_put_u16be(struct buf *b, uint16_t v)
{
	unsigned char t[2] = {(unsigned char) (v >> 8), (unsigned char) v};

	return buf_append(b, t, 2);
}

/* Append a big-endian u32. */
int
buf_put_u32be(struct buf *b, uint32_t v)
{
	unsigned char t[4] = {(unsigned char) (v >> 24), (unsigned char) (v >> 16),
	(unsigned char) (v >> 8), (unsigned char) v};

	return buf_append(b, t, 4);
}

/* Append a big-endian u64. */
int
buf_put_u64be(struct buf *b, uint64_t v)
{
	if (buf_put_u32be(b, (uint32_t) (v >> 32)) != EV_OK)
		return EV_ERROR;
	return buf_put_u32be(b, (uint32_t) v);
}

/* Append s as a JSON string literal. */
int
buf_put_json_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t		i;

	if (buf_reserve(b, n + 2) != EV_OK || buf_putc(b, '"') != EV_OK)
		return EV_ERROR;
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];
		char		esc = 0;

		switch (c)
		{
			case '"':
				esc = '"';
				break;
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
			case '\b':
				esc = 'b';
				break;
			case '\f':
				esc = 'f';
				break;
			default:
				break;
		}
		if (esc)
		{
			char		t[2] = {'\\', esc};

			if (buf_append(b, t, 2) != EV_OK)
				return EV_ERROR;
		}
		else if (c < 0x20)
		{
			char		t[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			if (buf_append(b, t, 6) != EV_OK)
				return EV_ERROR;
		}
		else if (buf_putc(b, (char) c) != EV_OK)
			return EV_ERROR;
	}
	return buf_putc(b, '"');
}

/* Terminate with a NUL that is not counted in len. */
int
buf_cstr(struct buf *b)
{
	if (buf_reserve(b, 0) != EV_OK)
		return EV_ERROR;
	b->data[b->len] = '\0';
	return EV_OK;
}

/* Best effort printf for error messages. */
void
buf_errorf(struct buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t) n) != EV_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}
