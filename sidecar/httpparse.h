/*
 * HTTP/1.1 request framing: the request line, the header block and chunked bodies.
 *
 * Pure functions over bytes (no I/O, no allocation), so that they can be unit-tested and
 * fuzzed (test/fuzz/fuzz_http.c). Strict where a lenient parser opens the door to request
 * smuggling: CRLF line ends only, no obsolete line folding, one Content-Length at most and
 * never together with Transfer-Encoding, and "chunked" as the only transfer coding.
 */
#ifndef EV_HTTPPARSE_H
#define EV_HTTPPARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTPP_MAX_TARGET 8192	/* longer request targets get 414 */

enum httpp_method {
	HTTPP_GET = 1,
	HTTPP_HEAD,
	HTTPP_POST,
	HTTPP_OTHER					/* a well-formed method we do not serve: 501 */
};

/* What the server needs of a request head; pointers point into the parsed bytes. */
struct httpp_head {
	enum httpp_method method;
	const char *target;			/* origin-form: starts with '/' */
	size_t		target_len;
	int			minor;			/* HTTP/1.<minor>: 0 or 1 */
	int64_t		content_length; /* -1: none */
	int			chunked;		/* Transfer-Encoding: chunked */
	int			keep_alive;		/* after the version's default and Connection */
	int			expect_continue;	/* Expect: 100-continue */
	const char *authorization;	/* value of Authorization, or NULL */
	size_t		authorization_len;
};

/* An error: the status to answer and a static message. */
struct httpp_error {
	int			status;
	const char *message;
};

/*
 * Parse the head at buf[0..len). Returns the bytes of the head (request line, headers
 * and the empty line) when it is complete and valid, 0 when more bytes are needed, or -1
 * with *err set (400, 414, 431, 501, 505). Heads longer than max_head bytes are 431.
 */
ssize_t		httpp_parse_head(const char *buf, size_t len, size_t max_head, struct httpp_head *h,
							 struct httpp_error *err);

/* Incremental decoder of a chunked body, in place. */
struct httpp_chunked {
	size_t		in;				/* bytes of the raw body consumed */
	size_t		out;			/* bytes of decoded body at the start of the buffer */
	uint64_t	left;			/* data bytes left in the current chunk (or its size, while read) */
	uint32_t	n;				/* bytes of the current size line or trailer section */
	int			state;
};

void		httpp_chunked_init(struct httpp_chunked *c);

/*
 * Decode more of a chunked body in buf[0..len) (the raw body from its first byte; the
 * decoded bytes are moved to buf[0..c->out)). Returns 1 when the body is complete (the
 * raw body took c->in bytes), 0 when more bytes are needed, or -1 with *err set (400, or
 * 413 when the decoded body would exceed max_body).
 */
int			httpp_chunked_decode(struct httpp_chunked *c, char *buf, size_t len, uint64_t max_body,
								 struct httpp_error *err);

#endif
