/*
 * Log lifecycle entry points: create_log, drop_log, run_maintenance, and the
 * rescue of rows that landed in a default partition.
 *
 * Each entry point checks the caller (membership in eventlog_admin, schema
 * privileges), then runs an internal plpgsql body (eventlog._create_log and
 * friends) as the eventlog_admin role, which owns every log. Paths that remove
 * or move stored events (drop_log, retention, rescue) run inside
 * EvBypassBegin()/EvBypassEnd(), the only way past the append-only rule.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "ev.h"

PG_FUNCTION_INFO_V1(ev_create_log);
PG_FUNCTION_INFO_V1(ev_drop_log);
PG_FUNCTION_INFO_V1(ev_run_maintenance);
PG_FUNCTION_INFO_V1(ev_forget);
PG_FUNCTION_INFO_V1(ev_forget_tenant);
PG_FUNCTION_INFO_V1(ev_restore);

#define ADMIN_ROLE "eventlog_admin"

/* The OID of the eventlog_admin role. */
Oid
EvAdminRoleOid(void)
{
	return get_role_oid(ADMIN_ROLE, false);
}

/* Whether the current user is a superuser or has the privileges of eventlog_admin. */
bool
EvCallerIsAdmin(void)
{
	return superuser() || has_privs_of_role(GetUserId(), EvAdminRoleOid());
}

/* Raises 42501 unless the caller is eventlog_admin. */
void
EvRequireAdmin(const char *what)
{
	if (!EvCallerIsAdmin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", what),
				 errdetail("Only roles with the privileges of %s may %s.", ADMIN_ROLE, what)));
}

/*
 * Runs sql (with its arguments) as eventlog_admin inside SPI, optionally with
 * the append-only bypass. Returns SPI's code; SPI_tuptable stays valid until
 * the caller's SPI_finish().
 */
static int
RunAsAdmin(const char *sql, int nargs, Oid *argtypes, Datum *values, const char *nulls,
		   bool bypass, bool read_only)
{
	Oid			save_userid;
	int			save_sec;
	volatile int rc = 0;

	/*
	 * pg_partman sets search_path with set_config(..., false), which outlives
	 * the SET clause of our internal functions: put the caller's back.
	 */
	char	   *save_path = pstrdup(namespace_search_path);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(EvAdminRoleOid(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	if (bypass)
		EvBypassBegin();
	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, read_only, 0);
	}
	PG_FINALLY();
	{
		if (bypass)
			EvBypassEnd();
	}
	PG_END_TRY();
	SetUserIdAndSecContext(save_userid, save_sec);
	/* unconditionally: their SET may only take effect when the transaction commits */
	(void) set_config_option("search_path", save_path, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SET, true, 0, false);
	return rc;
}

/* Moves rows out of the default partitions of a log into partitions made for them. */
void
EvRescueDefaults(Oid logrelid)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1];
	int			rc;

	values[0] = ObjectIdGetDatum(logrelid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = RunAsAdmin("SELECT eventlog._rescue_defaults($1)", 1, argtypes, values, NULL, true, false);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not move rows out of default partitions: %s", SPI_result_code_string(rc));
	SPI_finish();
}

/* Raises an error unless the argument is positive and finite. */
static void
CheckPositiveInterval(Interval *iv, const char *name)
{
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(iv->month == 0 && iv->day == 0 && iv->time < USECS_PER_MINUTE))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at least 1 minute", name)));
}

/*
 * create_log(name text, partition_interval interval, tenant_buckets int,
 * retention interval, premake int) RETURNS regclass
 */
Datum
ev_create_log(PG_FUNCTION_ARGS)
{
	char	   *name;
	List	   *names;
	RangeVar   *rv;
	Oid			nsp;
	AclResult	acl;
	Interval   *interval;
	int32		buckets;
	int32		premake;
	Oid			argtypes[6] = {TEXTOID, TEXTOID, INTERVALOID, INT4OID, INTERVALOID, INT4OID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;
	bool		isnull;
	Oid			result;

	EvRequireAdmin("create event logs");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name, partition_interval, tenant_buckets and premake must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	interval = PG_GETARG_INTERVAL_P(1);
	buckets = PG_GETARG_INT32(2);
	premake = PG_GETARG_INT32(4);

	CheckPositiveInterval(interval, "partition_interval");
	if (!PG_ARGISNULL(3))
		CheckPositiveInterval(PG_GETARG_INTERVAL_P(3), "retention");
	if (buckets < 1 || buckets > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tenant_buckets must be between 1 and 1024: %d", buckets)));
	if (premake < 1 || premake > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("premake must be between 1 and 1000: %d", premake)));

	names = stringToQualifiedNameList(name);
	rv = makeRangeVarFromNameList(names);
	if (strlen(rv->relname) > 40)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("log name \"%s\" is too long: %zu bytes", rv->relname, strlen(rv->relname)),
				 errdetail("Partition names add up to 23 bytes to it; the limit is 40 bytes.")));
	if (strchr(rv->relname, '.') || (rv->schemaname && strchr(rv->schemaname, '.')))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("log name \"%s\" must not contain a dot inside a schema or table name", name)));
	nsp = RangeVarGetCreationNamespace(rv);
	if (isTempNamespace(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a log cannot be a temporary table")));
	acl = pg_namespace_aclcheck(nsp, GetUserId(), ACL_CREATE);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_SCHEMA, get_namespace_name(nsp));
	acl = pg_namespace_aclcheck(nsp, EvAdminRoleOid(), ACL_CREATE);
	if (acl != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role %s has no CREATE privilege on schema %s", ADMIN_ROLE,
						get_namespace_name(nsp)),
				 errdetail("Logs and their partitions are owned by %s.", ADMIN_ROLE),
				 errhint("GRANT CREATE, USAGE ON SCHEMA %s TO %s;",
						 quote_identifier(get_namespace_name(nsp)), ADMIN_ROLE)));

	values[0] = CStringGetTextDatum(get_namespace_name(nsp));
	values[1] = CStringGetTextDatum(rv->relname);
	values[2] = IntervalPGetDatum(interval);
	values[3] = Int32GetDatum(buckets);
	values[4] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	nulls[4] = PG_ARGISNULL(3) ? 'n' : ' ';
	values[5] = Int32GetDatum(premake);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = RunAsAdmin("SELECT eventlog._create_log($1, $2, $3, $4, $5, $6)",
					6, argtypes, values, nulls, false, false);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "create_log failed: %s", SPI_result_code_string(rc));
	result = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_OID(result);
}

/* drop_log(log regclass) RETURNS void */
Datum
ev_drop_log(PG_FUNCTION_ARGS)
{
	Oid			logrelid = PG_GETARG_OID(0);
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1];
	int			rc;

	EvRequireAdmin("drop event logs");
	EvRequireLog(logrelid);
	values[0] = ObjectIdGetDatum(logrelid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = RunAsAdmin("SELECT eventlog._drop_log($1)", 1, argtypes, values, NULL, true, false);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "drop_log failed: %s", SPI_result_code_string(rc));
	SPI_finish();
	PG_RETURN_VOID();
}

/* run_maintenance(log regclass DEFAULT NULL) RETURNS TABLE(...): one row per log. */
Datum
ev_run_maintenance(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1];
	char		nulls[1] = {' '};
	int			rc;

	EvRequireAdmin("run log maintenance");
	if (!PG_ARGISNULL(0))
		EvRequireLog(PG_GETARG_OID(0));
	values[0] = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	nulls[0] = PG_ARGISNULL(0) ? 'n' : ' ';

	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = RunAsAdmin("SELECT * FROM eventlog._run_maintenance($1)", 1, argtypes, values, nulls,
					true, false);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "run_maintenance failed: %s", SPI_result_code_string(rc));
	for (uint64 i = 0; i < SPI_processed; i++)
		tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
	SPI_finish();
	return (Datum) 0;
}

/*
 * Appends the tombstone and redacts a first batch, as eventlog_admin with the
 * append-only bypass; subject NULL forgets the whole tenant.
 */
static int64
Forget(FunctionCallInfo fcinfo, bool whole_tenant)
{
	Oid			argtypes[6] = {REGCLASSOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			reason_arg = whole_tenant ? 2 : 3;
	bool		isnull;
	int64		n;
	int			rc;

	EvRequireAdmin("forget events");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || (!whole_tenant && PG_ARGISNULL(2)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg(whole_tenant ? "log and tenant_id must not be null"
						: "log, tenant_id and subject must not be null"),
				 whole_tenant ? 0 : errhint("Use eventlog.forget_tenant() to forget every event of a tenant.")));
	if (PG_ARGISNULL(reason_arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("reason must not be null"),
				 errdetail("The tombstone records why the events were erased.")));
	EvRequireLog(PG_GETARG_OID(0));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	if (whole_tenant)
		nulls[2] = 'n';
	else
		values[2] = PG_GETARG_DATUM(2);
	values[3] = PG_GETARG_DATUM(reason_arg);
	/* who asked: the current role, before RunAsAdmin switches it */
	values[4] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	values[5] = Int32GetDatum(ev_redact_batch);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = RunAsAdmin("SELECT eventlog._forget($1, $2, $3, $4, $5, $6)", 6, argtypes, values, nulls,
					true, false);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "forget failed: %s", SPI_result_code_string(rc));
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return n;
}

/* forget(log regclass, tenant_id text, subject text, reason text) RETURNS bigint */
Datum
ev_forget(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(Forget(fcinfo, false));
}

/* forget_tenant(log regclass, tenant_id text, reason text) RETURNS bigint */
Datum
ev_forget_tenant(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(Forget(fcinfo, true));
}

/* restore(log regclass, from_ts timestamptz, to_ts timestamptz) RETURNS bigint */
Datum
ev_restore(PG_FUNCTION_ARGS)
{
	Oid			argtypes[3] = {REGCLASSOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		isnull;
	int64		n;
	int			rc;

	EvRequireAdmin("restore archived partitions");
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("log must not be null")));
	EvRequireLog(PG_GETARG_OID(0));
	for (int i = 0; i < 3; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = RunAsAdmin("SELECT eventlog._restore($1, $2, $3)", 3, argtypes, values, nulls, true, false);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "restore failed: %s", SPI_result_code_string(rc));
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_INT64(n);
}
