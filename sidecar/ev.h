/* Shared status codes and attributes of the eventlogd sidecar. */
#ifndef EV_H
#define EV_H

#define EV_VERSION "0.1.0"

/* Status codes: EV_OK, or a negative kind of failure; the reason is a separate field. */
enum ev_status {
	EV_OK = 0,
	EV_ERROR = -1,				/* failed; see the module's last_error */
	EV_RETRY = -2,				/* nothing now; try again later (no data, transient) */
	EV_CORRUPT = -3				/* bytes on disk or on the wire are not what they claim */
};

#define EV_MUST_USE __attribute__((warn_unused_result))
#define EV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define EV_UNUSED(x) ((void) (x))

/* Value of a hex digit, or -1. */
static inline int
ev_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Number of hash lanes; each tenant maps to one lane, each lane to one flush connection. */
#define EV_LANES 64

#endif
