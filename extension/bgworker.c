/*
 * Maintenance scheduler: background workers that call
 * eventlog.run_maintenance() every eventlog.maintenance_interval seconds.
 *
 * They play the part of pg_partman's own background worker, which stays off
 * for logs: retention drops partitions, and only the extension's maintenance
 * path may do that past the append-only guard. Active only when pg_eventlog is
 * in shared_preload_libraries: one worker per database named in
 * eventlog.maintenance_databases (read at server start, as pg_cron reads
 * cron.database_name), each looping on its latch. The interval and the role
 * are reloadable. A failing round is logged and retried at the next interval;
 * a database without the extension is skipped quietly.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "ev.h"

PGDLLEXPORT void ev_maintenance_worker(Datum main_arg);

int			ev_maintenance_interval = 600;
char	   *ev_maintenance_databases = NULL;
char	   *ev_maintenance_role = NULL;

/* Registers one maintenance worker per configured database; from _PG_init at preload. */
void
EvRegisterMaintenanceWorkers(void)
{
	char	   *rawlist = pstrdup(ev_maintenance_databases ? ev_maintenance_databases : "");
	List	   *dbs = NIL;
	ListCell   *lc;

	if (!SplitIdentifierString(rawlist, ',', &dbs))
	{
		ereport(WARNING,
				(errmsg("pg_eventlog: invalid eventlog.maintenance_databases: \"%s\"",
						ev_maintenance_databases),
				 errdetail("No maintenance worker was started.")));
		return;
	}
	foreach(lc, dbs)
	{
		const char *dbname = (const char *) lfirst(lc);
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = 60;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_eventlog");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "ev_maintenance_worker");
		snprintf(worker.bgw_name, BGW_MAXLEN, "pg_eventlog maintenance of %s", dbname);
		snprintf(worker.bgw_type, BGW_MAXLEN, "pg_eventlog maintenance");
		strlcpy(worker.bgw_extra, dbname, BGW_EXTRALEN);
		RegisterBackgroundWorker(&worker);
	}
}

/* One round: run_maintenance() in its own transaction; errors are logged, not fatal. */
static void
MaintenanceRound(const char *dbname)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		int			rc;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "SELECT eventlog.run_maintenance()");
		rc = SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_eventlog'",
						 true, 1);
		if (rc == SPI_OK_SELECT && SPI_processed == 1)
		{
			rc = SPI_execute("SELECT count(*) FROM eventlog.run_maintenance()", false, 0);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "eventlog.run_maintenance() failed: %s", SPI_result_code_string(rc));
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(LOG,
				(errmsg("pg_eventlog: maintenance of database \"%s\" failed: %s",
						dbname, edata->message),
				 errdetail("It is retried in %d seconds.", ev_maintenance_interval)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Worker main loop: a round every maintenance_interval seconds until shutdown. */
void
ev_maintenance_worker(Datum main_arg)
{
	char		dbname[BGW_EXTRALEN];

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, BGW_EXTRALEN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* NULL role: the bootstrap superuser */
	BackgroundWorkerInitializeConnection(dbname,
										 (ev_maintenance_role && ev_maintenance_role[0]) ?
										 ev_maintenance_role : NULL, 0);
	ereport(LOG, (errmsg("pg_eventlog maintenance worker started for database \"%s\"", dbname)));

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MaintenanceRound(dbname);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) ev_maintenance_interval * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
