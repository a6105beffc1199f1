/* Envelope validation: parse an NDJSON or JSON-array body into events, or name every problem. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "json.h"
#include "timestamp.h"
#include "uuid.h"

/* Offsets of strings decoded into b->strings, resolved once parsing is done. */
struct envelope_fix {
	ssize_t		tenant;			/* -1: pointer already set (borrowed from the body) */
	ssize_t		type;
	ssize_t		subject;
};

enum field {
	FLD_EVENT_ID,
	FLD_TENANT_ID,
	FLD_EVENT_TYPE,
	FLD_SUBJECT,
	FLD_OCCURRED_AT,
	FLD_SENT_AT,
	FLD_RECEIVED_AT,
	FLD_SCHEMA_VERSION,
	FLD_PAYLOAD,
	FLD_METADATA,
	FLD_COUNT
};

static const char *const field_names[FLD_COUNT] = {
	"event_id", "tenant_id", "event_type", "subject", "occurred_at", "sent_at", "received_at",
	"schema_version", "payload", "metadata"
};

/* Empty result. */
void
envelope_batch_init(struct envelope_batch *b)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->strings);
}

/* Free a result; it is empty and reusable afterwards. */
void
envelope_batch_free(struct envelope_batch *b)
{
	free(b->events);
	free(b->errors);
	free(b->fix);
	buf_free(&b->strings);
	envelope_batch_init(b);
}

/* Record a problem (kept up to ENVELOPE_MAX_ERRORS). */
static void
add_error(struct envelope_batch *b, int line, int index, const char *field, const char *fmt,...)
	EV_PRINTF(5, 6);

/* (definition) */
static void
add_error(struct envelope_batch *b, int line, int index, const char *field, const char *fmt,...)
{
	struct envelope_error *e;
	va_list		ap;

	b->nerr_total++;
	if (b->nerr >= ENVELOPE_MAX_ERRORS)
		return;
	if (b->nerr == 0 || (b->nerr & (b->nerr - 1)) == 0)
	{
		size_t		ncap = b->nerr ? b->nerr * 2 : 8;
		struct envelope_error *n = realloc(b->errors, ncap * sizeof(*n));

		if (n == NULL)
			return;				/* counted, not kept */
		b->errors = n;
	}
	e = &b->errors[b->nerr++];
	e->line = line;
	e->index = index;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* Make room for one more event. */
static int
grow_events(struct envelope_batch *b)
{
	if (b->n == b->cap)
	{
		size_t		ncap = b->cap ? b->cap * 2 : 16;
		struct event *ne = realloc(b->events, ncap * sizeof(*ne));
		struct envelope_fix *nf;

		if (ne == NULL)
			return EV_ERROR;
		b->events = ne;
		nf = realloc(b->fix, ncap * sizeof(*nf));
		if (nf == NULL)
			return EV_ERROR;
		b->fix = nf;
		b->cap = ncap;
	}
	return EV_OK;
}

/* Line number of byte offset off, counting from a known (offset, line) pair. */
static int
line_at(const char *text, size_t from_off, int from_line, size_t off)
{
	const char *p = text + from_off;
	const char *end = text + off;
	int			line = from_line;

	while (p < end && (p = memchr(p, '\n', (size_t) (end - p))) != NULL)
	{
		line++;
		p++;
	}
	return line;
}

/*
 * Get a string's value: borrowed from the text when it has no escapes, else decoded
 * into b->strings (offset in *off).
 */
static int
string_value(struct envelope_batch *b, const char *lit, size_t litlen, const char **val, size_t *vlen,
			 ssize_t *off)
{
	if (!json_string_has_escape(lit, litlen))
	{
		*val = lit + 1;
		*vlen = litlen - 2;
		*off = -1;
		return EV_OK;
	}
	*off = (ssize_t) b->strings.len;
	if (json_string_decode(lit, litlen, &b->strings) != EV_OK)
		return EV_ERROR;
	*val = NULL;
	*vlen = b->strings.len - (size_t) *off;
	return EV_OK;
}

/* Is the literal a plain integer? */
static int
is_integer(const char *s, size_t n, long long *v)
{
	size_t		i = 0;
	long long	x = 0;

	if (n > 0 && s[0] == '-')
		i = 1;
	if (i >= n)
		return 0;
	for (; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (x > (1LL << 40))
			return 0;
		x = x * 10 + (s[i] - '0');
	}
	*v = s[0] == '-' ? -x : x;
	return 1;
}

/*
 * Parse one event object at text[*pos] ('{' expected). Returns EV_OK (maybe with
 * field errors recorded), EV_CORRUPT for a syntax error after which the rest of this
 * text cannot be read (recorded too), EV_ERROR for out of memory.
 */
static int
parse_event(struct envelope_batch *b, const char *text, size_t len, size_t *pos, int line, int index,
			int64_t received_us)
{
	struct event ev;
	struct envelope_fix fix = {-1, -1, -1};
	unsigned	seen = 0;
	size_t		i = *pos;
	size_t		nerr_before = b->nerr_total;
	int			has_sent = 0;
	int64_t		sent_us = 0;
	struct json_error jerr;
	size_t		str_mark = b->strings.len;

	memset(&ev, 0, sizeof(ev));
	ev.schema_version = 1;
	ev.received_us = received_us;
	if (text[i] != '{')
	{
		size_t		start;
		enum json_type t;

		if (json_scan_value(text, len, &i, &start, &t, &jerr) != EV_OK)
		{
			add_error(b, line, index, "", "invalid JSON at byte %zu: %s", jerr.offset - *pos + 1, jerr.message);
			return EV_CORRUPT;
		}
		add_error(b, line, index, "", "event must be a JSON object, not %s", json_type_name(t));
		*pos = i;
		return EV_OK;
	}
	i = json_skip_ws(text, len, i + 1);
	if (i < len && text[i] == '}')
		i++;
	else
		for (;;)
		{
			size_t		kstart = i,
						vstart;
			char		key[64];
			size_t		klen;
			enum json_type t;
			int			f;
			const char *v;

			if (i >= len || text[i] != '"')
			{
				add_error(b, line, index, "", "invalid JSON at byte %zu: object key (a string) expected", i - *pos + 1);
				return EV_CORRUPT;
			}
			if (json_scan_value(text, len, &i, &kstart, &t, &jerr) != EV_OK)
			{
				add_error(b, line, index, "", "invalid JSON at byte %zu: %s", jerr.offset - *pos + 1, jerr.message);
				return EV_CORRUPT;
			}
			klen = i - kstart - 2;
			if (json_string_has_escape(text + kstart, i - kstart))
			{
				struct buf	kb;

				buf_init(&kb);
				if (json_string_decode(text + kstart, i - kstart, &kb) != EV_OK)
					return EV_ERROR;
				klen = kb.len < sizeof(key) - 1 ? kb.len : sizeof(key) - 1;
				memcpy(key, kb.data ? kb.data : "", klen);
				buf_free(&kb);
			}
			else
			{
				if (klen > sizeof(key) - 1)
					klen = sizeof(key) - 1;
				memcpy(key, text + kstart + 1, klen);
			}
			key[klen] = '\0';
			i = json_skip_ws(text, len, i);
			if (i >= len || text[i] != ':')
			{
				add_error(b, line, index, key, "invalid JSON at byte %zu: ':' expected after the key", i - *pos + 1);
				return EV_CORRUPT;
			}
			i++;
			if (json_scan_value(text, len, &i, &vstart, &t, &jerr) != EV_OK)
			{
				add_error(b, line, index, key, "invalid JSON at byte %zu: %s", jerr.offset - *pos + 1, jerr.message);
				return EV_CORRUPT;
			}
			v = text + vstart;
			for (f = 0; f < FLD_COUNT; f++)
				if (strcmp(key, field_names[f]) == 0)
					break;
			if (f == FLD_COUNT)
				add_error(b, line, index, key, "unknown field (allowed: event_id, tenant_id, event_type, subject, "
						  "occurred_at, sent_at, schema_version, payload, metadata)");
			else if (seen & (1u << f))
				add_error(b, line, index, key, "duplicate field");
			else
			{
				size_t		vlen = i - vstart;
				const char *sv;
				size_t		slen;
				ssize_t		off;

				seen |= 1u << f;
				switch (f)
				{
					case FLD_EVENT_ID:
						if (t == JSON_NULL)
							break;
						if (t != JSON_STRING || json_string_has_escape(v, vlen) ||
							uuid_parse(v + 1, vlen - 2, ev.id) != EV_OK)
							add_error(b, line, index, key, "must be a UUID string such as \"0190f8a4-5c7e-7d3a-9b1e-2f4c6a8e0b12\"");
						else
							ev.id_given = 1;
						break;
					case FLD_TENANT_ID:
					case FLD_EVENT_TYPE:
						{
							size_t		max = f == FLD_TENANT_ID ? ENVELOPE_TENANT_MAX : ENVELOPE_TYPE_MAX;

							if (t != JSON_STRING)
							{
								add_error(b, line, index, key, "must be a string, not %s", json_type_name(t));
								break;
							}
							if (string_value(b, v, vlen, &sv, &slen, &off) != EV_OK)
								return EV_ERROR;
							if (slen < 1 || slen > max)
							{
								add_error(b, line, index, key, "must be 1-%zu bytes (got %zu)", max, slen);
								break;
							}
							if (f == FLD_TENANT_ID)
							{
								ev.tenant = sv;
								ev.tenant_len = slen;
								fix.tenant = off;
							}
							else
							{
								ev.type = sv;
								ev.type_len = slen;
								fix.type = off;
							}
							break;
						}
					case FLD_SUBJECT:
						if (t == JSON_NULL)
							break;
						if (t != JSON_STRING)
						{
							add_error(b, line, index, key, "must be a string or null, not %s", json_type_name(t));
							break;
						}
						if (string_value(b, v, vlen, &sv, &slen, &off) != EV_OK)
							return EV_ERROR;
						/* the log's subject_length constraint, refused here rather than dead-lettered */
						if (slen < 1 || slen > ENVELOPE_SUBJECT_MAX)
						{
							add_error(b, line, index, key, "must be 1-%d bytes (got %zu)",
									  ENVELOPE_SUBJECT_MAX, slen);
							break;
						}
						ev.subject = sv ? sv : "";
						ev.subject_len = slen;
						fix.subject = off;
						break;
					case FLD_OCCURRED_AT:
					case FLD_SENT_AT:
						{
							int64_t		us;

							if (t == JSON_NULL)
								break;
							if (t != JSON_STRING || json_string_has_escape(v, vlen) ||
								timestamp_parse(v + 1, vlen - 2, &us) != EV_OK)
							{
								add_error(b, line, index, key, "must be an RFC 3339 timestamp with a time zone, "
										  "such as \"2024-05-01T12:00:00.123Z\"");
								break;
							}
							if (f == FLD_OCCURRED_AT)
							{
								ev.has_occurred = 1;
								ev.occurred_us = us;
							}
							else
							{
								has_sent = 1;
								sent_us = us;
							}
							break;
						}
					case FLD_RECEIVED_AT:
						add_error(b, line, index, key, "is stamped by the server; remove it (use occurred_at for the producer's time)");
						break;
					case FLD_SCHEMA_VERSION:
						{
							long long	n;

							if (t != JSON_NUMBER || !is_integer(v, vlen, &n) || n < 1 || n > 2147483647)
								add_error(b, line, index, key, "must be an integer >= 1");
							else
								ev.schema_version = (int32_t) n;
							break;
						}
					case FLD_PAYLOAD:
						if (t != JSON_OBJECT && t != JSON_ARRAY)
						{
							add_error(b, line, index, key, "must be a JSON object or array, not %s", json_type_name(t));
							break;
						}
						ev.payload = v;
						ev.payload_len = vlen;
						break;
					case FLD_METADATA:
						if (t == JSON_NULL)
							break;
						if (t != JSON_OBJECT)
						{
							add_error(b, line, index, key, "must be a JSON object or null, not %s", json_type_name(t));
							break;
						}
						ev.metadata = v;
						ev.metadata_len = vlen;
						break;
				}
			}
			i = json_skip_ws(text, len, i);
			if (i < len && text[i] == ',')
			{
				i = json_skip_ws(text, len, i + 1);
				continue;
			}
			if (i < len && text[i] == '}')
			{
				i++;
				break;
			}
			add_error(b, line, index, "", "invalid JSON at byte %zu: ',' or '}' expected", i - *pos + 1);
			return EV_CORRUPT;
		}
	*pos = i;
	if (!(seen & (1u << FLD_TENANT_ID)))
		add_error(b, line, index, "tenant_id", "is required");
	if (!(seen & (1u << FLD_EVENT_TYPE)))
		add_error(b, line, index, "event_type", "is required");
	if (!(seen & (1u << FLD_PAYLOAD)))
		add_error(b, line, index, "payload", "is required");
	if (ev.has_occurred && has_sent && b->nerr_total == nerr_before)
	{
		/* producer clock skew; both times parsed, so neither term overflows */
		ev.occurred_us += received_us - sent_us;
		/*
		 * Issue 7 (found by test/fuzz/fuzz_envelope): a sent_at far from now moved
		 * occurred_at outside years 1-9999, which PostgreSQL refused at COPY time
		 * (dead letter) and whose dead-letter form could not be posted again.
		 */
		if (ev.occurred_us < ENVELOPE_MIN_US || ev.occurred_us >= ENVELOPE_END_US)
			add_error(b, line, index, "sent_at",
					  "moves occurred_at outside years 1-9999 (occurred_at + (received_at - sent_at)); check the producer's clock");
	}
	if (b->nerr_total != nerr_before)
	{
		b->strings.len = str_mark;
		return EV_OK;
	}
	if (!ev.id_given)
		uuid_v7(received_us / 1000, ev.id);
	if (grow_events(b) != EV_OK)
		return EV_ERROR;
	b->events[b->n] = ev;
	b->fix[b->n] = fix;
	b->n++;
	return EV_OK;
}

/* Parse the body. */
int
envelope_parse(struct envelope_batch *b, const char *body, size_t len, int64_t received_us)
{
	size_t		i = json_skip_ws(body, len, 0);
	size_t		k;
	int			index = 0;
	int			rc;

	if (i < len && body[i] == '[')
	{
		/* JSON array: one event per element; lines are counted for messages */
		size_t		line_off = 0;
		int			line = 1;

		i = json_skip_ws(body, len, i + 1);
		if (i < len && body[i] == ']')
			i++;
		else
			for (;;)
			{
				line = line_at(body, line_off, line, i);
				line_off = i;
				index++;
				if (i >= len)
				{
					add_error(b, line, index, "", "unexpected end of the JSON array");
					break;
				}
				rc = parse_event(b, body, len, &i, line, index, received_us);
				if (rc == EV_ERROR)
					return EV_ERROR;
				if (rc == EV_CORRUPT)
					break;
				i = json_skip_ws(body, len, i);
				if (i < len && body[i] == ',')
				{
					i = json_skip_ws(body, len, i + 1);
					continue;
				}
				if (i < len && body[i] == ']')
				{
					i++;
					break;
				}
				add_error(b, line_at(body, line_off, line, i), index, "", "',' or ']' expected after the event");
				break;
			}
		if (b->nerr_total == 0 && json_skip_ws(body, len, i) != len)
			add_error(b, line_at(body, 0, 1, i), index, "", "unexpected data after the JSON array");
	}
	else
	{
		/* NDJSON: one event per non-blank line */
		size_t		start = 0;
		int			line = 0;

		while (start < len)
		{
			const char *nl = memchr(body + start, '\n', len - start);
			size_t		end = nl ? (size_t) (nl - body) : len;
			size_t		p = json_skip_ws(body, end, start);

			line++;
			if (p < end)
			{
				size_t		q = 0;
				size_t		nbefore = b->n;

				index++;
				rc = parse_event(b, body + p, end - p, &q, line, index, received_us);
				if (rc == EV_ERROR)
					return EV_ERROR;
				/* the event must be all of the line */
				if (rc == EV_OK && json_skip_ws(body + p, end - p, q) != end - p)
				{
					add_error(b, line, index, "", "unexpected data after the event (one event per line)");
					b->n = nbefore;
				}
			}
			start = end + 1;
		}
	}
	if (index == 0 && b->nerr_total == 0)
		add_error(b, 1, 0, "", "no events in the body");
	/* resolve strings decoded into b->strings now that it no longer moves */
	for (k = 0; k < b->n; k++)
	{
		if (b->fix[k].tenant >= 0)
			b->events[k].tenant = b->strings.data + b->fix[k].tenant;
		if (b->fix[k].type >= 0)
			b->events[k].type = b->strings.data + b->fix[k].type;
		if (b->fix[k].subject >= 0)
			b->events[k].subject = b->strings.data + b->fix[k].subject;
	}
	return EV_OK;
}
