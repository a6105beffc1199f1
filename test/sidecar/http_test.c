/* Tests of the HTTP request parser (httpparse.c) and of http.c's targets, log names and bearer tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "http.h"
#include "httpparse.h"

/* Routes, query parameters and percent-decoding of {log}. */
static void
test_http_parse_target_routes(void)
{
	struct http_target t;

	CHECK(http_parse_target("/v1/logs/audit/events", NULL, &t) == EV_OK);
	CHECK_INT(t.kind, HTTP_ROUTE_EVENTS);
	CHECK_INT(t.status, 0);
	CHECK_STR(t.log, "audit");
	CHECK_INT(t.ack_committed, 0);
	http_target_free(&t);

	CHECK(http_parse_target("/v1/logs/public.%22My%20Log%22/events", "ack=committed&dedup=off", &t) == EV_OK);
	CHECK_INT(t.status, 0);
	CHECK_STR(t.log, "public.\"My Log\"");
	CHECK_INT(t.ack_committed, 1);
	CHECK_INT(t.no_dedup, 1);
	http_target_free(&t);

	CHECK(http_parse_target("/v1/flush", "x=1", &t) == EV_OK);
	CHECK_INT(t.kind, HTTP_ROUTE_FLUSH);
	CHECK_INT(t.status, 0);
	http_target_free(&t);
}

/* Every malformed target gets its status and a message; none yields a log name. */
static void
test_http_parse_target_errors(void)
{
	struct http_target t;

	CHECK(http_parse_target(NULL, NULL, &t) == EV_OK);
	CHECK_INT(t.status, 400);
	CHECK(http_parse_target("/v1/logs/audit/events/x", NULL, &t) == EV_OK);
	CHECK_INT(t.status, 404);
	CHECK(t.log == NULL);
	CHECK(http_parse_target("/v1/logs/audit", NULL, &t) == EV_OK);
	CHECK_INT(t.status, 404);
	CHECK(http_parse_target("/v2/flush", NULL, &t) == EV_OK);
	CHECK_INT(t.status, 404);
	CHECK_INT(t.kind, HTTP_ROUTE_NONE);
	CHECK(http_parse_target("/v1/logs/a/events", "ack=maybe", &t) == EV_OK);
	CHECK_INT(t.status, 400);
	CHECK_STR(t.message, "ack must be spooled or committed");
	CHECK(t.log == NULL);
	CHECK(http_parse_target("/v1/logs/a/events", "dedup=0&ack=committed", &t) == EV_OK);
	CHECK_INT(t.status, 400);
	CHECK_STR(t.message, "dedup must be on or off");
}

/* Log names: SQL injection text and control bytes never pass; quoted identifiers do. */
static void
test_http_valid_log_name(void)
{
	struct http_target t;
	char		longname[202];

	CHECK(http_valid_log_name("audit"));
	CHECK(http_valid_log_name("app.\"Audit_Log\""));
	CHECK(http_valid_log_name("app.\"Audit Log\"") == 0);	/* a space */
	CHECK(http_valid_log_name("audit;DROP TABLE x") == 0);
	CHECK(http_valid_log_name("audit'--") == 0);
	CHECK(http_valid_log_name("a(b)") == 0);
	CHECK(http_valid_log_name("") == 0);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(http_valid_log_name(longname) == 0);
	/* %00 cuts the decoded name: "a" followed by nothing, never "a\0;DROP" */
	CHECK(http_parse_target("/v1/logs/a%00%3BDROP/events", NULL, &t) == EV_OK);
	CHECK_STR(t.log, "a");
	http_target_free(&t);
}

/* Bearer tokens: scheme case-insensitive, extra spaces skipped, empty refused. */
static void
test_http_bearer_token(void)
{
	size_t		len = 0;
	const char *tok;

	tok = http_bearer_token("Bearer tok-a", &len);
	CHECK(tok != NULL && len == 5 && memcmp(tok, "tok-a", 5) == 0);
	tok = http_bearer_token("bearer   tok-b", &len);
	CHECK(tok != NULL && len == 5 && memcmp(tok, "tok-b", 5) == 0);
	CHECK(http_bearer_token("Bearer ", &len) == NULL);
	CHECK(http_bearer_token("Bearer    ", &len) == NULL);
	CHECK(http_bearer_token("Basic dXNlcg==", &len) == NULL);
	CHECK(http_bearer_token("Bear", &len) == NULL);
	CHECK(http_bearer_token(NULL, &len) == NULL);
}

/* Parse a head given as a C string; returns the parser's result. */
static ssize_t
head(const char *text, struct httpp_head *h, struct httpp_error *err)
{
	err->status = 0;
	err->message = NULL;
	return httpp_parse_head(text, strlen(text), 64 * 1024, h, err);
}

/* A complete request head: method, target, framing, keep-alive, Expect, Authorization. */
static void
test_httpp_head_valid(void)
{
	struct httpp_head h;
	struct httpp_error err;
	const char *r = "POST /v1/logs/audit/events?ack=committed HTTP/1.1\r\nHost: x\r\n"
		"content-length:  52 \r\nAuthorization: Bearer tok\r\nExpect: 100-continue\r\n\r\n{...";

	CHECK(head(r, &h, &err) == (ssize_t) (strstr(r, "{...") - r));
	CHECK_INT(h.method, HTTPP_POST);
	CHECK(h.target_len == strlen("/v1/logs/audit/events?ack=committed") &&
		  memcmp(h.target, "/v1/logs/audit/events?ack=committed", h.target_len) == 0);
	CHECK_INT(h.minor, 1);
	CHECK(h.content_length == 52);
	CHECK_INT(h.chunked, 0);
	CHECK_INT(h.keep_alive, 1);
	CHECK_INT(h.expect_continue, 1);
	CHECK(h.authorization_len == 10 && memcmp(h.authorization, "Bearer tok", 10) == 0);

	CHECK(head("GET /healthz HTTP/1.0\r\n\r\n", &h, &err) > 0);
	CHECK_INT(h.method, HTTPP_GET);
	CHECK_INT(h.keep_alive, 0);	/* HTTP/1.0 closes unless asked */
	CHECK(h.content_length == -1);
	CHECK(head("GET /healthz HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, &err) > 0);
	CHECK_INT(h.keep_alive, 1);
	CHECK(head("GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n", &h, &err) > 0);
	CHECK_INT(h.keep_alive, 0);
	CHECK(head("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", &h, &err) > 0);
	CHECK_INT(h.chunked, 1);
	CHECK(head("DELETE / HTTP/1.1\r\n\r\n", &h, &err) > 0);
	CHECK_INT(h.method, HTTPP_OTHER);
	/* incomplete: more bytes needed, no error */
	CHECK(head("POST / HTTP/1.1\r\nHost: x\r\n", &h, &err) == 0);
	CHECK(head("", &h, &err) == 0);
}

/* Issue 7 (smuggling, malformed heads): each refused with its status. */
static void
test_httpp_head_errors_issue_7(void)
{
	static const struct
	{
		const char *text;
		int			status;
		const char *message;
	}			cases[] = {
		{"POST / HTTP/1.1\r\nContent-Length: 52\r\ncontent-length: 5\r\n\r\n", 400, "more than one Content-Length header"},
		{"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both Content-Length and Transfer-Encoding headers"},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", 400, "both Content-Length and Transfer-Encoding headers"},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, NULL},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, NULL},
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, NULL},
		{"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length is not a number"},
		{"POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400, "Content-Length is not a number"},
		{"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400, "Content-Length is not a number"},
		{"POST / HTTP/1.1\r\nContent-Length: 9999999999999999999999\r\n\r\n", 413, NULL},
		{"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "empty Content-Length"},
		{"POST / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "obsolete line folding in a header is not allowed"},
		{"POST / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed header line"},
		{"POST / HTTP/1.1\r\nHost x\r\n\r\n", 400, "malformed header line"},
		{"POST / HTTP/1.1\r\nX: a\001b\r\n\r\n", 400, "control character in a header value"},
		{"POST / HTTP/1.1\r\nX: a\nY: b\r\n\r\n", 400, "control character in a header value"},
		{"POST / HTTP/1.1\nHost: x\r\n\r\n", 400, NULL},
		{"POST  / HTTP/1.1\r\n\r\n", 400, NULL},
		{"POST http://x/ HTTP/1.1\r\n\r\n", 400, "request target must be a path (origin-form, starting with /)"},
		{"POST / HTTP/2.0\r\n\r\n", 505, NULL},
		{"POST / HTTP/1.1 \r\n\r\n", 400, NULL},
		{"POST / http/1.1\r\n\r\n", 400, NULL},
		{"P(ST / HTTP/1.1\r\n\r\n", 400, NULL},
		{"POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417, NULL},
	};
	struct httpp_head h;
	struct httpp_error err;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		ssize_t		n = head(cases[i].text, &h, &err);

		if (n != -1 || err.status != cases[i].status ||
			(cases[i].message && (err.message == NULL || strcmp(err.message, cases[i].message) != 0)))
		{
			fprintf(stderr, "  case %zu (%s): got %zd status %d (%s)\n", i, cases[i].text, n, err.status,
					err.message ? err.message : "");
			CHECK(0);
		}
		else
			CHECK(err.message != NULL);
	}
}

/* Size limits: a head over max_head (431), a target over 8 KiB (414). */
static void
test_httpp_head_limits(void)
{
	struct httpp_head h;
	struct httpp_error err;
	char	   *big = malloc(20000);

	memset(big, 'a', 20000);
	memcpy(big, "GET /", 5);
	CHECK(httpp_parse_head(big, 20000, 16384, &h, &err) == -1);
	CHECK_INT(err.status, 431);
	CHECK(httpp_parse_head(big, 10000, 16384, &h, &err) == 0);	/* still may end */
	memcpy(big + 9000, " HTTP/1.1\r\n\r\n", 13);
	CHECK(httpp_parse_head(big, 9013, 16384, &h, &err) == -1);
	CHECK_INT(err.status, 414);
	free(big);
}

/* Decode a chunked body fed in pieces of step bytes; returns the result and the body. */
static int
chunked(const char *raw, size_t step, uint64_t max, char *out, size_t *outlen, size_t *consumed, int *status)
{
	size_t		len = strlen(raw),
				have = 0;
	char	   *buf = malloc(len + 1);
	struct httpp_chunked c;
	struct httpp_error err = {0, NULL};
	int			r = 0;

	httpp_chunked_init(&c);
	while (have < len && r == 0)
	{
		size_t		k = len - have < step ? len - have : step;

		memcpy(buf + have, raw + have, k);	/* bytes arrive after the decoded part */
		have += k;
		r = httpp_chunked_decode(&c, buf, have, max, &err);
	}
	*status = err.status;
	memcpy(out, buf, c.out);
	*outlen = c.out;
	*consumed = c.in;
	free(buf);
	return r;
}

/* Chunked bodies: any split of the input gives the same body; trailers; extensions. */
static void
test_httpp_chunked(void)
{
	const char *raw = "5\r\nhello\r\n1;ext=\"x\"\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
	char		out[64];
	size_t		n,
				used,
				step;
	int			status;

	for (step = 1; step <= strlen(raw); step++)
	{
		int			r = chunked(raw, step, 1000, out, &n, &used, &status);

		if (r != 1 || n != 16 || memcmp(out, "hello 0123456789", 16) != 0 || used != strlen(raw) - 4)
		{
			fprintf(stderr, "  step %zu: r %d n %zu used %zu\n", step, r, n, used);
			CHECK(0);
			break;
		}
	}
	CHECK(step > strlen(raw));
	CHECK(chunked("0\r\n\r\n", 3, 1000, out, &n, &used, &status) == 1 && n == 0 && used == 5);
	CHECK(chunked("5\r\nhel", 100, 1000, out, &n, &used, &status) == 0);
	/* errors */
	CHECK(chunked("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", 7, 10, out, &n, &used, &status) == -1);
	CHECK_INT(status, 413);
	CHECK(chunked("ffffffffffffffff\r\n", 5, 1000, out, &n, &used, &status) == -1);
	CHECK_INT(status, 413);
	CHECK(chunked("x\r\n", 5, 1000, out, &n, &used, &status) == -1);
	CHECK_INT(status, 400);
	CHECK(chunked("5\r\nhelloXX0\r\n\r\n", 5, 1000, out, &n, &used, &status) == -1);
	CHECK_INT(status, 400);
	CHECK(chunked("5\nhello\r\n0\r\n\r\n", 5, 1000, out, &n, &used, &status) == -1);
	CHECK_INT(status, 400);
	CHECK(chunked("-5\r\n", 5, 1000, out, &n, &used, &status) == -1);
	CHECK_INT(status, 400);
}

const struct test_case http_tests[] = {
	{"httpp_head_valid", test_httpp_head_valid},
	{"httpp_head_errors_issue_7", test_httpp_head_errors_issue_7},
	{"httpp_head_limits", test_httpp_head_limits},
	{"httpp_chunked", test_httpp_chunked},
	{"parse_target_routes", test_http_parse_target_routes},
	{"parse_target_errors", test_http_parse_target_errors},
	{"valid_log_name", test_http_valid_log_name},
	{"bearer_token", test_http_bearer_token},
	{NULL, NULL}
};
