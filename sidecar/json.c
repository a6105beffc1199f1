/* Strict JSON (RFC 8259) scanner: validates in place and hands out raw spans, no tree. */
#include <string.h>

#include "json.h"

/* Skip JSON whitespace. */
size_t
json_skip_ws(const char *text, size_t len, size_t pos)
{
	while (pos < len && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
		pos++;
	return pos;
}

/* Set an error and return EV_ERROR. */
static int
fail(struct json_error *err, size_t offset, const char *msg)
{
	err->offset = offset;
	err->message = msg;
	return EV_ERROR;
}


/* Read \uXXXX hex at p (4 digits); -1 if bad. */
static long
hex4(const char *p)
{
	long		v = 0;
	int			i;

	for (i = 0; i < 4; i++)
	{
		int			h = ev_hexval(p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Length of a valid UTF-8 sequence at p (non-ASCII lead), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];

	if (c >= 0xc2 && c <= 0xdf)
		return (avail >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef)
	{
		if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0;			/* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0;			/* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4)
	{
		if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0;			/* overlong */
		if (c == 0xf4 && p[1] >= 0x90)
			return 0;			/* above U+10FFFF */
		return 4;
	}
	return 0;
}

/* Scan a string literal starting at text[pos] == '"'. */
static int
scan_string(const char *text, size_t len, size_t *pos, struct json_error *err)
{
	size_t		i = *pos + 1;

	while (i < len)
	{
		unsigned char c = (unsigned char) text[i];

		if (c == '"')
		{
			*pos = i + 1;
			return EV_OK;
		}
		if (c == '\\')
		{
			if (i + 1 >= len)
				break;
			switch (text[i + 1])
			{
				case '"':
				case '\\':
				case '/':
				case 'b':
				case 'f':
				case 'n':
				case 'r':
				case 't':
					i += 2;
					continue;
				case 'u':
					{
						long		u;

						if (i + 6 > len || (u = hex4(text + i + 2)) < 0)
							return fail(err, i, "invalid \\u escape");
						if (u == 0)
							return fail(err, i, "\\u0000 is not allowed (PostgreSQL jsonb cannot store it)");
						if (u >= 0xdc00 && u <= 0xdfff)
							return fail(err, i, "unpaired low surrogate in \\u escape");
						if (u >= 0xd800 && u <= 0xdbff)
						{
							long		lo;

							if (i + 12 > len || text[i + 6] != '\\' || text[i + 7] != 'u' ||
								(lo = hex4(text + i + 8)) < 0xdc00 || lo > 0xdfff)
								return fail(err, i, "unpaired high surrogate in \\u escape");
							i += 12;
						}
						else
							i += 6;
						continue;
					}
				default:
					return fail(err, i, "invalid escape in string");
			}
		}
		if (c < 0x20)
			return fail(err, i, "control character in string (must be escaped)");
		if (c < 0x80)
		{
			i++;
			continue;
		}
		{
			size_t		n = utf8_seq((const unsigned char *) text + i, len - i);

			if (n == 0)
				return fail(err, i, "invalid UTF-8");
			i += n;
		}
	}
	return fail(err, len, "unterminated string");
}

/* Scan a number at text[pos]. */
static int
scan_number(const char *text, size_t len, size_t *pos, struct json_error *err)
{
	size_t		i = *pos;

	if (i < len && text[i] == '-')
		i++;
	if (i >= len)
		return fail(err, i, "invalid number");
	if (text[i] == '0')
		i++;
	else if (text[i] >= '1' && text[i] <= '9')
		while (i < len && text[i] >= '0' && text[i] <= '9')
			i++;
	else
		return fail(err, i, "invalid number");
	if (i < len && text[i] == '.')
	{
		i++;
		if (i >= len || text[i] < '0' || text[i] > '9')
			return fail(err, i, "invalid number: digit expected after '.'");
		while (i < len && text[i] >= '0' && text[i] <= '9')
			i++;
	}
	if (i < len && (text[i] == 'e' || text[i] == 'E'))
	{
		i++;
		if (i < len && (text[i] == '+' || text[i] == '-'))
			i++;
		if (i >= len || text[i] < '0' || text[i] > '9')
			return fail(err, i, "invalid number: digit expected in exponent");
		while (i < len && text[i] >= '0' && text[i] <= '9')
			i++;
	}
	*pos = i;
	return EV_OK;
}

/* Recursive value scanner with a depth limit. */
static int
scan_value(const char *text, size_t len, size_t *pos, enum json_type *type, int depth,
		   struct json_error *err)
{
	size_t		i = json_skip_ws(text, len, *pos);

	if (i >= len)
		return fail(err, i, "unexpected end of input: value expected");
	switch (text[i])
	{
		case '{':
		case '[':
			{
				char		close = text[i] == '{' ? '}' : ']';
				int			obj = text[i] == '{';

				if (depth >= JSON_MAX_DEPTH)
					return fail(err, i, "nesting too deep");
				*type = obj ? JSON_OBJECT : JSON_ARRAY;
				i = json_skip_ws(text, len, i + 1);
				if (i < len && text[i] == close)
				{
					*pos = i + 1;
					return EV_OK;
				}
				for (;;)
				{
					enum json_type t;

					if (obj)
					{
						i = json_skip_ws(text, len, i);
						if (i >= len || text[i] != '"')
							return fail(err, i, "object key (a string) expected");
						if (scan_string(text, len, &i, err) != EV_OK)
							return EV_ERROR;
						i = json_skip_ws(text, len, i);
						if (i >= len || text[i] != ':')
							return fail(err, i, "':' expected after object key");
						i++;
					}
					if (scan_value(text, len, &i, &t, depth + 1, err) != EV_OK)
						return EV_ERROR;
					i = json_skip_ws(text, len, i);
					if (i < len && text[i] == ',')
					{
						i++;
						continue;
					}
					if (i < len && text[i] == close)
					{
						*pos = i + 1;
						return EV_OK;
					}
					return fail(err, i, obj ? "',' or '}' expected in object" : "',' or ']' expected in array");
				}
			}
		case '"':
			*type = JSON_STRING;
			if (scan_string(text, len, &i, err) != EV_OK)
				return EV_ERROR;
			*pos = i;
			return EV_OK;
		case 't':
			if (len - i >= 4 && memcmp(text + i, "true", 4) == 0)
			{
				*type = JSON_TRUE;
				*pos = i + 4;
				return EV_OK;
			}
			break;
		case 'f':
			if (len - i >= 5 && memcmp(text + i, "false", 5) == 0)
			{
				*type = JSON_FALSE;
				*pos = i + 5;
				return EV_OK;
			}
			break;
		case 'n':
			if (len - i >= 4 && memcmp(text + i, "null", 4) == 0)
			{
				*type = JSON_NULL;
				*pos = i + 4;
				return EV_OK;
			}
			break;
		default:
			if (text[i] == '-' || (text[i] >= '0' && text[i] <= '9'))
			{
				*type = JSON_NUMBER;
				if (scan_number(text, len, &i, err) != EV_OK)
					return EV_ERROR;
				*pos = i;
				return EV_OK;
			}
			break;
	}
	return fail(err, i, "invalid JSON value");
}

/* Scan one value. */
int
json_scan_value(const char *text, size_t len, size_t *pos, size_t *start, enum json_type *type,
				struct json_error *err)
{
	*pos = json_skip_ws(text, len, *pos);
	*start = *pos;
	return scan_value(text, len, pos, type, 0, err);
}

/* Does the literal contain a backslash? */
int
json_string_has_escape(const char *lit, size_t len)
{
	return memchr(lit, '\\', len) != NULL;
}

/* Append code point cp as UTF-8. */
static int
put_utf8(struct buf *out, long cp)
{
	char		t[4];
	size_t		n;

	if (cp < 0x80)
	{
		t[0] = (char) cp;
		n = 1;
	}
	else if (cp < 0x800)
	{
		t[0] = (char) (0xc0 | (cp >> 6));
		t[1] = (char) (0x80 | (cp & 0x3f));
		n = 2;
	}
	else if (cp < 0x10000)
	{
		t[0] = (char) (0xe0 | (cp >> 12));
		t[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char) (0x80 | (cp & 0x3f));
		n = 3;
	}
	else
	{
		t[0] = (char) (0xf0 | (cp >> 18));
		t[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char) (0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(out, t, n);
}

/* Decode a scanned (already valid) string literal. */
int
json_string_decode(const char *lit, size_t len, struct buf *out)
{
	size_t		i = 1;
	size_t		end = len - 1;

	while (i < end)
	{
		const char *bs = memchr(lit + i, '\\', end - i);
		size_t		run = bs ? (size_t) (bs - (lit + i)) : end - i;
		char		c;

		if (buf_append(out, lit + i, run) != EV_OK)
			return EV_ERROR;
		i += run;
		if (i >= end)
			break;
		c = lit[i + 1];
		switch (c)
		{
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				{
					long		u = hex4(lit + i + 2);

					i += 6;
					if (u >= 0xd800 && u <= 0xdbff)
					{
						long		lo = hex4(lit + i + 2);

						u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
						i += 6;
					}
					if (put_utf8(out, u) != EV_OK)
						return EV_ERROR;
					continue;
				}
			default:
				break;			/* " \ / stand for themselves */
		}
		if (buf_putc(out, c) != EV_OK)
			return EV_ERROR;
		i += 2;
	}
	return EV_OK;
}

/* Name of a type. */
const char *
json_type_name(enum json_type t)
{
	static const char *const names[] = {"null", "true", "false", "number", "string", "object", "array"};

	return names[t];
}
