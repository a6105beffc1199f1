/* COPY encoding of events: PostgreSQL binary and text formats of the 9 envelope columns. */
#ifndef EV_COPYENC_H
#define EV_COPYENC_H

#include "buf.h"
#include "config.h"
#include "ev.h"
#include "event.h"

/*
 * Columns, in order: event_id uuid, tenant_id text, event_type text, subject text,
 * occurred_at timestamptz, received_at timestamptz, schema_version int, payload jsonb,
 * metadata jsonb.
 */

/* Start a COPY stream (the binary signature and header; nothing for text). */
int			copyenc_begin(struct buf *out, enum copy_format fmt) EV_MUST_USE;
/* Append one row. */
int			copyenc_row(struct buf *out, enum copy_format fmt, const struct event *ev) EV_MUST_USE;
/* End the stream (the binary trailer). */
int			copyenc_end(struct buf *out, enum copy_format fmt) EV_MUST_USE;
/* Name of the format for eventlog.copy_in. */
const char *copyenc_format_name(enum copy_format fmt);

#endif
