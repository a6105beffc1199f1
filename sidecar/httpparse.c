/*
 * HTTP/1.1 request framing (RFC 9112): request line, header block, chunked bodies.
 *
 * Only what eventlogd serves is accepted, and anything a front proxy could read
 * differently is refused (see httpparse.h). Pure: no I/O and no allocation.
 */
#include <string.h>
#include <strings.h>

#include "httpparse.h"

#define MAX_HEADERS 100
#define MAX_CHUNK_LINE 1024		/* chunk size line, extensions included */
#define MAX_TRAILERS 8192

/* tchar of RFC 9110 (method and field-name characters) */
static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
fail(struct httpp_error *err, int status, const char *message)
{
	err->status = status;
	err->message = message;
	return -1;
}

/* Does the list value v (comma-separated tokens) contain token t, case-insensitively? */
static int
list_has(const char *v, size_t n, const char *t)
{
	size_t		tl = strlen(t),
				i = 0;

	while (i < n)
	{
		size_t		s,
					e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, t, tl) == 0)
			return 1;
	}
	return 0;
}

static int
name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* The request line; returns its length with CRLF, or -1. */
static ssize_t
parse_request_line(const char *p, const char *end, struct httpp_head *h, struct httpp_error *err)
{
	const char *s = p,
			   *m;

	while (p < end && is_tchar((unsigned char) *p))
		p++;
	if (p == s || p - s > 16 || p >= end || *p != ' ')
		return fail(err, 400, "malformed request line (method)");
	if (p - s == 3 && memcmp(s, "GET", 3) == 0)
		h->method = HTTPP_GET;
	else if (p - s == 4 && memcmp(s, "POST", 4) == 0)
		h->method = HTTPP_POST;
	else if (p - s == 4 && memcmp(s, "HEAD", 4) == 0)
		h->method = HTTPP_HEAD;
	else
		h->method = HTTPP_OTHER;
	m = ++p;
	while (p < end && (unsigned char) *p > 0x20 && (unsigned char) *p < 0x7f)
		p++;
	if (p == m || p >= end || *p != ' ')
		return fail(err, 400, "malformed request line (request target)");
	if (*m != '/')
		return fail(err, 400, "request target must be a path (origin-form, starting with /)");
	if ((size_t) (p - m) > HTTPP_MAX_TARGET)
		return fail(err, 414, "request target is too long");
	h->target = m;
	h->target_len = (size_t) (p - m);
	p++;
	if (end - p != 10 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[8] != '\r' || p[9] != '\n' ||
		p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
		return fail(err, 400, "malformed request line (HTTP version)");
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return fail(err, 505, "HTTP version not supported: use HTTP/1.1");
	h->minor = p[7] - '0';
	return end - s;
}

/* Parse a complete head; see httpparse.h. */
ssize_t
httpp_parse_head(const char *buf, size_t len, size_t max_head, struct httpp_head *h, struct httpp_error *err)
{
	const char *end,
			   *p,
			   *eol;
	size_t		scan = len < max_head ? len : max_head;
	int			nheaders = 0,
				ncl = 0,
				nte = 0,
				conn_close = 0,
				conn_keep = 0;
	ssize_t		n;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	end = memmem(buf, scan, "\r\n\r\n", 4);
	if (end == NULL)
		return len >= max_head ? fail(err, 431, "request header block is too large") : 0;
	end += 4;
	eol = memmem(buf, (size_t) (end - buf), "\r\n", 2);
	n = parse_request_line(buf, eol + 2, h, err);
	if (n < 0)
		return -1;
	p = buf + n;
	while (p < end - 2)
	{
		const char *name = p,
				   *colon,
				   *v,
				   *ve;
		size_t		nl;

		eol = memmem(p, (size_t) (end - p), "\r\n", 2);
		if (*p == ' ' || *p == '\t')
			return fail(err, 400, "obsolete line folding in a header is not allowed");
		while (p < eol && is_tchar((unsigned char) *p))
			p++;
		if (p == name || p >= eol || *p != ':')
			return fail(err, 400, "malformed header line");
		colon = p;
		nl = (size_t) (colon - name);
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		ve = eol;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (p = v; p < ve; p++)
		{
			unsigned char c = (unsigned char) *p;

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return fail(err, 400, "control character in a header value");
		}
		if (++nheaders > MAX_HEADERS)
			return fail(err, 431, "too many header lines");
		if (name_is(name, nl, "Content-Length"))
		{
			int64_t		cl = 0;

			if (++ncl > 1)
				return fail(err, 400, "more than one Content-Length header");
			if (v == ve || ve - v > 18)
				return fail(err, v == ve ? 400 : 413, v == ve ? "empty Content-Length" : "request body is over max_body_bytes");
			for (p = v; p < ve; p++)
			{
				if (*p < '0' || *p > '9')
					return fail(err, 400, "Content-Length is not a number");
				cl = cl * 10 + (*p - '0');
			}
			h->content_length = cl;
		}
		else if (name_is(name, nl, "Transfer-Encoding"))
		{
			if (++nte > 1)
				return fail(err, 400, "more than one Transfer-Encoding header");
			if (!(ve - v == 7 && strncasecmp(v, "chunked", 7) == 0))
				return fail(err, 501, "Transfer-Encoding other than chunked is not supported");
			h->chunked = 1;
		}
		else if (name_is(name, nl, "Connection"))
		{
			conn_close |= list_has(v, (size_t) (ve - v), "close");
			conn_keep |= list_has(v, (size_t) (ve - v), "keep-alive");
		}
		else if (name_is(name, nl, "Expect"))
		{
			if (!(ve - v == 12 && strncasecmp(v, "100-continue", 12) == 0))
				return fail(err, 417, "unsupported Expect (only 100-continue)");
			h->expect_continue = 1;
		}
		else if (name_is(name, nl, "Authorization"))
		{
			h->authorization = v;
			h->authorization_len = (size_t) (ve - v);
		}
		p = eol + 2;
	}
	if (ncl > 0 && nte > 0)
		return fail(err, 400, "both Content-Length and Transfer-Encoding headers");
	if (nte > 0 && h->minor == 0)
		return fail(err, 400, "Transfer-Encoding in an HTTP/1.0 request");
	h->keep_alive = h->minor == 1 ? !conn_close : (conn_keep && !conn_close);
	return end - buf;
}

enum {
	CH_SIZE = 0,				/* hex digits of the chunk size */
	CH_EXT,						/* ;extensions up to CR */
	CH_SIZE_LF,					/* LF after the size line */
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER,					/* start of a trailer line (or the final CRLF) */
	CH_TRAILER_LINE,			/* inside a trailer line */
	CH_TRAILER_LF,				/* LF ending a trailer line */
	CH_END_LF,					/* LF of the final empty line */
	CH_DONE
};

void
httpp_chunked_init(struct httpp_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decode more of a chunked body; see httpparse.h. */
int
httpp_chunked_decode(struct httpp_chunked *c, char *buf, size_t len, uint64_t max_body, struct httpp_error *err)
{
	while (c->in < len && c->state != CH_DONE)
	{
		char		ch = buf[c->in];

		switch (c->state)
		{
			case CH_SIZE:
				if (hexval(ch) >= 0)
				{
					if (++c->n > 15)
						return fail(err, 413, "chunk size is too large");
					c->left = c->left * 16 + (uint64_t) hexval(ch);
				}
				else if (c->n == 0)
					return fail(err, 400, "malformed chunk size");
				else if (ch == ';')
					c->state = CH_EXT;
				else if (ch == '\r')
					c->state = CH_SIZE_LF;
				else
					return fail(err, 400, "malformed chunk size line");
				c->in++;
				break;
			case CH_EXT:
				if (++c->n > MAX_CHUNK_LINE)
					return fail(err, 400, "chunk extension is too long");
				if (ch == '\r')
					c->state = CH_SIZE_LF;
				else if (ch == '\n' || ch == '\0')
					return fail(err, 400, "malformed chunk extension");
				c->in++;
				break;
			case CH_SIZE_LF:
				if (ch != '\n')
					return fail(err, 400, "chunk size line must end with CRLF");
				c->in++;
				c->n = 0;
				if (c->left == 0)
					c->state = CH_TRAILER;
				else if (c->left > max_body || c->out + c->left > max_body)
					return fail(err, 413, "request body is over max_body_bytes");
				else
					c->state = CH_DATA;
				break;
			case CH_DATA:
				{
					size_t		k = len - c->in;

					if (k > c->left)
						k = (size_t) c->left;
					if (c->out != c->in)
						memmove(buf + c->out, buf + c->in, k);
					c->out += k;
					c->in += k;
					c->left -= k;
					if (c->left == 0)
						c->state = CH_DATA_CR;
				}
				break;
			case CH_DATA_CR:
			case CH_DATA_LF:
				if (ch != (c->state == CH_DATA_CR ? '\r' : '\n'))
					return fail(err, 400, "chunk data must end with CRLF");
				c->in++;
				c->state = c->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
				break;
			case CH_TRAILER:
				if (ch == '\r')
					c->state = CH_END_LF;
				else if (is_tchar((unsigned char) ch))
					c->state = CH_TRAILER_LINE;
				else
					return fail(err, 400, "malformed trailer");
				c->in++;
				break;
			case CH_TRAILER_LINE:
				if (++c->n > MAX_TRAILERS)
					return fail(err, 431, "trailer section is too large");
				if (ch == '\r')
					c->state = CH_TRAILER_LF;
				else if (ch == '\n' || ch == '\0')
					return fail(err, 400, "malformed trailer");
				c->in++;
				break;
			case CH_TRAILER_LF:
			case CH_END_LF:
				if (ch != '\n')
					return fail(err, 400, "trailer lines must end with CRLF");
				c->in++;
				c->state = c->state == CH_END_LF ? CH_DONE : CH_TRAILER;
				break;
		}
	}
	return c->state == CH_DONE ? 1 : 0;
}
