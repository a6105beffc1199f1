/* Tests of envelope.c, json.c, timestamp.c, uuid.c and event.c: every envelope rule, line numbers. */
#include <stdlib.h>

#include "test.h"
#include "envelope.h"
#include "event.h"
#include "json.h"
#include "timestamp.h"
#include "uuid.h"

#define NOW_US 1714564800000000LL	/* 2024-05-01T12:00:00Z */

/* Parse text; returns the batch (caller frees). */
static int
parse(struct envelope_batch *b, const char *text)
{
	envelope_batch_init(b);
	return envelope_parse(b, text, strlen(text), NOW_US);
}

/* Is there an error with this line, field and message part? */
static int
has_error(const struct envelope_batch *b, int line, const char *field, const char *part)
{
	size_t		i;

	for (i = 0; i < b->nerr; i++)
		if (b->errors[i].line == line && strcmp(b->errors[i].field, field) == 0 &&
			strstr(b->errors[i].message, part) != NULL)
			return 1;
	return 0;
}

/* A minimal valid event: stamped id (UUIDv7), received_at, defaults. */
static void
test_envelope_minimal(void)
{
	struct envelope_batch b;
	const struct event *e;

	CHECK(parse(&b, "{\"tenant_id\":\"acme\",\"event_type\":\"user.login\",\"payload\":{\"x\":1.10}}\n") == EV_OK);
	CHECK_INT(b.nerr_total, 0);
	CHECK_INT(b.n, 1);
	e = &b.events[0];
	CHECK(!e->id_given);
	CHECK_INT(e->id[6] >> 4, 7);	/* version 7 */
	CHECK_INT(e->id[8] >> 6, 2);	/* RFC variant */
	CHECK_INT(e->received_us, NOW_US);
	CHECK_INT(e->schema_version, 1);
	CHECK(e->subject == NULL && e->metadata == NULL && !e->has_occurred);
	CHECK(e->payload_len == 10 && memcmp(e->payload, "{\"x\":1.10}", 10) == 0);	/* exact bytes */
	envelope_batch_free(&b);
}

/* Every field set; sent_at corrects occurred_at by received_at - sent_at. */
static void
test_envelope_all_fields_and_skew(void)
{
	struct envelope_batch b;
	const struct event *e;
	unsigned char id[16];

	CHECK(parse(&b, "{\"event_id\":\"0190F8A4-5C7E-7D3A-9B1E-2F4C6A8E0B12\",\"tenant_id\":\"t\\u00e9\","
				"\"event_type\":\"a.b\",\"subject\":\"u\\n1\",\"occurred_at\":\"2024-05-01T11:59:00Z\","
				"\"sent_at\":\"2024-05-01T11:59:58+00:00\",\"schema_version\":3,\"payload\":[1],"
				"\"metadata\":{\"ip\":\"::1\"}}") == EV_OK);
	CHECK_INT(b.nerr_total, 0);
	e = &b.events[0];
	CHECK(e->id_given);
	CHECK(uuid_parse("0190f8a4-5c7e-7d3a-9b1e-2f4c6a8e0b12", 36, id) == EV_OK);
	CHECK(memcmp(e->id, id, 16) == 0);
	CHECK(e->tenant_len == 3 && memcmp(e->tenant, "t\xc3\xa9", 3) == 0);
	CHECK(e->subject_len == 3 && memcmp(e->subject, "u\n1", 3) == 0);
	CHECK_INT(e->schema_version, 3);
	/* client clock 2 s behind: 11:59:00 + (12:00:00 - 11:59:58) = 11:59:02 */
	CHECK_INT(e->occurred_us, NOW_US - 58 * 1000000LL);
	CHECK(e->metadata && e->metadata_len == 12);
	envelope_batch_free(&b);
}

/* Each rule yields an error naming line and field; nothing is returned as an event. */
static void
test_envelope_rules(void)
{
	struct envelope_batch b;
	char		big[400];

	memset(big, 'x', 300);
	big[300] = '\0';
	CHECK(parse(&b,
				"{\"tenant_id\":\"\",\"event_type\":\"x\",\"payload\":{}}\n"	/* 1 */
				"{\"tenant_id\":\"a\",\"event_type\":\"\",\"payload\":{}}\n"	/* 2 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":\"s\"}\n"	/* 3 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\"}\n"	/* 4 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"received_at\":\"2024-05-01T00:00:00Z\"}\n"	/* 5 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"color\":\"red\"}\n"	/* 6 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"schema_version\":0}\n"	/* 7 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"schema_version\":1.5}\n"	/* 8 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"metadata\":[1]}\n"	/* 9 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"event_id\":\"not-a-uuid\"}\n"	/* 10 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"occurred_at\":\"2024-05-01 10:00:00\"}\n"	/* 11 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{\"k\":\"\\u0000\"}}\n"	/* 12 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"tenant_id\":\"b\"}\n"	/* 13 */
				"{\"tenant_id\":5,\"event_type\":\"x\",\"payload\":{}}\n"	/* 14 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"subject\":7}\n"	/* 15 */
				"[1,2]\n"		/* 16 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{} \n"	/* 17 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{}} extra\n"	/* 18 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"occurred_at\":\"2023-02-29T00:00:00Z\"}\n"	/* 19 */
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{\"s\":\"\\ud800\"}}\n"	/* 20 */
				) == EV_OK);
	if (b.n != 0)
		printf("#   unexpected event: %.*s\n", (int) b.events[0].payload_len, b.events[0].payload);
	CHECK_INT(b.n, 0);
	CHECK(has_error(&b, 1, "tenant_id", "1-128 bytes"));
	CHECK(has_error(&b, 2, "event_type", "1-200 bytes"));
	CHECK(has_error(&b, 3, "payload", "object or array"));
	CHECK(has_error(&b, 4, "payload", "is required"));
	CHECK(has_error(&b, 5, "received_at", "stamped by the server"));
	CHECK(has_error(&b, 6, "color", "unknown field"));
	CHECK(has_error(&b, 7, "schema_version", "integer >= 1"));
	CHECK(has_error(&b, 8, "schema_version", "integer >= 1"));
	CHECK(has_error(&b, 9, "metadata", "object or null"));
	CHECK(has_error(&b, 10, "event_id", "UUID"));
	CHECK(has_error(&b, 11, "occurred_at", "RFC 3339"));
	CHECK(has_error(&b, 12, "payload", "\\u0000"));
	CHECK(has_error(&b, 13, "tenant_id", "duplicate field"));
	CHECK(has_error(&b, 14, "tenant_id", "must be a string"));
	CHECK(has_error(&b, 15, "subject", "string or null"));
	CHECK(has_error(&b, 16, "", "must be a JSON object"));
	CHECK(has_error(&b, 17, "", "invalid JSON"));
	CHECK(has_error(&b, 18, "", "unexpected data after the event"));
	CHECK(has_error(&b, 19, "occurred_at", "RFC 3339"));
	CHECK(has_error(&b, 20, "payload", "surrogate"));
	envelope_batch_free(&b);
	/* the length limits are inclusive */
	{
		char		text[1024];

		memset(big, 'a', 128);
		big[128] = '\0';
		snprintf(text, sizeof(text), "{\"tenant_id\":\"%s\",\"event_type\":\"x\",\"payload\":{}}", big);
		CHECK(parse(&b, text) == EV_OK);
		CHECK_INT(b.nerr_total, 0);
		envelope_batch_free(&b);
		memset(big, 'a', 129);
		big[129] = '\0';
		snprintf(text, sizeof(text), "{\"tenant_id\":\"%s\",\"event_type\":\"x\",\"payload\":{}}", big);
		CHECK(parse(&b, text) == EV_OK);
		CHECK(has_error(&b, 1, "tenant_id", "got 129"));
		envelope_batch_free(&b);
		memset(big, 'e', 201);
		big[201] = '\0';
		snprintf(text, sizeof(text), "{\"tenant_id\":\"a\",\"event_type\":\"%s\",\"payload\":{}}", big);
		CHECK(parse(&b, text) == EV_OK);
		CHECK(has_error(&b, 1, "event_type", "got 201"));
		envelope_batch_free(&b);
	}
}

/* Invalid UTF-8 (raw bytes) is refused with its position. */
static void
test_envelope_invalid_utf8(void)
{
	struct envelope_batch b;

	CHECK(parse(&b, "{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{\"s\":\"\xc3\x28\"}}") == EV_OK);
	CHECK(has_error(&b, 1, "payload", "invalid UTF-8"));
	envelope_batch_free(&b);
	CHECK(parse(&b, "{\"tenant_id\":\"\xed\xa0\x80\",\"event_type\":\"x\",\"payload\":{}}") == EV_OK);
	CHECK(has_error(&b, 1, "tenant_id", "invalid UTF-8"));
	envelope_batch_free(&b);
	CHECK(parse(&b, "{\"tenant_id\":\"ok \xf0\x9f\x98\x80\",\"event_type\":\"x\",\"payload\":{}}") == EV_OK);
	CHECK_INT(b.nerr_total, 0);
	envelope_batch_free(&b);
}

/* JSON arrays: element index and line; blank NDJSON lines are skipped but counted. */
static void
test_envelope_array_and_lines(void)
{
	struct envelope_batch b;

	CHECK(parse(&b, "[\n {\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{}},\n\n"
				" {\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"bad\":1}\n]") == EV_OK);
	CHECK_INT(b.nerr_total, 1);
	CHECK_INT(b.errors[0].line, 4);
	CHECK_INT(b.errors[0].index, 2);
	CHECK_STR(b.errors[0].field, "bad");
	envelope_batch_free(&b);
	CHECK(parse(&b, "\n{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{}}\r\n\n"
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{}}") == EV_OK);
	CHECK_INT(b.nerr_total, 0);
	CHECK_INT(b.n, 2);
	envelope_batch_free(&b);
	CHECK(parse(&b, "  \n ") == EV_OK);
	CHECK(has_error(&b, 1, "", "no events"));
	envelope_batch_free(&b);
	CHECK(parse(&b, "[]") == EV_OK);
	CHECK(has_error(&b, 1, "", "no events"));
	envelope_batch_free(&b);
}

/* Many errors are counted; at most ENVELOPE_MAX_ERRORS are kept. */
static void
test_envelope_error_cap(void)
{
	struct envelope_batch b;
	size_t		n = ENVELOPE_MAX_ERRORS + 50,
				i;
	char	   *text = malloc(n * 4 + 1);

	CHECK(text != NULL);
	for (i = 0; i < n; i++)
		memcpy(text + i * 4, "123\n", 4);
	text[n * 4] = '\0';
	envelope_batch_init(&b);
	CHECK(envelope_parse(&b, text, n * 4, NOW_US) == EV_OK);
	free(text);
	CHECK_INT(b.nerr_total, n);
	CHECK_INT(b.nerr, ENVELOPE_MAX_ERRORS);
	envelope_batch_free(&b);
}

/* Stored form round-trips, and its JSON form carries the raw payload. */
static void
test_event_codec(void)
{
	struct envelope_batch b;
	struct buf	enc,
				js;
	struct event d;
	const char *log;
	size_t		loglen;

	buf_init(&enc);
	buf_init(&js);
	CHECK(parse(&b, "{\"tenant_id\":\"acme\",\"event_type\":\"x.y\",\"subject\":\"s\",\"occurred_at\":\"2024-05-01T11:00:00.5Z\","
				"\"payload\":{\"n\":1e400},\"metadata\":{\"m\":true}}") == EV_OK);
	CHECK_INT(b.nerr_total, 0);
	b.events[0].lane = 42;
	CHECK(event_encode(&b.events[0], "public.audit", 12, &enc) == EV_OK);
	CHECK(event_decode((unsigned char *) enc.data, enc.len, &d, &log, &loglen) == EV_OK);
	CHECK(loglen == 12 && memcmp(log, "public.audit", 12) == 0);
	CHECK_INT(d.lane, 42);
	CHECK(memcmp(d.id, b.events[0].id, 16) == 0);
	CHECK(!d.id_given);		/* stamped here: never a duplicate after a restart */
	CHECK(d.subject_len == 1 && d.has_occurred && d.occurred_us == NOW_US - 3600 * 1000000LL + 500000);
	CHECK(d.payload_len == 11 && memcmp(d.payload, "{\"n\":1e400}", 11) == 0);
	CHECK(event_decode((unsigned char *) enc.data, enc.len - 1, &d, &log, &loglen) == EV_CORRUPT);
	CHECK(event_format_json(&b.events[0], &js) == EV_OK && buf_cstr(&js) == EV_OK);
	CHECK(strstr(js.data, "\"payload\":{\"n\":1e400}") != NULL);
	CHECK(strstr(js.data, "\"occurred_at\":\"2024-05-01T11:00:00.500000Z\"") != NULL);
	CHECK(strstr(js.data, "received_at") == NULL);	/* can be posted again */
	buf_free(&enc);
	buf_free(&js);
	envelope_batch_free(&b);
}

/* RFC 3339 parsing: offsets, fractions, leap days, rejects. */
static void
test_timestamps(void)
{
	int64_t		us;
	char		out[40];

	CHECK(timestamp_parse("2024-05-01T12:00:00Z", 20, &us) == EV_OK);
	CHECK_INT(us, NOW_US);
	CHECK(timestamp_parse("2024-05-01T14:30:00+02:30", 25, &us) == EV_OK);
	CHECK_INT(us, NOW_US);
	CHECK(timestamp_parse("2024-05-01t12:00:00.1234565z", 28, &us) == EV_OK);
	CHECK_INT(us, NOW_US + 123457);	/* rounded to microseconds */
	CHECK(timestamp_parse("1969-12-31T23:59:59.5Z", 22, &us) == EV_OK);
	CHECK_INT(us, -500000);
	CHECK(timestamp_parse("2024-02-29T00:00:00Z", 20, &us) == EV_OK);
	CHECK(timestamp_parse("2023-02-29T00:00:00Z", 20, &us) == EV_ERROR);
	CHECK(timestamp_parse("2024-05-01T12:00:00", 19, &us) == EV_ERROR);
	CHECK(timestamp_parse("2024-05-01T24:00:00Z", 20, &us) == EV_ERROR);
	CHECK(timestamp_parse("2024-05-01T12:00:00.Z", 21, &us) == EV_ERROR);
	CHECK(timestamp_parse("2024-05-01T12:00:00+0200", 24, &us) == EV_ERROR);
	timestamp_format_pg(-500000, out);
	CHECK_STR(out, "1969-12-31 23:59:59.500000+00");
	timestamp_format_iso(NOW_US + 7, out);
	CHECK_STR(out, "2024-05-01T12:00:00.000007Z");
}

/* UUID text forms and UUIDv7 ordering within one millisecond. */
static void
test_uuids(void)
{
	unsigned char a[16],
				b[16];
	char		t[37];
	int			i;

	CHECK(uuid_parse("0190f8a4-5c7e-7d3a-9b1e-2f4c6a8e0b12", 36, a) == EV_OK);
	uuid_format(a, t);
	CHECK_STR(t, "0190f8a4-5c7e-7d3a-9b1e-2f4c6a8e0b12");
	CHECK(uuid_parse("0190f8a45c7e7d3a9b1e2f4c6a8e0b12", 32, a) == EV_ERROR);
	CHECK(uuid_parse("0190f8a4-5c7e-7d3a-9b1e-2f4c6a8e0b1g", 36, a) == EV_ERROR);
	uuid_v7(1714564800000, a);
	for (i = 0; i < 1000; i++)
	{
		uuid_v7(1714564800000, b);
		CHECK(memcmp(a, b, 16) < 0);	/* monotonic */
		memcpy(a, b, 16);
	}
	CHECK_INT(b[6] >> 4, 7);
}

/* The JSON scanner refuses what RFC 8259 refuses, and keeps numbers verbatim. */
static void
test_json_scanner(void)
{
	static const char *const bad[] = {"01", "1.", "-", "+1", "1e", "tru", "[1,]", "{\"a\"}", "{\"a\":1,}",
	"\"\t\"", "\"\\x\"", "[", "{\"a\":[}", "nul", NULL};
	static const char *const good[] = {"0", "-0.5e-7", "123456789012345678901234567890", "\"\\u00e9\\ud83d\\ude00\"",
	"[[[]],{}]", " {\"a\" : [ true , false , null ] } ", NULL};
	int			i;

	for (i = 0; bad[i]; i++)
	{
		size_t		pos = 0,
					start;
		enum json_type t;
		struct json_error err;
		int			r = json_scan_value(bad[i], strlen(bad[i]), &pos, &start, &t, &err);

		CHECK(r == EV_ERROR || json_skip_ws(bad[i], strlen(bad[i]), pos) != strlen(bad[i]));
	}
	for (i = 0; good[i]; i++)
	{
		size_t		pos = 0,
					start;
		enum json_type t;
		struct json_error err;

		CHECK(json_scan_value(good[i], strlen(good[i]), &pos, &start, &t, &err) == EV_OK);
		CHECK_INT(json_skip_ws(good[i], strlen(good[i]), pos), strlen(good[i]));
	}
	{
		struct buf	o;

		buf_init(&o);
		const char *lit = "\"a\\u00e9\\ud83d\\ude00\\n\\/\"";

		CHECK(json_string_decode(lit, strlen(lit), &o) == EV_OK);
		CHECK(o.len == 1 + 2 + 4 + 1 + 1 && memcmp(o.data, "a\xc3\xa9\xf0\x9f\x98\x80\n/", o.len) == 0);
		buf_free(&o);
	}
	/* nesting is bounded */
	{
		char	   *deep = malloc(2 * JSON_MAX_DEPTH + 10);
		size_t		n = 0,
					pos = 0,
					start;
		int			k;
		enum json_type t;
		struct json_error err;

		CHECK(deep != NULL);
		for (k = 0; k < JSON_MAX_DEPTH + 1; k++)
			deep[n++] = '[';
		for (k = 0; k < JSON_MAX_DEPTH + 1; k++)
			deep[n++] = ']';
		k = json_scan_value(deep, n, &pos, &start, &t, &err);
		free(deep);
		CHECK(k == EV_ERROR);
		CHECK(strstr(err.message, "deep") != NULL);
	}
}

/* subject is 1-1024 bytes, as the log's subject_length constraint: refused with 400, not dead-lettered. */
static void
test_envelope_subject_length(void)
{
	struct envelope_batch b;
	char		text[2300];
	char		subject[1026];

	memset(subject, 's', 1025);
	subject[1025] = '\0';
	snprintf(text, sizeof(text),
			 "{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"subject\":\"%s\"}\n"	/* 1: 1025 */
			 "{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"subject\":\"\"}\n",	/* 2: empty */
			 subject);
	CHECK(parse(&b, text) == EV_OK);
	CHECK_INT(b.n, 0);
	CHECK(has_error(&b, 1, "subject", "1-1024 bytes (got 1025)"));
	CHECK(has_error(&b, 2, "subject", "1-1024 bytes (got 0)"));
	envelope_batch_free(&b);

	subject[1024] = '\0';		/* exactly the limit */
	snprintf(text, sizeof(text),
			 "{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},\"subject\":\"%s\"}\n", subject);
	CHECK(parse(&b, text) == EV_OK);
	CHECK_INT(b.n, 1);
	CHECK_INT(b.events[0].subject_len, 1024);
	envelope_batch_free(&b);
}

/*
 * Issue 7, found by test/fuzz/fuzz_envelope: a sent_at far from received_at moved
 * occurred_at outside years 1-9999. PostgreSQL then refused the row (a dead letter whose
 * JSON form could not be posted again); now the request gets 400 naming sent_at.
 */
static void
test_envelope_skew_out_of_range_issue_7(void)
{
	struct envelope_batch b;

	CHECK(parse(&b, "{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},"
				"\"occurred_at\":\"2026-11-25T07:30:00Z\",\"sent_at\":\"8296-11-25T07:30:01Z\"}\n"
				"{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},"
				"\"occurred_at\":\"9999-12-31T23:00:00Z\",\"sent_at\":\"0001-01-01T00:00:00Z\"}\n") == EV_OK);
	CHECK_INT(b.n, 0);
	CHECK(has_error(&b, 1, "sent_at", "outside years 1-9999"));
	CHECK(has_error(&b, 2, "sent_at", "outside years 1-9999"));
	envelope_batch_free(&b);

	/* a large but representable skew is still corrected */
	CHECK(parse(&b, "{\"tenant_id\":\"a\",\"event_type\":\"x\",\"payload\":{},"
				"\"occurred_at\":\"2000-01-01T00:00:00Z\",\"sent_at\":\"3000-01-01T00:00:00Z\"}\n") == EV_OK);
	CHECK_INT(b.nerr_total, 0);
	CHECK_INT(b.n, 1);
	CHECK(b.events[0].occurred_us < 0);	/* before 1970, after year 1 */
	envelope_batch_free(&b);
}

const struct test_case envelope_tests[] = {
	{"skew_out_of_range_issue_7", test_envelope_skew_out_of_range_issue_7},
	{"subject_length", test_envelope_subject_length},
	{"minimal", test_envelope_minimal},
	{"all_fields_and_skew", test_envelope_all_fields_and_skew},
	{"rules", test_envelope_rules},
	{"invalid_utf8", test_envelope_invalid_utf8},
	{"array_and_lines", test_envelope_array_and_lines},
	{"error_cap", test_envelope_error_cap},
	{"event_codec", test_event_codec},
	{"timestamps", test_timestamps},
	{"uuids", test_uuids},
	{"json_scanner", test_json_scanner},
	{NULL, NULL}
};
