/*
 * libFuzzer target: the daemon's HTTP request parsing, as a connection sees it. The input
 * is the raw bytes of a request: httpparse.c frames the head (request line, headers,
 * Content-Length / Transfer-Encoding rules), decodes a chunked body in place from two
 * pieces (split where the input says), and http.c routes the target (path, {log} with
 * percent-decoding, ?ack= and ?dedup=) and reads the bearer token. Checks the parsers'
 * promises: results inside the input, decoded bodies within their limit, a status and a
 * message with every error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "httpparse.h"

#define MAX_HEAD 4096
#define MAX_BODY 2048

static void
check_target(const struct httpp_head *h)
{
	char	   *target = malloc(h->target_len + 1),
			   *q;
	struct http_target t;

	if (target == NULL)
		return;
	memcpy(target, h->target, h->target_len);
	target[h->target_len] = '\0';
	q = strchr(target, '?');
	if (q)
		*q++ = '\0';
	if (http_parse_target(target, q, &t) != EV_OK)
		abort();
	if (t.status == 0 && t.kind == HTTP_ROUTE_EVENTS && t.log == NULL)
		abort();
	if (t.status != 0 && (t.message == NULL || (t.status != 400 && t.status != 404)))
		abort();
	if (t.log && http_valid_log_name(t.log) && (strlen(t.log) == 0 || strlen(t.log) > 200))
		abort();
	http_target_free(&t);
	free(target);
}

static void
check_auth(const struct httpp_head *h)
{
	char	   *a = strndup(h->authorization, h->authorization_len);
	size_t		tlen = 0;
	const char *tok;

	if (a == NULL)
		return;
	tok = http_bearer_token(a, &tlen);
	if (tok != NULL && (tlen == 0 || tok < a || tok + tlen > a + strlen(a) || tok[tlen] != '\0'))
		abort();
	free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpp_head h;
	struct httpp_error err = {0, NULL};
	ssize_t		n = httpp_parse_head((const char *) data, size, MAX_HEAD, &h, &err);

	if (n < 0)
	{
		if (err.message == NULL || err.status < 400 || err.status > 505)
			abort();
		return 0;
	}
	if (n == 0)
	{
		if (size >= MAX_HEAD)
			abort();			/* an over-long head must be refused, not awaited */
		return 0;
	}
	if ((size_t) n > size || h.target < (const char *) data || h.target + h.target_len > (const char *) data + n ||
		h.target_len == 0 || h.target[0] != '/' || h.target_len > HTTPP_MAX_TARGET || (h.minor != 0 && h.minor != 1))
		abort();
	if (h.chunked && h.content_length != -1)
		abort();				/* smuggling: both framings */
	check_target(&h);
	if (h.authorization)
	{
		if (h.authorization < (const char *) data || h.authorization + h.authorization_len > (const char *) data + n)
			abort();
		check_auth(&h);
	}
	if (h.chunked)
	{
		size_t		len = size - (size_t) n,
					split = len ? data[size - 1] % (len + 1) : 0;
		char	   *body = malloc(len + 1);
		struct httpp_chunked c;
		int			r;

		if (body == NULL)
			return 0;
		memcpy(body, data + n, len);
		httpp_chunked_init(&c);
		r = httpp_chunked_decode(&c, body, split, MAX_BODY, &err);
		if (r == 0)
			r = httpp_chunked_decode(&c, body, len, MAX_BODY, &err);
		if (r < 0 && (err.message == NULL || (err.status != 400 && err.status != 413 && err.status != 431)))
			abort();
		if (c.out > c.in || c.in > len || c.out > MAX_BODY)
			abort();
		free(body);
	}
	return 0;
}
