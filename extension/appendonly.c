/*
 * The append-only rule: triggers and an event trigger that refuse every change
 * to stored events, for every role, on a log and on all of its partitions.
 *
 * Three layers, each cheap on the INSERT/COPY path:
 *  - refuse_change(): a BEFORE UPDATE OR DELETE row trigger on the log's root
 *    (PostgreSQL clones row triggers onto every partition, including those that
 *    maintenance creates later), and a BEFORE UPDATE/DELETE/TRUNCATE statement
 *    trigger on the root and on each partition (statement triggers are not
 *    cloned, so the ddl_command_end event trigger adds them to new partitions).
 *    They are ENABLE ALWAYS, so session_replication_role does not skip them.
 *    Neither fires on INSERT, and neither stops COPY from batching rows.
 *  - ddl_guard(): a ddl_command_start event trigger that refuses DROP TABLE,
 *    DETACH PARTITION, DISABLE TRIGGER and the other ways of removing events
 *    or the protection itself.
 *  - note_default_row(): an AFTER INSERT row trigger on default partitions
 *    only, so the ingest functions learn that rows missed their time partition
 *    and move them into one before they return.
 *
 * The extension's own maintenance (retention, moving rows out of a default
 * partition, drop_log, and later forget) passes through these checks by
 * calling EvBypassBegin()/EvBypassEnd() around its work. The flag is a C
 * variable of this backend: no SQL statement or setting can raise it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "ev.h"

PG_FUNCTION_INFO_V1(ev_refuse_change);
PG_FUNCTION_INFO_V1(ev_note_default_row);
PG_FUNCTION_INFO_V1(ev_ddl_guard);
PG_FUNCTION_INFO_V1(ev_bypass_active);

static int	bypass_depth = 0;
static bool default_rows_noted = false;
static bool xact_callback_registered = false;

/* Resets the bypass when a transaction ends, whatever path it took. */
static void
ResetAtXactEnd(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
	{
		bypass_depth = 0;
		default_rows_noted = false;
	}
}

/* Lets the extension's own maintenance change stored events until EvBypassEnd(). */
void
EvBypassBegin(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(ResetAtXactEnd, NULL);
		xact_callback_registered = true;
	}
	bypass_depth++;
}

/* Ends one EvBypassBegin(). */
void
EvBypassEnd(void)
{
	if (bypass_depth > 0)
		bypass_depth--;
}

/* True while the extension's own maintenance runs in this backend. */
bool
EvBypassActive(void)
{
	return bypass_depth > 0;
}

/* Returns and clears the "a row went to a default partition" flag. */
bool
EvTakeDefaultRowsNoted(void)
{
	bool		noted = default_rows_noted;

	default_rows_noted = false;
	return noted;
}

/* The top-most ancestor of a relation (itself when it is not a partition). */
static Oid
TopAncestor(Oid relid)
{
	if (get_rel_relispartition(relid))
	{
		List	   *ancestors = get_partition_ancestors(relid);

		if (ancestors != NIL)
			return llast_oid(ancestors);
	}
	return relid;
}

/*
 * Whether relid is a log registered in eventlog.log_config. The guard runs for
 * every user's DDL, most of whom have no rights on schema eventlog, so this
 * fixed lookup runs as the bootstrap superuser (a transaction abort restores
 * the caller's identity if it fails).
 */
static bool
IsRegisteredLog(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	bool		found;
	Oid			save_userid;
	int			save_sec;

	values[0] = ObjectIdGetDatum(relid);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM eventlog.log_config WHERE log = $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read eventlog.log_config");
	found = SPI_processed > 0;
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);
	return found;
}

/* The registered log that relid belongs to (itself or an ancestor), or InvalidOid. */
static Oid
LogOfRelation(Oid relid)
{
	Oid			top;

	if (!OidIsValid(relid))
		return InvalidOid;
	top = TopAncestor(relid);
	return IsRegisteredLog(top) ? top : InvalidOid;
}

/* Raises LG001 for an attempt to change the stored events of a log. */
static void
RefuseChange(Oid logrelid, const char *action)
{
	char	   *logname = logrelid != InvalidOid ?
		quote_qualified_identifier(get_namespace_name(get_rel_namespace(logrelid)),
								   get_rel_name(logrelid)) : "?";

	ereport(ERROR,
			(errcode(ERRCODE_EV_APPEND_ONLY),
			 errmsg("cannot %s log %s: logs are append-only", action, logname),
			 errdetail("Stored events are never updated or deleted, by any role."),
			 errhint("Use eventlog.forget() to erase a subject's events, eventlog.set_retention() "
					 "to age out old partitions, or eventlog.drop_log() to remove the log.")));
}

/* Trigger: refuses UPDATE, DELETE and TRUNCATE (row or statement level) with LG001. */
Datum
ev_refuse_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *action;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "refuse_change: not called by trigger manager");

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		action = "update";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		action = "delete from";
	else if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		action = "truncate";
	else
		return PointerGetDatum(NULL);	/* INSERT: never attached for it */

	if (EvBypassActive())
	{
		if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
			return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
								   trigdata->tg_newtuple : trigdata->tg_trigtuple);
		return PointerGetDatum(NULL);
	}

	/* The top ancestor names the log; no catalog query needed to refuse. */
	RefuseChange(TopAncestor(RelationGetRelid(trigdata->tg_relation)), action);
	return PointerGetDatum(NULL);
}

/* Trigger on default partitions: notes that a row missed its time partition. */
Datum
ev_note_default_row(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "note_default_row: not called by trigger manager");
	default_rows_noted = true;
	return PointerGetDatum(NULL);
}

/* SQL-callable: whether the extension's maintenance is running in this backend. */
Datum
ev_bypass_active(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(EvBypassActive());
}

/* The relation named by a qualified name list, or InvalidOid. */
static Oid
RelidFromNameList(List *names)
{
	RangeVar   *rv = makeRangeVarFromNameList(names);

	return RangeVarGetRelid(rv, NoLock, true);
}

/* Whether an ALTER TABLE subcommand would remove events or the protection. */
static const char *
ForbiddenAlterAction(AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_DetachPartition:
		case AT_DetachPartitionFinalize:
			return "detach a partition of";
		case AT_DropInherit:
			return "remove inheritance from";
		case AT_DisableTrig:
		case AT_DisableTrigAll:
		case AT_DisableTrigUser:
		case AT_EnableReplicaTrig:
		case AT_EnableTrig:		/* ENABLE (origin only) would let replica mode skip it */
		case AT_EnableTrigAll:
		case AT_EnableTrigUser:
			return "change the triggers of";
		case AT_DropColumn:
			return "drop a column of";
		case AT_AlterColumnType:
			return "change a column type of";
		case AT_SetUnLogged:
			return "make unlogged";
		default:
			return NULL;
	}
}

/* Event trigger (ddl_command_start): refuses DDL that would drop or alter stored events. */
Datum
ev_ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Node	   *parsetree;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "ddl_guard: not fired by event trigger manager");
	if (EvBypassActive())
		PG_RETURN_VOID();

	trigdata = (EventTriggerData *) fcinfo->context;
	parsetree = trigdata->parsetree;

	if (IsA(parsetree, DropStmt))
	{
		DropStmt   *stmt = (DropStmt *) parsetree;
		ListCell   *lc;

		if (stmt->removeType == OBJECT_TABLE)
		{
			foreach(lc, stmt->objects)
			{
				Oid			log = LogOfRelation(RelidFromNameList((List *) lfirst(lc)));

				if (OidIsValid(log))
					RefuseChange(log, "drop a table of");
			}
		}
		else if (stmt->removeType == OBJECT_TRIGGER)
		{
			foreach(lc, stmt->objects)
			{
				List	   *names = (List *) lfirst(lc);
				char	   *tgname = strVal(llast(names));
				Oid			log;

				if (strncmp(tgname, "eventlog_", 9) != 0)
					continue;
				log = LogOfRelation(RelidFromNameList(list_truncate(list_copy(names),
																	list_length(names) - 1)));
				if (OidIsValid(log))
					RefuseChange(log, "drop the triggers of");
			}
		}
	}
	else if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
		ListCell   *lc;
		const char *forbidden = NULL;

		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

			/* ENABLE ALWAYS is how the extension protects partitions: allowed. */
			if ((forbidden = ForbiddenAlterAction(cmd)) != NULL)
				break;
		}
		if (forbidden != NULL)
		{
			Oid			log = LogOfRelation(RangeVarGetRelid(stmt->relation, NoLock, true));

			if (OidIsValid(log))
				RefuseChange(log, forbidden);
		}
	}
	PG_RETURN_VOID();
}
