/* Cross-file API of the pg_eventlog extension. */
#ifndef EV_H
#define EV_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/elog.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

/* SQLSTATEs of our own (class LG: pg_eventlog). */
#define ERRCODE_EV_APPEND_ONLY	MAKE_SQLSTATE('L','G','0','0','1')
#define ERRCODE_EV_VERSION_CONFLICT	MAKE_SQLSTATE('L','G','0','0','2')

/* Envelope limits, in bytes; the CHECK constraints of every log say the same. */
#define EV_TENANT_MAX		128
#define EV_EVENT_TYPE_MAX	200
#define EV_SUBJECT_MAX		1024

/* GUCs (ev.c, bgworker.c) */
extern int	ev_max_batch_events;
extern int	ev_redact_batch;
extern char *ev_archive_root;
extern int	ev_maintenance_interval;
extern char *ev_maintenance_databases;
extern char *ev_maintenance_role;

/* bgworker.c */
extern void EvRegisterMaintenanceWorkers(void);

/* appendonly.c: the extension's own maintenance paths may change stored events. */
extern void EvBypassBegin(void);
extern void EvBypassEnd(void);
extern bool EvBypassActive(void);
/* Whether any row was routed to a default partition since the last call; resets the flag. */
extern bool EvTakeDefaultRowsNoted(void);

/* maint.c: helpers to run internal SQL as the role that owns the logs. */
extern Oid	EvAdminRoleOid(void);
extern bool EvCallerIsAdmin(void);
extern void EvRequireAdmin(const char *what);
extern void EvRescueDefaults(Oid logrelid);

/* dedup.c: is an event_id stored for a tenant with received_at in [lo, hi]? */
typedef struct EvDedup EvDedup;
extern EvDedup *EvDedupBegin(Oid logrelid, TimestampTz lo, TimestampTz hi);
extern bool EvDedupStored(EvDedup *d, const pg_uuid_t *id, text *tenant);
extern void EvDedupEnd(EvDedup *d);

/* uuidv7.c */
extern void EvNewUuidV7(unsigned char *buf);

/* ingest.c */
/* What validation learns about a batch, for the insert's dedup lookup. */
typedef struct EvBatchStats
{
	bool		any_event_id;	/* some event carries the caller's event_id */
	bool		any_received_at;	/* some event sets received_at */
	TimestampTz min_received_at;
	TimestampTz max_received_at;
} EvBatchStats;

typedef struct EvValidateOpts
{
	const char *unit;			/* "event" or "line": how positions are named */
	bool		allow_received_at;	/* bulk loads by eventlog_admin */
	const char *bound_tenant;	/* eventlog.tenant for non-admin writers, or NULL */
	EvBatchStats *stats;		/* filled in as events are validated */
} EvValidateOpts;

extern void EvCheckEventArray(Jsonb *jb);
extern void EvCheckTextArg(text *t, const char *field, int maxlen);
extern void EvValidateEvent(void *jsonb_container, int position, const EvValidateOpts *opts);
extern uint64 EvInsertJsonbArray(Oid logrelid, Datum events_jsonb, const EvBatchStats *stats);
extern void EvCheckLogAndInsertPriv(Oid logrelid);
extern Oid	EvLogOwner(Oid logrelid);
extern void EvRequireLog(Oid relid);
extern const char *EvBoundTenant(void);

#endif							/* EV_H */
