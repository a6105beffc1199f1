/*
 * copy_in(log, data bytea, format): PostgreSQL's COPY FROM machinery over an
 * in-memory buffer (text, csv, binary), plus ndjson, which goes through the
 * same validation and insert as ingest().
 *
 * The caller's INSERT privilege is checked as the caller; the COPY itself runs
 * as the log's owner, because COPY FROM refuses tables with row-level security
 * for everyone else. copy_in does no dedup: it is the raw bulk path.
 */
#include "postgres.h"

#include "access/table.h"
#include "commands/copy.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ev.h"

PG_FUNCTION_INFO_V1(ev_copy_in);

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

/*
 * If the first line of csv data is a header naming envelope columns, returns
 * them as a column list; otherwise NIL (rows then carry all nine columns).
 */
static List *
CsvHeaderColumns(const char *data, size_t len)
{
	const char *eol = memchr(data, '\n', len);
	size_t		linelen = eol ? (size_t) (eol - data) : len;
	char	   *line = pnstrdup(data, linelen);
	List	   *cols = NIL;
	char	   *tok;
	char	   *save;

	if (linelen > 0 && line[linelen - 1] == '\r')
		line[linelen - 1] = '\0';
	for (tok = strtok_r(line, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
	{
		size_t		tlen;

		while (*tok == ' ')
			tok++;
		tlen = strlen(tok);
		while (tlen > 0 && tok[tlen - 1] == ' ')
			tok[--tlen] = '\0';
		if (tlen >= 2 && tok[0] == '"' && tok[tlen - 1] == '"')
		{
			tok[tlen - 1] = '\0';
			tok++;
		}
		if (!IsEnvelopeColumn(tok))
			return NIL;
		cols = lappend(cols, makeString(pstrdup(tok)));
	}
	return cols;
}

/* Runs COPY FROM over data into the log as its owner; returns rows copied. */
static uint64
CopyBuffer(Oid logrelid, const char *data, size_t len, const char *format)
{
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
	if (strcmp(format, "csv") == 0)
	{
		attnames = CsvHeaderColumns(data, len);
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

	source_data = data;
	source_len = len;
	source_pos = 0;

	/* An error leaves the source pointing at stale data; the next call resets it. */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(EvLogOwner(logrelid), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	(void) EvTakeDefaultRowsNoted();
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, CopyFromSource, attnames, options);
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
	EvValidateOpts opts = {"line", true, NULL};
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
	return EvInsertJsonbArray(logrelid, JsonbPGetDatum(JsonbValueToJsonb(res)));
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
		n = CopyBuffer(logrelid, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), format);
	PG_RETURN_INT64((int64) n);
}
