/* Tests of http.c's request-target parsing, framing checks, log names and bearer tokens (issue 7). */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "test.h"
#include "http.h"

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

/* Issue 7 (smuggling): two Content-Lengths, or one with Transfer-Encoding, are refused. */
static void
test_http_framing_error_issue_7(void)
{
	struct evkeyvalq h;

	TAILQ_INIT(&h);
	evhttp_add_header(&h, "Host", "x");
	evhttp_add_header(&h, "Content-Length", "52");
	CHECK(http_framing_error(&h) == NULL);
	evhttp_add_header(&h, "content-length", "5");
	CHECK_STR(http_framing_error(&h), "more than one Content-Length header");
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Transfer-Encoding", "chunked");
	CHECK(http_framing_error(&h) == NULL);
	evhttp_add_header(&h, "Content-Length", "4");
	CHECK_STR(http_framing_error(&h), "both Content-Length and Transfer-Encoding headers");
	evhttp_clear_headers(&h);
}

const struct test_case http_tests[] = {
	{"framing_error_issue_7", test_http_framing_error_issue_7},
	{"parse_target_routes", test_http_parse_target_routes},
	{"parse_target_errors", test_http_parse_target_errors},
	{"valid_log_name", test_http_valid_log_name},
	{"bearer_token", test_http_bearer_token},
	{NULL, NULL}
};
