/*
 * libFuzzer target: the daemon's own request-target parsing. The input is a request
 * target, parsed as libevent parses it (evhttp_uri_parse_with_flags, non-conformant
 * mode), then routed by http_parse_target (path, {log} with percent-decoding, ?ack= and
 * ?dedup=) and http_valid_log_name; the same bytes also go through http_bearer_token as
 * an Authorization header value. (Request lines, headers and chunked bodies are parsed by
 * libevent; test/faults/10_abuse.sh sends malformed ones to the running daemon.)
 */
#include <event2/http.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);
	struct evhttp_uri *u;
	size_t		tlen = 0;
	const char *tok;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	tok = http_bearer_token(s, &tlen);
	if (tok != NULL && (tlen == 0 || tok < s || tok + tlen > s + size || tok[tlen] != '\0'))
		abort();

	u = evhttp_uri_parse_with_flags(s, EVHTTP_URI_NONCONFORMANT);
	if (u != NULL)
	{
		struct http_target t;

		if (http_parse_target(evhttp_uri_get_path(u), evhttp_uri_get_query(u), &t) != EV_OK)
			abort();
		if (t.status == 0 && t.kind == HTTP_ROUTE_EVENTS)
		{
			if (t.log == NULL)
				abort();
			if (http_valid_log_name(t.log) && (strlen(t.log) == 0 || strlen(t.log) > 200))
				abort();
		}
		if (t.status != 0 && (t.message == NULL || (t.status != 400 && t.status != 404)))
			abort();
		http_target_free(&t);
		evhttp_uri_free(u);
	}
	free(s);
	return 0;
}
