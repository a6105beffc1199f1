/*
 * Event sourcing on stream logs: commit-safe global positions, the stream
 * guard trigger, append_to_stream() with optimistic concurrency, fold_stream(),
 * upcasting on read, and the call of projection handlers.
 *
 * Positions. A subscriber reads a log in position order and remembers the
 * last position it saw, so position p must never become visible after a
 * subscriber was shown some q > p. A plain sequence cannot promise that: a
 * transaction may take p, stay in flight, and commit after another one took
 * and committed q. Here a position is the writing transaction's own 64-bit id
 * (xid8) shifted left by POSITION_SEQ_BITS, plus a counter of the events that
 * transaction wrote:
 *
 *     position = xid8 << 20 | n        (n = 0, 1, 2 ... within the transaction)
 *
 * Every transaction that may still commit has an xid8 at or above the xmin
 * of the reader's snapshot, so every position it holds or will take is at or
 * above position_horizon() = xmin << 20; everything below that is final (its
 * writer committed or aborted) and is visible now or never. read_all() returns
 * only positions below the horizon, in order: it never returns q while some
 * p < q may still appear. Positions are sparse (gaps between transactions)
 * and ordered by transaction start of writing, not by commit time; what
 * matters is that the order never changes after a reader has seen it.
 *
 * Limits that follow: 2^20 events per transaction (ReservePositions() refuses
 * the next one), and xid8 below 2^43 (8.8 trillion transactions).
 *
 * Streams. append_to_stream() takes the stream's append lock (a heavyweight
 * lock on a hash of log, tenant and stream, held to the end of the
 * transaction), and only then gives its transaction an xid if it has none and
 * reserves the positions of its events. Writers of one stream thus get their
 * xids, and so their positions, in the order in which they append: a
 * stream's positions grow with its versions. Under the lock one UPDATE
 * advances the stream's head row in eventlog.stream_heads (or an INSERT makes
 * it), returning the version before; a mismatch with the expected version
 * raises LG002, which undoes the advance with everything else. Then the
 * events are inserted with the next versions: versions are gap-free. A
 * transaction that had an xid before it appended (it wrote something earlier)
 * may be older than the stream's last writer; appending would put a lower
 * position after a higher version, so it gets a serialization failure
 * (40001) and retries with a new transaction.
 *
 * The guard trigger (BEFORE INSERT, each row, every partition) stamps the
 * position of every row inserted by any other path (append, ingest, copy_in,
 * forget's tombstones), so every event has one, and refuses stream and
 * version from them. Rows that the extension's own maintenance moves
 * (EvBypassActive) keep what they carry; rows it adds get a position.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"
#include "utils/uuid.h"
#include "utils/xid8.h"

#include "ev.h"

PG_FUNCTION_INFO_V1(ev_create_stream_log);
PG_FUNCTION_INFO_V1(ev_stream_guard);
PG_FUNCTION_INFO_V1(ev_position_horizon);
PG_FUNCTION_INFO_V1(ev_position_xid);
PG_FUNCTION_INFO_V1(ev_append_to_stream);
PG_FUNCTION_INFO_V1(ev_read_stream);
PG_FUNCTION_INFO_V1(ev_read_all);
PG_FUNCTION_INFO_V1(ev_read_category);
PG_FUNCTION_INFO_V1(ev_load_stream);
PG_FUNCTION_INFO_V1(ev_fold_stream);
PG_FUNCTION_INFO_V1(ev_upcast);
PG_FUNCTION_INFO_V1(ev_apply);

#define POSITION_SEQ_BITS	20
#define POSITION_SEQ_LIMIT	(UINT64CONST(1) << POSITION_SEQ_BITS)
#define POSITION_XID_LIMIT	(UINT64CONST(1) << (63 - POSITION_SEQ_BITS))

#define EV_STREAM_MAX		1024

/*
 * field4 of the advisory locktag of a stream's append lock: user advisory
 * locks use 1 (bigint key) and 2 (two int keys), so these never collide with
 * them. pg_locks shows them as locktype advisory, objsubid 17750.
 */
#define EV_LOCKTAG_STREAM	0x4556

/* Attribute numbers (0-based) of the stream_event composite type. */
#define SE_EVENT_TYPE		2
#define SE_SCHEMA_VERSION	6
#define SE_PAYLOAD			7
#define SE_NATTS			12

/* ---------- positions ---------- */

static FullTransactionId position_fxid = {0};
static uint64 position_next = 0;

/*
 * Reserves n positions of this transaction (xid8 << 20 | counter) and returns
 * the first; the others follow it one by one.
 */
static int64
ReservePositions(int n)
{
	FullTransactionId fxid = GetTopFullTransactionId();
	uint64		x = U64FromFullTransactionId(fxid);
	uint64		first;

	if (!FullTransactionIdEquals(fxid, position_fxid))
	{
		position_fxid = fxid;
		position_next = 0;
	}
	if (position_next + n > POSITION_SEQ_LIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many events in one transaction: more than %llu",
						(unsigned long long) POSITION_SEQ_LIMIT),
				 errdetail("A position holds the transaction id and a 20-bit counter of its events."),
				 errhint("Commit the events in several transactions.")));
	if (x >= POSITION_XID_LIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("transaction id %llu is past the range of event positions",
						(unsigned long long) x)));
	first = (x << POSITION_SEQ_BITS) | position_next;
	position_next += n;
	return (int64) first;
}

/* xid relative to next (as xid8funcs.c's FullXidRelativeTo does). */
static uint64
FullXidRelativeToNext(TransactionId xid)
{
	FullTransactionId next = ReadNextFullTransactionId();
	TransactionId next_xid = XidFromFullTransactionId(next);

	if (!TransactionIdIsNormal(xid))
		return (uint64) xid;
	return U64FromFullTransactionId(next) + (int32) (xid - next_xid);
}

/*
 * position_horizon() RETURNS bigint: positions below it are final in the
 * active snapshot (their transactions are older than every one in flight).
 */
Datum
ev_position_horizon(PG_FUNCTION_ARGS)
{
	Snapshot	snap;
	uint64		xmin;

	if (!ActiveSnapshotSet())
		elog(ERROR, "position_horizon: no active snapshot");
	snap = GetActiveSnapshot();
	xmin = FullXidRelativeToNext(snap->xmin);
	if (xmin >= POSITION_XID_LIMIT)
		PG_RETURN_INT64(PG_INT64_MAX);
	PG_RETURN_INT64((int64) (xmin << POSITION_SEQ_BITS));
}

/* position_xid(bigint) RETURNS xid8: the transaction that wrote a position. */
Datum
ev_position_xid(PG_FUNCTION_ARGS)
{
	int64		pos = PG_GETARG_INT64(0);

	if (pos < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("position must not be negative: " INT64_FORMAT, pos)));
	PG_RETURN_FULLTRANSACTIONID(FullTransactionIdFromU64((uint64) pos >> POSITION_SEQ_BITS));
}

/* ---------- the guard trigger ---------- */

/* True while append_to_stream() inserts: only it may set stream and version. */
static bool stream_append_active = false;

/* Attribute number of a column of a stream log's partition, or an internal error. */
static int
StreamLogAttnum(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "stream log has no column \"%s\"", name);
	return attnum;
}

/*
 * Trigger (BEFORE INSERT, for each row) of stream logs: stamps the position
 * and refuses stream and version, unless append_to_stream() is inserting.
 */
Datum
ev_stream_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	desc;
	int			attnum;
	Datum		value;
	bool		isnull = false;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		elog(ERROR, "stream_guard: must be fired before insert, for each row");

	tuple = td->tg_trigtuple;
	/* append_to_stream() sets stream, version and the positions it reserved */
	if (stream_append_active)
		return PointerGetDatum(tuple);

	desc = RelationGetDescr(td->tg_relation);
	attnum = StreamLogAttnum(desc, "position");
	if (EvBypassActive())
	{
		/*
		 * The extension's own maintenance: rows it moves keep all they carry;
		 * a row it adds (a tombstone) gets a position like any other.
		 */
		(void) heap_getattr(tuple, attnum, desc, &isnull);
		if (!isnull)
			return PointerGetDatum(tuple);
	}
	else
	{
		const char *const cols[] = {"stream", "version"};

		for (int i = 0; i < lengthof(cols); i++)
		{
			(void) heap_getattr(tuple, StreamLogAttnum(desc, cols[i]), desc, &isnull);
			if (!isnull)
				ereport(ERROR,
						(errcode(ERRCODE_GENERATED_ALWAYS),
						 errmsg("column \"%s\" of a stream log is set only by eventlog.append_to_stream()",
								cols[i]),
						 errhint("Append stream events with eventlog.append_to_stream(); other inserts "
								 "add events without a stream.")));
		}
	}
	value = Int64GetDatum(ReservePositions(1));
	isnull = false;
	tuple = heap_modify_tuple_by_cols(tuple, desc, 1, &attnum, &value, &isnull);
	return PointerGetDatum(tuple);
}

/* ---------- create_stream_log ---------- */

/*
 * create_stream_log(name text, partition_interval interval, tenant_buckets
 * int, retention interval, premake int) RETURNS regclass
 *
 * create_log() checks the caller and the settings and makes the log (the
 * name resolved in the caller's search_path); _make_stream_log() adds the
 * stream columns, indexes and the guard trigger in the same transaction.
 */
Datum
ev_create_stream_log(PG_FUNCTION_ARGS)
{
	Oid			argtypes[5] = {TEXTOID, INTERVALOID, INT4OID, INTERVALOID, INT4OID};
	Datum		values[5];
	char		nulls[5];
	Oid			log;
	bool		isnull;
	int			rc;

	for (int i = 0; i < 5; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT eventlog.create_log($1, $2, $3, $4, $5)",
							   5, argtypes, values, nulls, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "create_stream_log: create_log failed: %s", SPI_result_code_string(rc));
	log = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	argtypes[0] = REGCLASSOID;
	values[0] = ObjectIdGetDatum(log);
	rc = SPI_execute_with_args("SELECT eventlog._make_stream_log($1)", 1, argtypes, values, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "create_stream_log failed: %s", SPI_result_code_string(rc));
	SPI_finish();
	PG_RETURN_OID(log);
}

/* ---------- per-log cache ---------- */

typedef struct StreamLogEntry
{
	Oid			relid;			/* hash key */
	bool		valid;
	bool		is_stream;
	SPIPlanPtr	insert_plan;	/* ($1 events, $2 tenant, $3 stream, $4 base version, $5 first position) */
	SPIPlanPtr	read_plans[3][2];	/* [ReadKind][with upcasters] */
} StreamLogEntry;

static HTAB *stream_log_cache = NULL;

/* Plans on eventlog.stream_heads, shared by all logs. */
static SPIPlanPtr head_advance_plan = NULL;
static SPIPlanPtr head_create_plan = NULL;

/* Drops cached state of a relation that changed (or of every log). */
static void
InvalidateStreamLogCache(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	StreamLogEntry *entry;

	if (stream_log_cache == NULL)
		return;
	hash_seq_init(&status, stream_log_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || entry->relid == relid)
			entry->valid = false;
	}
}

/*
 * The cache entry of a stream log; raises 42809 for any other relation. Must
 * be called inside SPI_connect().
 */
static StreamLogEntry *
GetStreamLog(Oid relid)
{
	StreamLogEntry *entry;
	bool		found;
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	char	   *kind = NULL;

	if (stream_log_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(StreamLogEntry);
		stream_log_cache = hash_create("eventlog stream log cache", 16, &ctl, HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(InvalidateStreamLogCache, (Datum) 0);
	}
	entry = hash_search(stream_log_cache, &relid, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->insert_plan = NULL;
		memset(entry->read_plans, 0, sizeof(entry->read_plans));
	}
	if (!entry->valid)
	{
		if (entry->insert_plan)
			SPI_freeplan(entry->insert_plan);
		entry->insert_plan = NULL;
		for (int k = 0; k < lengthof(entry->read_plans); k++)
			for (int u = 0; u < 2; u++)
			{
				if (entry->read_plans[k][u])
					SPI_freeplan(entry->read_plans[k][u]);
				entry->read_plans[k][u] = NULL;
			}
		values[0] = ObjectIdGetDatum(relid);
		if (SPI_execute_with_args("SELECT kind FROM eventlog.log_config WHERE log = $1",
								  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read eventlog.log_config");
		if (SPI_processed > 0)
			kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		entry->is_stream = kind != NULL && strcmp(kind, "stream") == 0;
		entry->valid = true;
	}
	if (!entry->is_stream)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation \"%s\" is not a stream log",
						get_rel_name(relid) ?
						quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												   get_rel_name(relid)) : "?"),
				 errhint("Create stream logs with eventlog.create_stream_log().")));
	return entry;
}

/* Prepares and keeps a plan, or raises an internal error. */
static SPIPlanPtr
KeepPlan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	return plan;
}

/*
 * Prepares the statements on eventlog.stream_heads (once per backend): the
 * advance of an existing head by $4 events to last position $5, returning
 * the version and last position before it; the head of a new stream.
 */
static void
PrepareHeadPlans(void)
{
	Oid			argtypes[5] = {REGCLASSOID, TEXTOID, TEXTOID, INT8OID, INT8OID};

	if (head_advance_plan == NULL)
		head_advance_plan =
			KeepPlan("UPDATE eventlog.stream_heads h SET version = h.version + $4, position = $5, updated_at = now()"
					 " FROM (SELECT position FROM eventlog.stream_heads"
					 "       WHERE log = $1 AND tenant_id = $2 AND stream = $3) AS before"
					 " WHERE h.log = $1 AND h.tenant_id = $2 AND h.stream = $3"
					 " RETURNING h.version - $4, before.position",
					 5, argtypes);
	if (head_create_plan == NULL)
		head_create_plan =
			KeepPlan("INSERT INTO eventlog.stream_heads (log, tenant_id, stream, version, position)"
					 " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
					 5, argtypes);
}

/* The INSERT of append_to_stream() for one log (prepared once per log). */
static SPIPlanPtr
InsertPlan(StreamLogEntry *entry)
{
	if (entry->insert_plan == NULL)
	{
		char	   *log = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(entry->relid)));
		Oid			argtypes[5] = {JSONBOID, TEXTOID, TEXTOID, INT8OID, INT8OID};

		/* versions $4 + 1 .., positions $5 .., in the array's order */
		entry->insert_plan =
			KeepPlan(psprintf("INSERT INTO %s (event_id, tenant_id, event_type, subject, occurred_at,"
							  " schema_version, payload, metadata, stream, version, position)"
							  " SELECT coalesce(r.event_id, eventlog.uuidv7()), $2, r.event_type, r.subject,"
							  " r.occurred_at, coalesce(r.schema_version, 1), r.payload, r.metadata, $3, $4 + r.ord,"
							  " $5 + r.ord - 1"
							  " FROM ROWS FROM (jsonb_to_recordset($1) AS (event_id uuid, event_type text,"
							  " subject text, occurred_at timestamptz, schema_version int, payload jsonb,"
							  " metadata jsonb)) WITH ORDINALITY AS r(event_id, event_type, subject, occurred_at,"
							  " schema_version, payload, metadata, ord)"
							  " ORDER BY r.ord"
							  " RETURNING version, event_id", log),
					 5, argtypes);
	}
	return entry->insert_plan;
}

/* ---------- validation of stream events ---------- */

typedef struct FieldContext
{
	int			position;
	const char *field;
} FieldContext;

/* Error context: names the event and field whose value PostgreSQL refused. */
static void
FieldErrorCallback(void *arg)
{
	FieldContext *fc = (FieldContext *) arg;

	if (fc->field)
		errcontext("event %d, field \"%s\"", fc->position, fc->field);
}

/* Raises a validation error naming the event and the field. */
static void pg_attribute_noreturn()
EventError(int pos, const char *field, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("event %d: field \"%s\" %s", pos, field, problem),
			 errhint("A stream event is a JSON object with the fields event_type, payload, and optionally "
					 "event_id, subject, occurred_at, schema_version and metadata; nothing was written.")));
}

/* Checks a text field: string, non-empty, at most maxlen bytes. */
static void
CheckTextField(JsonbValue *v, int pos, const char *field, int maxlen, bool nullable)
{
	if (v->type == jbvNull)
	{
		if (!nullable)
			EventError(pos, field, "must not be null");
		return;
	}
	if (v->type != jbvString)
		EventError(pos, field, "must be a string");
	if (v->val.string.len == 0)
		EventError(pos, field, "must not be empty");
	if (v->val.string.len > maxlen)
		EventError(pos, field, psprintf("is longer than %d bytes (%d)", maxlen, v->val.string.len));
}

/* Validates one stream event object (1-based position pos). */
static void
ValidateStreamEvent(JsonbContainer *jc, int pos)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		have_type = false,
				have_payload = false;
	FieldContext fc = {pos, NULL};
	ErrorContextCallback errcb;

	if (!JsonContainerIsObject(jc) || JsonContainerIsScalar(jc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event %d: not a JSON object", pos)));

	errcb.callback = FieldErrorCallback;
	errcb.arg = &fc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	it = JsonbIteratorInit(jc);
	(void) JsonbIteratorNext(&it, &v, true);	/* WJB_BEGIN_OBJECT */
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		(void) JsonbIteratorNext(&it, &v, true);	/* WJB_VALUE */
		fc.field = key;

		if (strcmp(key, "event_type") == 0)
		{
			CheckTextField(&v, pos, key, EV_EVENT_TYPE_MAX, false);
			have_type = true;
		}
		else if (strcmp(key, "payload") == 0)
		{
			if (v.type == jbvNull)
				EventError(pos, key, "must not be null");
			if (v.type != jbvBinary)
				EventError(pos, key, "must be a JSON object or array");
			have_payload = true;
		}
		else if (strcmp(key, "subject") == 0)
			CheckTextField(&v, pos, key, EV_SUBJECT_MAX, true);
		else if (strcmp(key, "metadata") == 0)
		{
			if (v.type != jbvNull &&
				(v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data)))
				EventError(pos, key, "must be a JSON object or null");
		}
		else if (strcmp(key, "event_id") == 0)
		{
			if (v.type != jbvNull)
			{
				if (v.type != jbvString)
					EventError(pos, key, "must be a UUID string or null");
				/* an input error is reported with the context "event N, field F" */
				(void) DirectFunctionCall1(uuid_in,
										   CStringGetDatum(pnstrdup(v.val.string.val, v.val.string.len)));
			}
		}
		else if (strcmp(key, "occurred_at") == 0)
		{
			if (v.type != jbvNull)
			{
				if (v.type != jbvString)
					EventError(pos, key, "must be a timestamp string (ISO 8601)");
				(void) DirectFunctionCall3(timestamptz_in,
										   CStringGetDatum(pnstrdup(v.val.string.val, v.val.string.len)),
										   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
			}
		}
		else if (strcmp(key, "schema_version") == 0)
		{
			if (v.type != jbvNull)
			{
				char	   *num;

				if (v.type != jbvNumeric)
					EventError(pos, key, "must be an integer");
				num = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
				if (strspn(num, "0123456789") != strlen(num) || strlen(num) > 10 ||
					atoll(num) < 1 || atoll(num) > PG_INT32_MAX)
					EventError(pos, key, "must be an integer from 1 to 2147483647");
			}
		}
		else if (strcmp(key, "tenant_id") == 0 || strcmp(key, "stream") == 0)
			EventError(pos, key, "is an argument of append_to_stream(), not a field of its events");
		else if (strcmp(key, "received_at") == 0 || strcmp(key, "version") == 0 ||
				 strcmp(key, "position") == 0)
			EventError(pos, key, "is set by append_to_stream()");
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("event %d: unknown field \"%s\"", pos, key),
					 errhint("The fields of a stream event are event_id, event_type, subject, occurred_at, "
							 "schema_version, payload and metadata.")));
		fc.field = NULL;
		pfree(key);
	}
	error_context_stack = errcb.previous;
	if (!have_type)
		EventError(pos, "event_type", "is missing");
	if (!have_payload)
		EventError(pos, "payload", "is missing");
}

/* Validates the events array of append_to_stream(); returns the number of events. */
static int
ValidateStreamEvents(Jsonb *jb)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			pos = 0;

	EvCheckEventArray(jb);
	if (JB_ROOT_COUNT(jb) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("events must not be empty")));

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		pos++;
		if (v.type != jbvBinary)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("event %d: not a JSON object", pos)));
		ValidateStreamEvent(v.val.binary.data, pos);
	}
	return pos;
}


/* ---------- append_to_stream ---------- */

/* Raises LG002: the stream is not at the version the caller expected. */
static void pg_attribute_noreturn()
VersionConflict(const char *stream, int64 expected, int64 actual)
{
	ereport(ERROR,
			(errcode(ERRCODE_EV_VERSION_CONFLICT),
			 expected == -1 ?
			 errmsg("version conflict on stream \"%s\": expected no stream, actual version " INT64_FORMAT,
					stream, actual) :
			 errmsg("version conflict on stream \"%s\": expected version " INT64_FORMAT
					", actual version " INT64_FORMAT, stream, expected, actual),
			 errdetail("Another writer appended to the stream since its version was read; nothing was written."),
			 errhint("Read the stream again, decide again, and append with its current version.")));
}

/* Takes the append lock of a stream, until the end of the transaction. */
static void
LockStream(Oid log, text *tenant, text *stream)
{
	int			tlen = VARSIZE_ANY_EXHDR(tenant);
	int			slen = VARSIZE_ANY_EXHDR(stream);
	char	   *buf = palloc(tlen + 1 + slen);
	uint64		h;
	LOCKTAG		tag;

	memcpy(buf, VARDATA_ANY(tenant), tlen);
	buf[tlen] = '\0';			/* no tenant id contains NUL: (a, bc) differs from (ab, c) */
	memcpy(buf + tlen + 1, VARDATA_ANY(stream), slen);
	h = hash_bytes_extended((const unsigned char *) buf, tlen + 1 + slen, (uint64) log);
	pfree(buf);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h, EV_LOCKTAG_STREAM);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/* Runs the INSERT of stream events, with the guard trigger letting stream and version through. */
static pg_noinline int
InsertStreamEvents(SPIPlanPtr plan, Datum *values)
{
	int			rc;

	stream_append_active = true;
	PG_TRY();
	{
		rc = SPI_execute_plan(plan, values, NULL, false, 0);
	}
	PG_FINALLY();
	{
		stream_append_active = false;
	}
	PG_END_TRY();
	return rc;
}

/* Whether the stream's current version satisfies expected (NULL: anything). */
static bool
ExpectedVersionHolds(bool expected_null, int64 expected, int64 current)
{
	if (expected_null)
		return true;
	if (expected == -1)
		return current == 0;
	return current == expected;
}

/*
 * append_to_stream(log regclass, tenant_id text, stream text, events jsonb,
 * expected_version bigint DEFAULT NULL, OUT version bigint, OUT positions
 * bigint[], OUT event_ids uuid[])
 *
 * Appends every event of the array to the stream, or none. expected_version
 * -1 (or 0): the stream must have no events; n: its version must be n; NULL:
 * any version.
 */
Datum
ev_append_to_stream(PG_FUNCTION_ARGS)
{
	Oid			logrelid;
	text	   *tenant;
	text	   *stream;
	Jsonb	   *events;
	bool		expected_null = PG_ARGISNULL(4);
	int64		expected = expected_null ? 0 : PG_GETARG_INT64(4);
	const char *bound;
	int			nevents;
	StreamLogEntry *entry;
	Oid			save_userid;
	int			save_sec;
	Datum		key[5];
	int64		first_position;
	int64		current = 0;
	int64		head_position = 0;
	int64		new_version;
	Datum	   *positions;
	Datum	   *event_ids;
	int			rc;
	TupleDesc	resdesc;
	Datum		result[3];
	bool		result_nulls[3] = {false, false, false};
	MemoryContext callercxt = CurrentMemoryContext;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("log, tenant_id, stream and events must not be null")));
	logrelid = PG_GETARG_OID(0);
	tenant = PG_GETARG_TEXT_PP(1);
	stream = PG_GETARG_TEXT_PP(2);
	events = PG_GETARG_JSONB_P(3);

	if (get_call_result_type(fcinfo, NULL, &resdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "append_to_stream: return type must be a row type");

	EvCheckLogAndInsertPriv(logrelid);
	EvCheckTextArg(tenant, "tenant_id", EV_TENANT_MAX);
	EvCheckTextArg(stream, "stream", EV_STREAM_MAX);
	if (!expected_null && expected < -1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected_version must be -1, 0, a version or null: " INT64_FORMAT, expected)));
	bound = GetConfigOption("eventlog.tenant", true, false);
	if (bound != NULL && bound[0] != '\0' && !EvCallerIsAdmin() &&
		strcmp(bound, text_to_cstring(tenant)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tenant \"%s\" is not the session's tenant \"%s\"", text_to_cstring(tenant), bound),
				 errdetail("This session set eventlog.tenant, which limits its writes to that tenant.")));
	nevents = ValidateStreamEvents(events);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	entry = GetStreamLog(logrelid);
	PrepareHeadPlans();

	/* As the log's owner, which owns eventlog.stream_heads too; an error restores the caller. */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(EvLogOwner(logrelid), save_sec | SECURITY_LOCAL_USERID_CHANGE);

	/* The append lock first, the xid after it (see the top of this file). */
	LockStream(logrelid, tenant, stream);
	first_position = ReservePositions(nevents);

	/*
	 * Advance the head, or create it for a new stream. Under the append lock
	 * nobody else writes this head; ON CONFLICT only guards a head made by a
	 * writer that committed between the two statements (then we try again).
	 */
	key[0] = ObjectIdGetDatum(logrelid);
	key[1] = PointerGetDatum(tenant);
	key[2] = PointerGetDatum(stream);
	key[3] = Int64GetDatum(nevents);
	key[4] = Int64GetDatum(first_position + nevents - 1);
	for (int attempt = 0;; attempt++)
	{
		bool		isnull;

		if (attempt > 3)
			elog(ERROR, "could not update the head of stream \"%s\"", text_to_cstring(stream));
		rc = SPI_execute_plan(head_advance_plan, key, NULL, false, 0);
		if (rc != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "could not update the stream head: %s", SPI_result_code_string(rc));
		if (SPI_processed == 1)
		{
			current = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			head_position = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			break;
		}
		if (!ExpectedVersionHolds(expected_null, expected, 0))
			VersionConflict(text_to_cstring(stream), expected, 0);
		rc = SPI_execute_plan(head_create_plan, key, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not create the stream head: %s", SPI_result_code_string(rc));
		if (SPI_processed == 1)
			break;
	}

	/* On a mismatch the error undoes the head's advance with the rest. */
	if (!ExpectedVersionHolds(expected_null, expected, current))
		VersionConflict(text_to_cstring(stream), expected, current);

	/*
	 * A head whose last position belongs to a transaction id this cluster has
	 * not reached yet was restored from another cluster (pg_dump): positions
	 * made here would sort before it.
	 */
	if ((uint64) head_position >> POSITION_SEQ_BITS >= U64FromFullTransactionId(ReadNextFullTransactionId()))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("stream \"%s\" has positions ahead of this cluster's transaction ids",
						text_to_cstring(stream)),
				 errdetail("Its last event was written by transaction " UINT64_FORMAT
						   "; the next transaction id is " UINT64_FORMAT ".",
						   (uint64) head_position >> POSITION_SEQ_BITS,
						   U64FromFullTransactionId(ReadNextFullTransactionId())),
				 errhint("The log was restored from another cluster: raise this cluster's transaction id "
						 "epoch above the old one (pg_resetwal --epoch, server stopped); see doc/streams.md.")));

	/*
	 * Positions follow xid8 order. This transaction had an xid before it
	 * took the append lock, and a younger one appended to the stream and
	 * committed meanwhile: our positions would sort before lower versions.
	 */
	if (head_position >= first_position)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize append to stream \"%s\"", text_to_cstring(stream)),
				 errdetail("A transaction that started writing later appended to the stream first."),
				 errhint("Retry the transaction.")));

	/* The events, with their versions and the positions reserved above. */
	{
		Datum		values[5];

		values[0] = JsonbPGetDatum(events);
		values[1] = PointerGetDatum(tenant);
		values[2] = PointerGetDatum(stream);
		values[3] = Int64GetDatum(current);
		values[4] = Int64GetDatum(first_position);
		(void) EvTakeDefaultRowsNoted();
		rc = InsertStreamEvents(InsertPlan(entry), values);
		if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != (uint64) nevents)
			elog(ERROR, "append_to_stream inserted " UINT64_FORMAT " of %d events: %s",
				 SPI_processed, nevents, SPI_result_code_string(rc));
	}

	/* Results, by version (RETURNING's order is the insert's, but need not be). */
	positions = MemoryContextAlloc(callercxt, sizeof(Datum) * nevents);
	event_ids = MemoryContextAlloc(callercxt, sizeof(Datum) * nevents);
	new_version = current + nevents;
	for (int i = 0; i < nevents; i++)
		positions[i] = Int64GetDatum(first_position + i);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		v = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		int			slot = (int) (v - current - 1);
		pg_uuid_t  *id = MemoryContextAlloc(callercxt, sizeof(pg_uuid_t));

		if (slot < 0 || slot >= nevents)
			elog(ERROR, "append_to_stream: unexpected version " INT64_FORMAT, v);
		memcpy(id, DatumGetUUIDP(SPI_getbinval(t, d, 2, &isnull)), sizeof(pg_uuid_t));
		event_ids[slot] = UUIDPGetDatum(id);
	}

	if (EvTakeDefaultRowsNoted())
		EvRescueDefaults(logrelid);

	SetUserIdAndSecContext(save_userid, save_sec);
	SPI_finish();

	result[0] = Int64GetDatum(new_version);
	result[1] = PointerGetDatum(construct_array(positions, nevents, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	result[2] = PointerGetDatum(construct_array(event_ids, nevents, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	resdesc = BlessTupleDesc(resdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(resdesc, result, result_nulls)));
}

/* ---------- reading ---------- */

/*
 * The read functions run one of three queries per log, prepared once per
 * backend (a generic plan: planning a query over every partition of a log
 * costs more than running it), with or without the log's upcasters applied.
 * Parameters: $1 is always the log.
 */
typedef enum ReadKind
{
	READ_STREAM,				/* $2 tenant, $3 stream, $4 from version, $5 limit */
	READ_ALL,					/* $2 after, $3 limit, $4 member, $5 group size */
	READ_CATEGORY				/* $2 category, $3 after, $4 limit, $5 member, $6 group size */
} ReadKind;

static const struct
{
	const char *cond;
	const char *order;
	const char *limit;
	int			nargs;
	Oid			argtypes[6];
}			read_queries[] = {
	[READ_STREAM] = {"tenant_id = $2 AND stream = $3 AND version >= $4", "version", "$5",
	5, {REGCLASSOID, TEXTOID, TEXTOID, INT8OID, INT8OID}},
	[READ_ALL] = {"position > $2 AND position < eventlog.position_horizon()"
		" AND ($5 IS NULL OR eventlog.group_member(stream, $5) = $4)", "position", "$3",
	5, {REGCLASSOID, INT8OID, INT8OID, INT4OID, INT4OID}},
	[READ_CATEGORY] = {"split_part(stream, '-', 1) = $2 AND position > $3"
		" AND position < eventlog.position_horizon()"
		" AND ($6 IS NULL OR eventlog.group_member(stream, $6) = $5)", "position", "$4",
	6, {REGCLASSOID, TEXTOID, INT8OID, INT8OID, INT4OID, INT4OID}},
};

static SPIPlanPtr has_upcasters_plan = NULL;

/* Whether the log has upcasters (inside SPI). */
static bool
HasUpcasters(Oid log)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(log)};

	if (has_upcasters_plan == NULL)
		has_upcasters_plan = KeepPlan("SELECT 1 FROM eventlog.upcasters WHERE log = $1 LIMIT 1", 1, argtypes);
	if (SPI_execute_plan(has_upcasters_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read eventlog.upcasters");
	return SPI_processed > 0;
}

/* The prepared read query of a kind for a log (inside SPI). */
static SPIPlanPtr
ReadPlan(StreamLogEntry *entry, ReadKind kind, bool upcast)
{
	SPIPlanPtr *slot = &entry->read_plans[kind][upcast ? 1 : 0];

	if (*slot == NULL)
	{
		char	   *log = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(entry->relid)));
		char	   *sql = psprintf("SELECT event_id, tenant_id, event_type, subject, occurred_at, received_at,"
								   " schema_version, payload, metadata, stream, version, position FROM %s"
								   " WHERE %s ORDER BY %s LIMIT %s",
								   log, read_queries[kind].cond, read_queries[kind].order,
								   read_queries[kind].limit);

		if (upcast)
			sql = psprintf("SELECT u.* FROM (%s) e CROSS JOIN LATERAL"
						   " eventlog._upcast($1, e::eventlog.stream_event) u ORDER BY u.%s",
						   sql, read_queries[kind].order);
		/* generic from the first call: its cost does not depend on the values */
		*slot = SPI_prepare_cursor(sql, read_queries[kind].nargs, (Oid *) read_queries[kind].argtypes,
								   CURSOR_OPT_GENERIC_PLAN);
		if (*slot == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		SPI_keepplan(*slot);
	}
	return *slot;
}

/* Runs a read query and appends its rows to the function's result set (inside SPI). */
static void
RunRead(ReturnSetInfo *rsinfo, StreamLogEntry *entry, ReadKind kind, Datum *values, const char *nulls)
{
	Portal		portal;
	Datum		row[SE_NATTS];
	bool		rownulls[SE_NATTS];

	portal = SPI_cursor_open(NULL, ReadPlan(entry, kind, HasUpcasters(entry->relid)), values, nulls, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, row, rownulls);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, rownulls);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
}

/* Raises 22004 when the log argument is null. */
static void
RequireLogArg(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("log must not be null")));
}

/* Raises 22023 unless (member, size) of a consumer group are both null or valid. */
static void
CheckGroup(FunctionCallInfo fcinfo, int member_arg, int size_arg)
{
	bool		member_null = PG_ARGISNULL(member_arg);
	bool		size_null = PG_ARGISNULL(size_arg);

	if (member_null != size_null)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("consumer_group_member and consumer_group_size must be given together")));
	if (!size_null)
	{
		int32		member = PG_GETARG_INT32(member_arg);
		int32		size = PG_GETARG_INT32(size_arg);

		if (size < 1 || member < 0 || member >= size)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("consumer group member %d is not in 0 .. %d", member, size - 1)));
	}
}

/* Raises 22023 unless the page arguments of read_all/read_category are valid. */
static void
CheckPage(FunctionCallInfo fcinfo, int after_arg, int max_arg)
{
	if (PG_ARGISNULL(after_arg) || PG_ARGISNULL(max_arg) ||
		PG_GETARG_INT32(max_arg) < 1 || PG_GETARG_INT32(max_arg) > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("after_position must not be null and max_rows must be between 1 and 100000")));
}

/*
 * read_stream(log, tenant_id, stream, from_version bigint DEFAULT 1,
 * max_rows int DEFAULT 1000) RETURNS SETOF stream_event
 *
 * Versions are assigned under the stream's lock and committed in order, so
 * no snapshot horizon is needed here: no gap ever fills in.
 */
Datum
ev_read_stream(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	StreamLogEntry *entry;

	RequireLogArg(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	entry = GetStreamLog(PG_GETARG_OID(0));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant_id, stream and from_version must not be null")));
	if (!PG_ARGISNULL(4) && PG_GETARG_INT32(4) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must be positive or null: %d", PG_GETARG_INT32(4))));
	InitMaterializedSRF(fcinfo, 0);

	for (int i = 0; i < 4; i++)
		values[i] = PG_GETARG_DATUM(i);
	values[4] = PG_ARGISNULL(4) ? (Datum) 0 : Int64GetDatum(PG_GETARG_INT32(4));
	nulls[4] = PG_ARGISNULL(4) ? 'n' : ' ';
	RunRead(rsinfo, entry, READ_STREAM, values, nulls);
	SPI_finish();
	return (Datum) 0;
}

/*
 * read_all(log, after_position bigint DEFAULT 0, max_rows int DEFAULT 1000,
 * consumer_group_member int DEFAULT NULL, consumer_group_size int DEFAULT
 * NULL) RETURNS SETOF stream_event: below position_horizon() only.
 */
Datum
ev_read_all(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	StreamLogEntry *entry;

	RequireLogArg(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	entry = GetStreamLog(PG_GETARG_OID(0));
	CheckGroup(fcinfo, 3, 4);
	CheckPage(fcinfo, 1, 2);
	InitMaterializedSRF(fcinfo, 0);

	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = Int64GetDatum(PG_GETARG_INT32(2));
	for (int i = 3; i < 5; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	RunRead(rsinfo, entry, READ_ALL, values, nulls);
	SPI_finish();
	return (Datum) 0;
}

/*
 * read_category(log, category text, after_position bigint DEFAULT 0,
 * max_rows int DEFAULT 1000, consumer_group_member int DEFAULT NULL,
 * consumer_group_size int DEFAULT NULL) RETURNS SETOF stream_event
 */
Datum
ev_read_category(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	StreamLogEntry *entry;
	char	   *category;

	RequireLogArg(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	entry = GetStreamLog(PG_GETARG_OID(0));
	CheckGroup(fcinfo, 4, 5);
	category = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (category == NULL || category[0] == '\0' || strchr(category, '-') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("category must be a stream name prefix without \"-\": %s",
						category ? category : "<NULL>")));
	CheckPage(fcinfo, 2, 3);
	InitMaterializedSRF(fcinfo, 0);

	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);
	values[3] = Int64GetDatum(PG_GETARG_INT32(3));
	for (int i = 4; i < 6; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	RunRead(rsinfo, entry, READ_CATEGORY, values, nulls);
	SPI_finish();
	return (Datum) 0;
}

/*
 * load_stream(log, tenant_id, stream) RETURNS SETOF stream_event: the latest
 * snapshot as an event of type eventlog.snapshot (payload: the state,
 * version: the version it is the state of, position NULL), then the events
 * after it. STABLE: both parts see one database snapshot.
 */
Datum
ev_load_stream(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			argtypes[3] = {REGCLASSOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', 'n'};
	StreamLogEntry *entry;
	int64		from = 1;

	RequireLogArg(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	entry = GetStreamLog(PG_GETARG_OID(0));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant_id and stream must not be null")));
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < 3; i++)
		values[i] = PG_GETARG_DATUM(i);
	if (SPI_execute_with_args("SELECT NULL::uuid, s.tenant_id, 'eventlog.snapshot'::text, NULL::text,"
							  " s.taken_at, s.taken_at, 1, s.state, jsonb_build_object('taken_by', s.taken_by),"
							  " s.stream, s.version, NULL::bigint"
							  " FROM eventlog.snapshots s WHERE s.log = $1 AND s.tenant_id = $2 AND s.stream = $3"
							  " ORDER BY s.version DESC LIMIT 1",
							  3, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read eventlog.snapshots");
	if (SPI_processed == 1)
	{
		Datum		row[SE_NATTS];
		bool		rownulls[SE_NATTS];

		heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, row, rownulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, rownulls);
		from = DatumGetInt64(row[10]) + 1;
	}
	values[3] = Int64GetDatum(from);
	values[4] = (Datum) 0;		/* no limit */
	RunRead(rsinfo, entry, READ_STREAM, values, nulls);
	SPI_finish();
	return (Datum) 0;
}

/* ---------- calling user functions ---------- */

/* The OID of type eventlog.stream_event. */
static Oid
StreamEventTypeOid(void)
{
	Oid			nsp = get_namespace_oid("eventlog", false);
	Oid			typoid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										 CStringGetDatum("stream_event"), ObjectIdGetDatum(nsp));

	if (!OidIsValid(typoid))
		elog(ERROR, "type eventlog.stream_event does not exist");
	return typoid;
}

/* Raises the standard error unless the current user may execute fn. */
static void
CheckExecute(Oid fn)
{
	AclResult	acl = pg_proc_aclcheck(fn, GetUserId(), ACL_EXECUTE);

	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_FUNCTION, get_func_name(fn));
}

/* Calls a function of one argument; its result (and whether it is null) in *isnull. */
static Datum
CallOne(FmgrInfo *fn, Datum arg, bool *isnull)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, fn, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = arg;
	fcinfo->args[0].isnull = false;
	result = FunctionCallInvoke(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

/* ---------- upcasters ---------- */

typedef struct Upcaster
{
	char	   *event_type;
	int32		schema_version;
	Oid			fn_oid;
	FmgrInfo	fn;
} Upcaster;

typedef struct UpcasterSet
{
	Oid			log;
	int			n;
	Upcaster   *items;
} UpcasterSet;

/* Loads the upcasters of a log into cxt (checking EXECUTE on each). */
static UpcasterSet *
LoadUpcasters(Oid log, MemoryContext cxt)
{
	UpcasterSet *set = MemoryContextAllocZero(cxt, sizeof(UpcasterSet));
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];

	set->log = log;
	values[0] = ObjectIdGetDatum(log);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT event_type, schema_version, upcaster::pg_catalog.regprocedure::pg_catalog.oid"
							  " FROM eventlog.upcasters WHERE log = $1",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read eventlog.upcasters");
	set->n = (int) SPI_processed;
	set->items = MemoryContextAllocZero(cxt, sizeof(Upcaster) * Max(set->n, 1));
	for (int i = 0; i < set->n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Upcaster   *u = &set->items[i];

		u->event_type = MemoryContextStrdup(cxt, SPI_getvalue(t, d, 1));
		u->schema_version = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
		u->fn_oid = DatumGetObjectId(SPI_getbinval(t, d, 3, &isnull));
		CheckExecute(u->fn_oid);
		fmgr_info_cxt(u->fn_oid, &u->fn, cxt);
	}
	SPI_finish();
	return set;
}

/* The upcaster of (event_type, schema_version), or NULL. */
static Upcaster *
FindUpcaster(UpcasterSet *set, const char *event_type, int32 schema_version)
{
	for (int i = 0; i < set->n; i++)
	{
		if (set->items[i].schema_version == schema_version &&
			strcmp(set->items[i].event_type, event_type) == 0)
			return &set->items[i];
	}
	return NULL;
}

/*
 * _upcast(log regclass, e stream_event) RETURNS stream_event: applies the
 * log's upcasters to e until none is registered for its schema_version.
 * The log's upcasters are loaded once per query (kept in fn_extra).
 */
Datum
ev_upcast(PG_FUNCTION_ARGS)
{
	Oid			log = PG_GETARG_OID(0);
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(1);
	UpcasterSet *set = (UpcasterSet *) fcinfo->flinfo->fn_extra;
	TupleDesc	desc;
	HeapTupleData tuple;
	Datum		values[SE_NATTS];
	bool		nulls[SE_NATTS];
	char	   *event_type;
	bool		changed = false;
	HeapTuple	result;

	if (set == NULL || set->log != log)
	{
		set = LoadUpcasters(log, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = set;
	}
	if (set->n == 0)
		PG_RETURN_DATUM(PG_GETARG_DATUM(1));

	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(th), HeapTupleHeaderGetTypMod(th));
	if (desc->natts != SE_NATTS)
		elog(ERROR, "_upcast: not an eventlog.stream_event");
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;
	heap_deform_tuple(&tuple, desc, values, nulls);

	if (nulls[SE_EVENT_TYPE] || nulls[SE_SCHEMA_VERSION] || nulls[SE_PAYLOAD])
	{
		ReleaseTupleDesc(desc);
		PG_RETURN_DATUM(PG_GETARG_DATUM(1));
	}
	event_type = TextDatumGetCString(values[SE_EVENT_TYPE]);
	for (int hops = 0;; hops++)
	{
		int32		sv = DatumGetInt32(values[SE_SCHEMA_VERSION]);
		Upcaster   *u = FindUpcaster(set, event_type, sv);
		bool		isnull;

		if (u == NULL)
			break;
		if (hops >= 1000)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("more than 1000 upcasters apply to event type \"%s\"", event_type)));
		values[SE_PAYLOAD] = CallOne(&u->fn, values[SE_PAYLOAD], &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("upcaster %s returned null for event type \"%s\", schema version %d",
							format_procedure(u->fn_oid), event_type, sv)));
		values[SE_SCHEMA_VERSION] = Int32GetDatum(sv + 1);
		changed = true;
	}
	if (!changed)
	{
		ReleaseTupleDesc(desc);
		PG_RETURN_DATUM(PG_GETARG_DATUM(1));
	}
	result = heap_form_tuple(desc, values, nulls);
	ReleaseTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(result));
}

/* ---------- projections ---------- */

typedef struct HandlerCache
{
	Oid			fn_oid;
	FmgrInfo	fn;
} HandlerCache;

/* _apply(handler regprocedure, e stream_event) RETURNS void: calls handler(e). */
Datum
ev_apply(PG_FUNCTION_ARGS)
{
	HandlerCache *hc = (HandlerCache *) fcinfo->flinfo->fn_extra;
	Oid			fn;
	bool		isnull;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("handler and event must not be null")));
	fn = PG_GETARG_OID(0);
	if (hc == NULL || hc->fn_oid != fn)
	{
		CheckExecute(fn);
		hc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(HandlerCache));
		hc->fn_oid = fn;
		fmgr_info_cxt(fn, &hc->fn, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = hc;
	}
	(void) CallOne(&hc->fn, PG_GETARG_DATUM(1), &isnull);
	PG_RETURN_VOID();
}

/* ---------- fold_stream ---------- */

/* Raises 42P13 unless reducer is reducer(jsonb, eventlog.stream_event) RETURNS jsonb. */
static void
CheckReducer(Oid reducer)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(reducer));
	Form_pg_proc p;
	bool		ok;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function with OID %u does not exist", reducer)));
	p = (Form_pg_proc) GETSTRUCT(tup);
	ok = p->prokind == PROKIND_FUNCTION && !p->proretset && p->pronargs == 2 &&
		p->proargtypes.values[0] == JSONBOID && p->proargtypes.values[1] == StreamEventTypeOid() &&
		p->prorettype == JSONBOID;
	ReleaseSysCache(tup);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
				 errmsg("reducer %s must be a function (state jsonb, event eventlog.stream_event) returning jsonb",
						format_procedure(reducer))));
	CheckExecute(reducer);
}

/*
 * fold_stream(log, tenant_id, stream, reducer, initial jsonb, as_of_version
 * bigint, as_of_time timestamptz, use_snapshot boolean) RETURNS jsonb
 *
 * state := initial (or the latest snapshot at or before the target version
 * when use_snapshot); for each event up to the target version, in version
 * order, upcast: state := reducer(state, event). The target version is the
 * smaller of as_of_version and the last version received at or before
 * as_of_time (no bound when both are null). Runs as the caller.
 */
Datum
ev_fold_stream(PG_FUNCTION_ARGS)
{
	Oid			logrelid;
	Oid			reducer;
	bool		state_null = PG_ARGISNULL(4);
	Datum		state = state_null ? (Datum) 0 : PG_GETARG_DATUM(4);
	bool		target_null = true;
	int64		target = 0;
	int64		from = 1;
	bool		use_snapshot = !PG_ARGISNULL(7) && PG_GETARG_BOOL(7);
	FmgrInfo	flinfo;
	bool		strict;
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext statecxt;
	MemoryContext batchcxt;
	MemoryContext spicxt;
	Portal		portal;
	SPIPlanPtr	plan;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	Oid			argtypes[5] = {REGCLASSOID, TEXTOID, TEXTOID, INT8OID, INT8OID};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("log, tenant_id, stream and reducer must not be null")));
	logrelid = PG_GETARG_OID(0);
	reducer = PG_GETARG_OID(3);
	CheckReducer(reducer);
	fmgr_info(reducer, &flinfo);
	strict = flinfo.fn_strict;

	if (!PG_ARGISNULL(5))
	{
		target = PG_GETARG_INT64(5);
		target_null = false;
		if (target < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("as_of_version must not be negative: " INT64_FORMAT, target)));
	}

	statecxt = AllocSetContextCreate(callercxt, "ev fold state", ALLOCSET_DEFAULT_SIZES);
	batchcxt = AllocSetContextCreate(callercxt, "ev fold batch", ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spicxt = CurrentMemoryContext;
	(void) GetStreamLog(logrelid);

	values[0] = ObjectIdGetDatum(logrelid);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);

	/* as_of_time: the last version received at or before it (a prefix of the stream) */
	if (!PG_ARGISNULL(6))
	{
		char	   *log = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(logrelid)));
		Oid			targs[3] = {TEXTOID, TEXTOID, TIMESTAMPTZOID};
		Datum		tvals[3] = {PG_GETARG_DATUM(1), PG_GETARG_DATUM(2), PG_GETARG_DATUM(6)};
		bool		isnull;
		int64		v;

		if (SPI_execute_with_args(psprintf("SELECT coalesce(max(version), 0) FROM %s"
										   " WHERE tenant_id = $1 AND stream = $2 AND received_at <= $3", log),
								  3, targs, tvals, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "fold_stream: could not find the version as of the time");
		v = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (target_null || v < target)
			target = v;
		target_null = false;
	}
	values[4] = Int64GetDatum(target);
	nulls[4] = target_null ? 'n' : ' ';

	if (use_snapshot)
	{
		Oid			sargs[4] = {REGCLASSOID, TEXTOID, TEXTOID, INT8OID};
		Datum		svals[4] = {values[0], values[1], values[2], values[4]};
		char		snulls[4] = {' ', ' ', ' ', nulls[4]};

		if (SPI_execute_with_args("SELECT version, state FROM eventlog.snapshots"
								  " WHERE log = $1 AND tenant_id = $2 AND stream = $3"
								  " AND ($4 IS NULL OR version <= $4) ORDER BY version DESC LIMIT 1",
								  4, sargs, svals, snulls, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "fold_stream: could not read eventlog.snapshots");
		if (SPI_processed == 1)
		{
			bool		isnull;

			from = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) + 1;
			state = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
			state_null = false;
		}
	}
	if (!state_null)
	{
		MemoryContextSwitchTo(statecxt);
		state = datumCopy(state, false, -1);
		MemoryContextSwitchTo(spicxt);
	}
	values[3] = Int64GetDatum(from);

	plan = SPI_prepare("SELECT e FROM eventlog.read_stream($1, $2, $3, $4, NULL) AS e"
					   " WHERE $5 IS NULL OR e.version <= $5", 5, argtypes);
	if (plan == NULL)
		elog(ERROR, "fold_stream: could not prepare: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, values, nulls, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		MemoryContextSwitchTo(batchcxt);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		e = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			LOCAL_FCINFO(call, 2);

			if (strict && state_null)
				continue;
			InitFunctionCallInfoData(*call, &flinfo, 2, InvalidOid, NULL, NULL);
			call->args[0].value = state;
			call->args[0].isnull = state_null;
			call->args[1].value = e;
			call->args[1].isnull = isnull;
			state = FunctionCallInvoke(call);
			state_null = call->isnull;
		}
		/* keep the state in a fresh context, forget the rest of the batch */
		{
			MemoryContext keep = AllocSetContextCreate(callercxt, "ev fold state", ALLOCSET_DEFAULT_SIZES);

			if (!state_null)
			{
				MemoryContextSwitchTo(keep);
				state = datumCopy(state, false, -1);
			}
			MemoryContextDelete(statecxt);
			statecxt = keep;
		}
		MemoryContextSwitchTo(spicxt);
		MemoryContextReset(batchcxt);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	SPI_finish();
	/* the state lives in statecxt, a child of the caller's context */
	MemoryContextDelete(batchcxt);
	if (state_null)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(state);
}
