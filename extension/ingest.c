/*
 * Ingest: append() for one event, ingest() for a JSON array of envelopes, and
 * the envelope validator that copy_in()'s ndjson format shares.
 *
 * Every path checks the caller's INSERT privilege on the log, validates the
 * whole batch before writing anything (an error names the event's position and
 * the field), then inserts as the log's owner so that row-level security for
 * readers does not stand in the way and the dedup lookup needs no SELECT right
 * of the caller's. Rows that miss their time partition land in the default
 * partition; the ingest function then moves them into a partition made for
 * them before it returns (EvRescueDefaults).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "ev.h"

PG_FUNCTION_INFO_V1(ev_append);
PG_FUNCTION_INFO_V1(ev_ingest);

/* Per-log state cached for the life of the backend (flushed on relcache invalidation). */
typedef struct LogCacheEntry
{
	Oid			relid;			/* hash key */
	bool		valid;
	SPIPlanPtr	ingest_plan;	/* ($1 jsonb): every event of the batch */
	SPIPlanPtr	ingest_skip_plan;	/* ($1 jsonb, $2 bool[]): all but those stored */
	SPIPlanPtr	append_plan;
} LogCacheEntry;

static HTAB *log_cache = NULL;

/* Drops cached plans of a relation that changed (or of every log). */
static void
InvalidateLogCache(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	LogCacheEntry *entry;

	if (log_cache == NULL)
		return;
	hash_seq_init(&status, log_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || entry->relid == relid)
			entry->valid = false;
	}
}

/* Frees the plans of a stale cache entry. */
static void
ResetEntry(LogCacheEntry *entry)
{
	if (entry->ingest_plan)
		SPI_freeplan(entry->ingest_plan);
	if (entry->ingest_skip_plan)
		SPI_freeplan(entry->ingest_skip_plan);
	if (entry->append_plan)
		SPI_freeplan(entry->append_plan);
	entry->ingest_plan = entry->ingest_skip_plan = entry->append_plan = NULL;
}

/*
 * The cache entry of a registered log; raises an error naming the relation if
 * it is not a log. Must be called inside SPI_connect().
 */
static LogCacheEntry *
GetLogEntry(Oid relid)
{
	LogCacheEntry *entry;
	bool		found;
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];

	if (log_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(LogCacheEntry);
		log_cache = hash_create("eventlog log cache", 16, &ctl, HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(InvalidateLogCache, (Datum) 0);
	}

	entry = hash_search(log_cache, &relid, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->ingest_plan = entry->ingest_skip_plan = entry->append_plan = NULL;
	}
	if (entry->valid)
		return entry;

	ResetEntry(entry);
	values[0] = ObjectIdGetDatum(relid);
	if (SPI_execute_with_args("SELECT 1 FROM eventlog.log_config WHERE log = $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read eventlog.log_config");
	if (SPI_processed == 0)
	{
		hash_search(log_cache, &relid, HASH_REMOVE, NULL);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation \"%s\" is not an event log",
						DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)))),
				 errhint("Create logs with eventlog.create_log().")));
	}
	entry->valid = true;
	return entry;
}

/* Raises an error unless relid is a registered event log. */
void
EvRequireLog(Oid relid)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) GetLogEntry(relid);
	SPI_finish();
}

/* The owner of a log's root table. */
Oid
EvLogOwner(Oid logrelid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(logrelid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", logrelid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* Raises the standard "permission denied" unless the current user may INSERT into the log. */
void
EvCheckLogAndInsertPriv(Oid logrelid)
{
	AclResult	aclresult = pg_class_aclcheck(logrelid, GetUserId(), ACL_INSERT);

	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, get_relkind_objtype(get_rel_relkind(logrelid)),
					   get_rel_name(logrelid));
}

/* eventlog.tenant when it binds this caller (set, and caller not eventlog_admin), else NULL. */
const char *
EvBoundTenant(void)
{
	const char *t = GetConfigOption("eventlog.tenant", true, false);

	if (t == NULL || t[0] == '\0' || EvCallerIsAdmin())
		return NULL;
	return t;
}

/* ---------- envelope validation ---------- */

typedef struct ValidateContext
{
	const char *unit;
	int			position;
	const char *field;
} ValidateContext;

/* Error context: names the event and field whose value PostgreSQL refused. */
static void
ValidateErrorCallback(void *arg)
{
	ValidateContext *vc = (ValidateContext *) arg;

	if (vc->field)
		errcontext("%s %d, field \"%s\"", vc->unit, vc->position, vc->field);
	else
		errcontext("%s %d", vc->unit, vc->position);
}

/* Raises a validation error naming the position and field. */
static void pg_attribute_noreturn()
FieldError(const EvValidateOpts *opts, int pos, const char *field, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s %d: field \"%s\" %s", opts->unit, pos, field, problem),
			 errhint("An event is a JSON object with the fields event_id, tenant_id, event_type, "
					 "subject, occurred_at, received_at, schema_version, payload and metadata; "
					 "nothing of the batch was written.")));
}

/* Whether s (len bytes, not NUL-terminated) is a UUID as uuid_in() accepts it. */
static bool
LooksLikeUuid(const char *s, int len)
{
	int			digits = 0;
	int			i = 0;

	if (len >= 2 && s[0] == '{' && s[len - 1] == '}')
	{
		i = 1;
		len--;
	}
	for (; i < len; i++)
	{
		char		c = s[i];

		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			digits++;
		else if (c == '-' && digits > 0 && digits % 4 == 0 && digits < 32)
			continue;
		else
			return false;
	}
	return digits == 32 && s[len - 1] != '-';
}

/* Checks a text field: string, non-empty, at most maxlen bytes, no NUL. */
static void
CheckText(JsonbValue *v, const EvValidateOpts *opts, int pos, const char *field,
		  int maxlen, bool nullable)
{
	char		buf[64];

	if (v->type == jbvNull)
	{
		if (!nullable)
			FieldError(opts, pos, field, "must not be null");
		return;
	}
	if (v->type != jbvString)
		FieldError(opts, pos, field, "must be a string");
	if (v->val.string.len == 0)
		FieldError(opts, pos, field, "must not be empty");
	if (v->val.string.len > maxlen)
	{
		snprintf(buf, sizeof(buf), "is longer than %d bytes (%d)", maxlen, v->val.string.len);
		FieldError(opts, pos, field, buf);
	}
}

/* Parses a timestamptz field through PostgreSQL's own input function; false for null. */
static bool
CheckTimestamp(JsonbValue *v, const EvValidateOpts *opts, int pos, const char *field,
			   TimestampTz *result)
{
	char	   *str;

	if (v->type == jbvNull)
		return false;
	if (v->type != jbvString)
		FieldError(opts, pos, field, "must be a timestamp string (ISO 8601)");
	str = pnstrdup(v->val.string.val, v->val.string.len);
	/* an input error is reported with the context "event N, field F" */
	*result = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(str),
													  ObjectIdGetDatum(InvalidOid),
													  Int32GetDatum(-1)));
	pfree(str);
	return true;
}

/*
 * Validates one envelope object (a jsonb container). position is 1-based and
 * named with opts->unit in errors.
 */
void
EvValidateEvent(void *container, int position, const EvValidateOpts *opts)
{
	JsonbContainer *jc = (JsonbContainer *) container;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		have_tenant = false,
				have_type = false,
				have_payload = false;
	ValidateContext vc = {opts->unit, position, NULL};
	ErrorContextCallback errcb;
	TimestampTz ts;

	if (!JsonContainerIsObject(jc) || JsonContainerIsScalar(jc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %d: not a JSON object", opts->unit, position),
				 errhint("Each event is a JSON object with at least tenant_id, event_type and payload.")));

	errcb.callback = ValidateErrorCallback;
	errcb.arg = &vc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	it = JsonbIteratorInit(jc);
	tok = JsonbIteratorNext(&it, &v, true);	/* WJB_BEGIN_OBJECT */
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);	/* WJB_VALUE */
		vc.field = key;

		if (strcmp(key, "tenant_id") == 0)
		{
			CheckText(&v, opts, position, key, EV_TENANT_MAX, false);
			have_tenant = true;
			if (opts->bound_tenant &&
				(strlen(opts->bound_tenant) != (size_t) v.val.string.len ||
				 memcmp(opts->bound_tenant, v.val.string.val, v.val.string.len) != 0))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("%s %d: tenant \"%s\" is not the session's tenant \"%s\"",
								opts->unit, position,
								pnstrdup(v.val.string.val, v.val.string.len),
								opts->bound_tenant),
						 errdetail("This session set eventlog.tenant, which limits its writes to that tenant.")));
		}
		else if (strcmp(key, "event_type") == 0)
		{
			CheckText(&v, opts, position, key, EV_EVENT_TYPE_MAX, false);
			have_type = true;
		}
		else if (strcmp(key, "subject") == 0)
			CheckText(&v, opts, position, key, EV_SUBJECT_MAX, true);
		else if (strcmp(key, "payload") == 0)
		{
			if (v.type == jbvNull)
				FieldError(opts, position, key, "must not be null");
			if (v.type != jbvBinary)
				FieldError(opts, position, key, "must be a JSON object or array");
			have_payload = true;
		}
		else if (strcmp(key, "metadata") == 0)
		{
			if (v.type != jbvNull &&
				(v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data)))
				FieldError(opts, position, key, "must be a JSON object or null");
		}
		else if (strcmp(key, "event_id") == 0)
		{
			if (v.type != jbvNull &&
				(v.type != jbvString || !LooksLikeUuid(v.val.string.val, v.val.string.len)))
				FieldError(opts, position, key, "must be a UUID string or null");
			if (v.type != jbvNull && opts->stats)
				opts->stats->any_event_id = true;
		}
		else if (strcmp(key, "occurred_at") == 0)
			(void) CheckTimestamp(&v, opts, position, key, &ts);
		else if (strcmp(key, "received_at") == 0)
		{
			if (v.type != jbvNull && !opts->allow_received_at)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("%s %d: field \"received_at\" may only be set by eventlog_admin",
								opts->unit, position),
						 errdetail("The database stamps received_at; bulk loads of history by "
								   "eventlog_admin may set it.")));
			if (CheckTimestamp(&v, opts, position, key, &ts) && opts->stats)
			{
				EvBatchStats *st = opts->stats;

				if (!st->any_received_at || ts < st->min_received_at)
					st->min_received_at = ts;
				if (!st->any_received_at || ts > st->max_received_at)
					st->max_received_at = ts;
				st->any_received_at = true;
			}
		}
		else if (strcmp(key, "schema_version") == 0)
		{
			if (v.type != jbvNull)
			{
				char	   *num;

				if (v.type != jbvNumeric)
					FieldError(opts, position, key, "must be an integer");
				num = DatumGetCString(DirectFunctionCall1(numeric_out,
														  NumericGetDatum(v.val.numeric)));
				if (strspn(num, "0123456789") != strlen(num) || strlen(num) > 10 ||
					atoll(num) < 1 || atoll(num) > PG_INT32_MAX)
					FieldError(opts, position, key, "must be an integer from 1 to 2147483647");
			}
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s %d: unknown field \"%s\"", opts->unit, position, key),
					 errhint("The fields of an event are event_id, tenant_id, event_type, subject, "
							 "occurred_at, received_at, schema_version, payload and metadata.")));
		vc.field = NULL;
		pfree(key);
	}
	if (!have_tenant)
		FieldError(opts, position, "tenant_id", "is missing");
	if (!have_type)
		FieldError(opts, position, "event_type", "is missing");
	if (!have_payload)
		FieldError(opts, position, "payload", "is missing");

	error_context_stack = errcb.previous;
}

/* Raises an error unless jb is a JSON array of at most eventlog.max_batch_events elements. */
void
EvCheckEventArray(Jsonb *jb)
{
	if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("events must be a JSON array of event objects")));
	if (JB_ROOT_COUNT(jb) > ev_max_batch_events)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("batch is too large: %u events", JB_ROOT_COUNT(jb)),
				 errdetail("The limit is %d events per call.", ev_max_batch_events),
				 errhint("Split the batch, or raise eventlog.max_batch_events.")));
}

/* Validates every element of a jsonb array of envelopes; returns the count. */
static int
ValidateArray(Jsonb *jb, const EvValidateOpts *opts)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			pos = 0;

	EvCheckEventArray(jb);

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		pos++;
		if (v.type != jbvBinary)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s %d: not a JSON object", opts->unit, pos)));
		EvValidateEvent(v.val.binary.data, pos, opts);
	}
	return pos;
}

/* ---------- inserting ---------- */

/*
 * Prepares (once per log) the INSERT ... SELECT FROM jsonb_to_recordset of
 * ingest(); with skip, $2 is a bool[] that marks (by position) the events the
 * dedup lookup found stored, which are left out.
 */
static SPIPlanPtr
IngestPlan(LogCacheEntry *entry, Oid logrelid, bool skip)
{
	SPIPlanPtr *slot = skip ? &entry->ingest_skip_plan : &entry->ingest_plan;

	if (*slot == NULL)
	{
		char	   *log = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(logrelid)));
		char	   *sql;
		Oid			argtypes[2] = {JSONBOID, BOOLARRAYOID};
		SPIPlanPtr	plan;

		/* DISTINCT ON drops repeats inside the batch (first one wins) */
		sql = psprintf("WITH src AS ("
					   " SELECT coalesce(r.event_id, eventlog.uuidv7()) AS event_id, r.tenant_id,"
					   " r.event_type, r.subject, r.occurred_at, coalesce(r.received_at, now()) AS received_at,"
					   " coalesce(r.schema_version, 1) AS schema_version, r.payload, r.metadata, r.ord"
					   " FROM ROWS FROM (jsonb_to_recordset($1) AS (event_id uuid, tenant_id text,"
					   " event_type text, subject text, occurred_at timestamptz, received_at timestamptz,"
					   " schema_version int, payload jsonb, metadata jsonb)) WITH ORDINALITY"
					   " AS r(event_id, tenant_id, event_type, subject, occurred_at, received_at,"
					   " schema_version, payload, metadata, ord)%s),"
					   " firsts AS (SELECT DISTINCT ON (tenant_id, event_id) * FROM src"
					   " ORDER BY tenant_id, event_id, ord)"
					   " INSERT INTO %s (event_id, tenant_id, event_type, subject, occurred_at,"
					   " received_at, schema_version, payload, metadata)"
					   " SELECT f.event_id, f.tenant_id, f.event_type, f.subject, f.occurred_at,"
					   " f.received_at, f.schema_version, f.payload, f.metadata FROM firsts f"
					   " ORDER BY f.ord",
					   skip ? " WHERE NOT $2[r.ord::int]" : "", log);
		plan = SPI_prepare(sql, skip ? 2 : 1, argtypes);
		if (plan == NULL)
			elog(ERROR, "could not prepare ingest for %s: %s", log, SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		*slot = plan;
	}
	return *slot;
}

/* Runs fn(arg) as the log's owner; the caller's identity comes back on exit or error. */
typedef uint64 (*OwnerWork) (Oid logrelid, void *arg);

static uint64
RunAsOwner(Oid logrelid, OwnerWork fn, void *arg)
{
	Oid			save_userid;
	int			save_sec;
	uint64		result;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	/* transaction abort restores the user id if fn raises an error */
	SetUserIdAndSecContext(EvLogOwner(logrelid), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	result = fn(logrelid, arg);
	SetUserIdAndSecContext(save_userid, save_sec);
	return result;
}

typedef struct IngestArgs
{
	Datum		events;
	const EvBatchStats *stats;
} IngestArgs;

/* The log's dedup window, read at each call so that set_dedup_window() applies at once. */
static Interval *
DedupWindow(Oid logrelid)
{
	static SPIPlanPtr plan = NULL;	/* prepared once per backend */
	Datum		values[1] = {ObjectIdGetDatum(logrelid)};
	bool		isnull;

	if (plan == NULL)
	{
		Oid			argtypes[1] = {REGCLASSOID};
		SPIPlanPtr	p = SPI_prepare("SELECT dedup_window FROM eventlog.log_config WHERE log = $1",
									1, argtypes);

		if (p == NULL)
			elog(ERROR, "could not prepare the dedup window lookup: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		plan = p;
	}
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the dedup window of log %u", logrelid);
	return DatumGetIntervalP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * The events of a validated jsonb array that are stored already, by position
 * (1-based): those whose event_id the log holds for their tenant with a
 * received_at in [lo, hi]. NULL when there are none.
 */
static ArrayType *
StoredEvents(Oid logrelid, Jsonb *events, TimestampTz lo, TimestampTz hi)
{
	EvDedup    *d = EvDedupBegin(logrelid, lo, hi);
	int			n = JB_ROOT_COUNT(events);
	Datum	   *stored = palloc(sizeof(Datum) * n);
	JsonbIterator *it = JsonbIteratorInit(&events->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			pos = 0;
	bool		any = false;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbValue	idv,
					tenantv;
		bool		found = false;

		if (tok != WJB_ELEM)
			continue;
		/* validated: an object with a tenant_id string, its event_id a uuid string if any */
		if (getKeyJsonValueFromContainer(v.val.binary.data, "event_id", 8, &idv) != NULL &&
			idv.type == jbvString &&
			getKeyJsonValueFromContainer(v.val.binary.data, "tenant_id", 9, &tenantv) != NULL &&
			tenantv.type == jbvString)
		{
			char	   *idstr = pnstrdup(idv.val.string.val, idv.val.string.len);
			pg_uuid_t  *id = DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(idstr)));
			text	   *tenant = cstring_to_text_with_len(tenantv.val.string.val, tenantv.val.string.len);

			found = EvDedupStored(d, id, tenant);
			pfree(idstr);
			pfree(id);
			pfree(tenant);
		}
		stored[pos++] = BoolGetDatum(found);
		any |= found;
	}
	EvDedupEnd(d);
	Assert(pos == n);
	return any ? construct_array(stored, n, BOOLOID, 1, true, TYPALIGN_CHAR) : NULL;
}

/* Inserts a validated jsonb array; runs as owner inside SPI. */
static uint64
IngestWork(Oid logrelid, void *arg)
{
	IngestArgs *ia = (IngestArgs *) arg;
	LogCacheEntry *entry = GetLogEntry(logrelid);
	ArrayType  *stored = NULL;
	Datum		values[2];
	int			rc;
	uint64		n;

	values[0] = ia->events;
	if (ia->stats->any_event_id)	/* ids stamped here are new */
	{
		Interval   *w = DedupWindow(logrelid);
		TimestampTz lo = GetCurrentTransactionStartTimestamp();
		TimestampTz hi = lo;

		if (ia->stats->any_received_at)
		{
			lo = Min(lo, ia->stats->min_received_at);
			hi = Max(hi, ia->stats->max_received_at);
		}
		lo = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(lo),
													 IntervalPGetDatum(w)));
		hi = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(hi),
													 IntervalPGetDatum(w)));
		stored = StoredEvents(logrelid, DatumGetJsonbP(ia->events), lo, hi);
		values[1] = PointerGetDatum(stored);
	}
	(void) EvTakeDefaultRowsNoted();
	rc = SPI_execute_plan(IngestPlan(entry, logrelid, stored != NULL), values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "ingest failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	if (EvTakeDefaultRowsNoted())
		EvRescueDefaults(logrelid);
	return n;
}

/* Inserts a jsonb array of already validated envelopes into a log, as its owner. */
uint64
EvInsertJsonbArray(Oid logrelid, Datum events_jsonb, const EvBatchStats *stats)
{
	IngestArgs	ia = {events_jsonb, stats};
	uint64		n;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = RunAsOwner(logrelid, IngestWork, &ia);
	SPI_finish();
	return n;
}

/*
 * ingest(log regclass, events jsonb) RETURNS bigint
 * Validates every event, then writes those whose event_id is not already
 * stored in the log's dedup window; returns the number of rows written.
 */
Datum
ev_ingest(PG_FUNCTION_ARGS)
{
	Oid			logrelid;
	Jsonb	   *events;
	EvValidateOpts opts;
	EvBatchStats stats = {0};
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("log must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("events must not be null")));
	logrelid = PG_GETARG_OID(0);
	events = PG_GETARG_JSONB_P(1);

	EvCheckLogAndInsertPriv(logrelid);
	opts.unit = "event";
	opts.allow_received_at = EvCallerIsAdmin();
	opts.bound_tenant = EvBoundTenant();
	opts.stats = &stats;
	n = ValidateArray(events, &opts);
	if (n == 0)
		PG_RETURN_INT64(0);
	PG_RETURN_INT64((int64) EvInsertJsonbArray(logrelid, JsonbPGetDatum(events), &stats));
}

/* ---------- append ---------- */

typedef struct AppendArgs
{
	Datum		values[8];
	char		nulls[8];
	bool		idempotent;
} AppendArgs;

/* Prepares the single-row INSERT of append(). */
static SPIPlanPtr
AppendPlan(LogCacheEntry *entry, Oid logrelid)
{
	if (entry->append_plan == NULL)
	{
		char	   *log = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(logrelid)));
		Oid			argtypes[8] = {UUIDOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID,
		JSONBOID, JSONBOID, INT4OID};
		char	   *sql;
		SPIPlanPtr	plan;

		sql = psprintf("INSERT INTO %s (event_id, tenant_id, event_type, subject, occurred_at,"
					   " schema_version, payload, metadata)"
					   " VALUES ($1, $2, $3, $4, $5, $8, $6, $7)", log);
		plan = SPI_prepare(sql, 8, argtypes);
		if (plan == NULL)
			elog(ERROR, "could not prepare append for %s: %s", log, SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		entry->append_plan = plan;
	}
	return entry->append_plan;
}

/* Inserts one event as the log's owner; inside SPI. */
static uint64
AppendWork(Oid logrelid, void *arg)
{
	AppendArgs *aa = (AppendArgs *) arg;
	LogCacheEntry *entry = GetLogEntry(logrelid);
	int			rc;
	uint64		n;

	if (aa->idempotent)
	{
		/* the caller's id: not stored again if received since now - window */
		Datum		lo = DirectFunctionCall2(timestamptz_mi_interval,
											 TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
											 IntervalPGetDatum(DedupWindow(logrelid)));
		TimestampTz hi;
		EvDedup    *d;
		bool		stored;

		TIMESTAMP_NOEND(hi);
		d = EvDedupBegin(logrelid, DatumGetTimestampTz(lo), hi);
		stored = EvDedupStored(d, DatumGetUUIDP(aa->values[0]), DatumGetTextPP(aa->values[1]));
		EvDedupEnd(d);
		if (stored)
			return 0;
	}
	(void) EvTakeDefaultRowsNoted();
	rc = SPI_execute_plan(AppendPlan(entry, logrelid), aa->values, aa->nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "append failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	if (EvTakeDefaultRowsNoted())
		EvRescueDefaults(logrelid);
	return n;
}

/* Checks a text argument (append(), append_to_stream()): non-empty, at most maxlen bytes. */
void
EvCheckTextArg(text *t, const char *field, int maxlen)
{
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", field)));
	if (len > maxlen)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is longer than %d bytes (%d)", field, maxlen, len)));
}

/*
 * append(log, tenant_id, event_type, payload, subject, occurred_at, event_id,
 * metadata) RETURNS uuid: one event. A caller's event_id already stored in the
 * dedup window is not stored again; its id is returned all the same.
 */
Datum
ev_append(PG_FUNCTION_ARGS)
{
	Oid			logrelid;
	AppendArgs	aa;
	pg_uuid_t  *id;
	const char *bound;
	Jsonb	   *payload;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("log must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("tenant_id must not be null")));
	if (PG_ARGISNULL(2))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("event_type must not be null")));
	if (PG_ARGISNULL(3))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("payload must not be null")));
	logrelid = PG_GETARG_OID(0);
	EvCheckLogAndInsertPriv(logrelid);

	EvCheckTextArg(PG_GETARG_TEXT_PP(1), "tenant_id", EV_TENANT_MAX);
	EvCheckTextArg(PG_GETARG_TEXT_PP(2), "event_type", EV_EVENT_TYPE_MAX);
	if (!PG_ARGISNULL(4))
		EvCheckTextArg(PG_GETARG_TEXT_PP(4), "subject", EV_SUBJECT_MAX);
	payload = PG_GETARG_JSONB_P(3);
	if (JB_ROOT_IS_SCALAR(payload))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("payload must be a JSON object or array")));
	if (!PG_ARGISNULL(7) &&
		(JB_ROOT_IS_SCALAR(PG_GETARG_JSONB_P(7)) || !JB_ROOT_IS_OBJECT(PG_GETARG_JSONB_P(7))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metadata must be a JSON object or null")));

	bound = EvBoundTenant();
	if (bound != NULL && strcmp(bound, text_to_cstring(PG_GETARG_TEXT_PP(1))) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tenant \"%s\" is not the session's tenant \"%s\"",
						text_to_cstring(PG_GETARG_TEXT_PP(1)), bound),
				 errdetail("This session set eventlog.tenant, which limits its writes to that tenant.")));

	if (PG_ARGISNULL(6))
	{
		id = palloc(sizeof(pg_uuid_t));
		EvNewUuidV7(id->data);
		aa.idempotent = false;
	}
	else
	{
		id = PG_GETARG_UUID_P(6);
		aa.idempotent = true;
	}

	aa.values[0] = UUIDPGetDatum(id);
	aa.nulls[0] = ' ';
	aa.values[1] = PG_GETARG_DATUM(1);
	aa.nulls[1] = ' ';
	aa.values[2] = PG_GETARG_DATUM(2);
	aa.nulls[2] = ' ';
	aa.values[3] = PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4);
	aa.nulls[3] = PG_ARGISNULL(4) ? 'n' : ' ';
	aa.values[4] = PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5);
	aa.nulls[4] = PG_ARGISNULL(5) ? 'n' : ' ';
	aa.values[5] = JsonbPGetDatum(payload);
	aa.nulls[5] = ' ';
	aa.values[6] = PG_ARGISNULL(7) ? (Datum) 0 : PG_GETARG_DATUM(7);
	aa.nulls[6] = PG_ARGISNULL(7) ? 'n' : ' ';
	aa.values[7] = Int32GetDatum(1);	/* schema_version */
	aa.nulls[7] = ' ';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) RunAsOwner(logrelid, AppendWork, &aa);
	SPI_finish();

	PG_RETURN_UUID_P(id);
}
