/*
 * copy_in(log, data bytea, format): PostgreSQL's COPY FROM machinery over an
 * in-memory buffer (text, csv, binary), plus ndjson, which goes through the
 * same validation and insert as ingest().
 *
 * The caller's INSERT privilege is checked as the caller; the COPY itself runs
 * as the log's owner, because COPY FROM refuses tables with row-level security
 * for everyone else. A session bound to a tenant (eventlog.tenant) gets a
 * COPY WHERE clause that raises an error for any other tenant's row. The COPY
 * formats do no dedup (the raw bulk path; eventlogd dedups before it); ndjson
 * is ingest() in lines, dedup included.
 */
#include "postgres.h"

#include "access/table.h"
#include "commands/copy.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_node.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_relation.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ev.h"

PG_FUNCTION_INFO_V1(ev_copy_in);
PG_FUNCTION_INFO_V1(ev_require_tenant);

/* The envelope columns, in the order text/csv/binary rows carry them. */
static const char *const envelope_columns[] = {
	"event_id", "tenant_id", "event_type", "subject", "occurred_at",
	"received_at", "schema_version", "payload", "metadata"
};
#define N_ENVELOPE_COLUMNS lengthof(envelope_columns)

/* The buffer that CopyFromSource() hands to COPY (COPY's callback takes no argument). */
static const char *source_data = NULL;
static size_t source_len = 0;
static size_t source_pos = 0;

/* COPY data source callback: the next bytes of the bytea. */
static int
CopyFromSource(void *outbuf, int minread, int maxread)
{
	size_t		n = source_len - source_pos;

	if (n > (size_t) maxread)
		n = maxread;
	memcpy(outbuf, source_data + source_pos, n);
	source_pos += n;
	return (int) n;
}

/* Whether name is an envelope column. */
static bool
IsEnvelopeColumn(const char *name)
{
	for (size_t i = 0; i < N_ENVELOPE_COLUMNS; i++)
		if (strcmp(name, envelope_columns[i]) == 0)
			return true;
	return false;
}

/* Whether tok looks like a column name (a header cell rather than data). */
static bool
LooksLikeIdentifier(const char *tok)
{
	if (!((*tok >= 'a' && *tok <= 'z') || (*tok >= 'A' && *tok <= 'Z') || *tok == '_'))
		return false;
	for (; *tok; tok++)
		if (!((*tok >= 'a' && *tok <= 'z') || (*tok >= 'A' && *tok <= 'Z') ||
			  (*tok >= '0' && *tok <= '9') || *tok == '_'))
			return false;
	return true;
}

/*
 * If the first line of text or csv data is a header (every cell a bare
 * identifier, as no data row of the envelope can be: an event_id or a payload
 * is never one), returns its columns; otherwise NIL, and rows carry all nine
 * columns. A header naming anything but envelope columns is an error.
 */
static List *
HeaderColumns(const char *data, size_t len, char delim)
{
	const char *eol = memchr(data, '\n', len);
	size_t		linelen = eol ? (size_t) (eol - data) : len;
	char	   *line = pnstrdup(data, linelen);
	char		delims[2] = {delim, '\0'};
	List	   *cols = NIL;
	char	   *tok;
	char	   *save;
	const char *unknown = NULL;

	if (memchr(data, '\0', linelen) != NULL)
		return NIL;				/* not a header; COPY reports the bad byte */
	if (linelen > 0 && line[linelen - 1] == '\r')
		line[linelen - 1] = '\0';
	for (tok = strtok_r(line, delims, &save); tok != NULL; tok = strtok_r(NULL, delims, &save))
	{
		size_t		tlen;

		while (*tok == ' ')
			tok++;
		tlen = strlen(tok);
		while (tlen > 0 && tok[tlen - 1] == ' ')
			tok[--tlen] = '\0';
		if (delim == ',' && tlen >= 2 && tok[0] == '"' && tok[tlen - 1] == '"')
		{
			tok[tlen - 1] = '\0';
			tok++;
		}
		if (!LooksLikeIdentifier(tok))
			return NIL;			/* a data row */
		if (!IsEnvelopeColumn(tok) && unknown == NULL)
			unknown = pstrdup(tok);
		cols = lappend(cols, makeString(pstrdup(tok)));
	}
	if (unknown != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("header names unknown column \"%s\"", unknown),
				 errhint("The columns are event_id, tenant_id, event_type, subject, occurred_at, "
						 "received_at, schema_version, payload and metadata.")));
	return cols;
}

/*
 * COPY's WHERE clause for a session bound to one tenant: a check that raises
 * an error for any other tenant's row (COPY itself knows nothing of
 * row-level security), so a rejected row stops the whole COPY.
 */
static List *
TenantCheckClause(ParseState *pstate, const char *tenant)
{
	ColumnRef  *col = makeNode(ColumnRef);
	A_Const    *val = makeNode(A_Const);
	FuncCall   *call;
	Node	   *where;

	col->fields = list_make1(makeString("tenant_id"));
	col->location = -1;
	val->val.sval.type = T_String;
	val->val.sval.sval = pstrdup(tenant);
	val->location = -1;
	call = makeFuncCall(list_make2(makeString("eventlog"), makeString("_require_tenant")),
						list_make2(col, val), COERCE_EXPLICIT_CALL, -1);
	where = transformExpr(pstate, (Node *) call, EXPR_KIND_COPY_WHERE);
	where = coerce_to_boolean(pstate, where, "WHERE");
	assign_expr_collations(pstate, where);
	return make_ands_implicit((Expr *) where);
}

/* _require_tenant(tenant_id text, bound text) RETURNS boolean: raises unless they match. */
Datum
ev_require_tenant(PG_FUNCTION_ARGS)
{
	char	   *bound;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(true);	/* the NOT NULL constraint reports it */
	bound = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(text_to_cstring(PG_GETARG_TEXT_PP(0)), bound) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tenant \"%s\" is not the session's tenant \"%s\"",
						text_to_cstring(PG_GETARG_TEXT_PP(0)), bound),
				 errdetail("This session set eventlog.tenant, which limits its writes to that tenant; "
						   "nothing of the data was written.")));
	PG_RETURN_BOOL(true);
}

/* Runs COPY FROM over data into the log as its owner; returns rows copied. */
static uint64
CopyBuffer(Oid logrelid, const char *data, size_t len, const char *format,
		   const char *bound_tenant)
{
	Node	   *where = NULL;
	Relation	rel;
	ParseState *pstate;
	ParseNamespaceItem *nsitem;
	List	   *options;
	List	   *attnames = NIL;
	CopyFromState cstate;
	uint64		processed;
	Oid			save_userid;
	int			save_sec;
	const char *save_data = source_data;
	size_t		save_len = source_len,
				save_pos = source_pos;

	options = list_make2(makeDefElem("format", (Node *) makeString(pstrdup(format)), -1),
						 makeDefElem("encoding", (Node *) makeString("UTF8"), -1));
	if (strcmp(format, "csv") == 0 || strcmp(format, "text") == 0)
	{
		attnames = HeaderColumns(data, len, format[0] == 'c' ? ',' : '\t');
		if (attnames != NIL)
			options = lappend(options, makeDefElem("header", (Node *) makeBoolean(true), -1));
	}
	if (attnames == NIL)
		for (size_t i = 0; i < N_ENVELOPE_COLUMNS; i++)
			attnames = lappend(attnames, makeString(pstrdup(envelope_columns[i])));

	rel = table_open(logrelid, RowExclusiveLock);
	pstate = make_parsestate(NULL);
	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
	nsitem->p_rte->requiredPerms = ACL_INSERT;
	if (bound_tenant != NULL)
	{
		addNSItemToQuery(pstate, nsitem, false, true, true);
		where = (Node *) TenantCheckClause(pstate, bound_tenant);
	}

	source_data = data;
	source_len = len;
	source_pos = 0;

	/* An error leaves the source pointing at stale data; the next call resets it. */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(EvLogOwner(logrelid), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	(void) EvTakeDefaultRowsNoted();
	cstate = BeginCopyFrom(pstate, rel, where, NULL, false, CopyFromSource, attnames, options);
	processed = CopyFrom(cstate);
	EndCopyFrom(cstate);
	CommandCounterIncrement();
	if (EvTakeDefaultRowsNoted())
		EvRescueDefaults(logrelid);
	source_data = save_data;
	source_len = save_len;
	source_pos = save_pos;
	SetUserIdAndSecContext(save_userid, save_sec);

	table_close(rel, NoLock);
	free_parsestate(pstate);
	return processed;
}

typedef struct LineContext
{
	int			line;
} LineContext;

/* Error context for ndjson: names the line whose JSON PostgreSQL refused. */
static void
NdjsonErrorCallback(void *arg)
{
	errcontext("ndjson line %d", ((LineContext *) arg)->line);
}

/* Parses and validates ndjson lines into one jsonb array, then ingests it. */
static uint64
IngestNdjson(Oid logrelid, const char *data, size_t len)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	EvBatchStats stats = {0};
	EvValidateOpts opts = {"line", EvCallerIsAdmin(), EvBoundTenant(), &stats};
	LineContext lc = {0};
	ErrorContextCallback errcb;
	size_t		pos = 0;
	int			events = 0;

	(void) pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	while (pos < len)
	{
		const char *start = data + pos;
		const char *eol = memchr(start, '\n', len - pos);
		size_t		linelen = eol ? (size_t) (eol - start) : len - pos;
		char	   *line;
		Jsonb	   *jb;
		JsonbValue	v;

		pos += linelen + (eol ? 1 : 0);
		lc.line++;
		if (linelen > 0 && start[linelen - 1] == '\r')
			linelen--;
		if (linelen == 0 || strspn(start, " \t") >= linelen)
			continue;			/* blank lines are allowed */

		if (memchr(start, '\0', linelen) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("line %d: contains a NUL byte", lc.line)));
		if (!pg_verify_mbstr(PG_UTF8, start, (int) linelen, true))
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("line %d: invalid UTF-8", lc.line),
					 errhint("ndjson data must be UTF-8; nothing of the batch was written.")));
		if (++events > ev_max_batch_events)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("batch is too large: more than %d events", ev_max_batch_events),
					 errhint("Split the data, or raise eventlog.max_batch_events.")));

		line = pnstrdup(start, linelen);
		errcb.callback = NdjsonErrorCallback;
		errcb.arg = &lc;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(line)));
		error_context_stack = errcb.previous;

		if (JB_ROOT_IS_SCALAR(jb) || !JB_ROOT_IS_OBJECT(jb))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("line %d: not a JSON object", lc.line)));
		EvValidateEvent(&jb->root, lc.line, &opts);

		v.type = jbvBinary;
		v.val.binary.data = &jb->root;
		v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
		(void) pushJsonbValue(&state, WJB_ELEM, &v);
	}
	res = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	if (events == 0)
		return 0;
	return EvInsertJsonbArray(logrelid, JsonbPGetDatum(JsonbValueToJsonb(res)), &stats);
}

/* copy_in(log regclass, data bytea, format text DEFAULT 'text') RETURNS bigint */
Datum
ev_copy_in(PG_FUNCTION_ARGS)
{
	Oid			logrelid;
	bytea	   *data;
	char	   *format;
	uint64		n;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("log, data and format must not be null")));
	logrelid = PG_GETARG_OID(0);
	data = PG_GETARG_BYTEA_PP(1);
	format = text_to_cstring(PG_GETARG_TEXT_PP(2));

	if (strcmp(format, "text") != 0 && strcmp(format, "csv") != 0 &&
		strcmp(format, "binary") != 0 && strcmp(format, "ndjson") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown copy_in format \"%s\"", format),
				 errhint("The formats are text, csv, binary and ndjson.")));

	EvCheckLogAndInsertPriv(logrelid);
	EvRequireLog(logrelid);

	if (strcmp(format, "ndjson") == 0)
		n = IngestNdjson(logrelid, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data));
	else
		n = CopyBuffer(logrelid, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), format,
					   EvBoundTenant());
	PG_RETURN_INT64((int64) n);
}
