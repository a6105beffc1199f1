/* pg_eventlog module entry: PG_MODULE_MAGIC, _PG_init and GUC definitions, nothing else. */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "compat.h"
#include "ev.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			ev_max_batch_events = 100000;
int			ev_redact_batch = 50000;
static char *ev_tenant = NULL;

/* Defines the extension's settings. */
void
_PG_init(void)
{
	DefineCustomStringVariable("eventlog.tenant",
							   "Restricts this session to one tenant's events.",
							   "Readers see only this tenant's rows (row-level security); "
							   "writers that are not eventlog_admin may only write this tenant.",
							   &ev_tenant,
							   NULL,
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("eventlog.max_batch_events",
							"Largest number of events one ingest() or copy_in() call accepts.",
							NULL,
							&ev_max_batch_events,
							100000, 1, INT_MAX / 2,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("eventlog.redact_batch",
							"Most events that one forget() or one run_maintenance() redacts per log.",
							"The rest of a large erasure is redacted by the next runs; its events "
							"are hidden from the read functions at once all the same.",
							&ev_redact_batch,
							50000, 1, INT_MAX / 2,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("eventlog.maintenance_interval",
							"Seconds between runs of eventlog.run_maintenance() by the background worker.",
							"Needs pg_eventlog in shared_preload_libraries.",
							&ev_maintenance_interval,
							600, 1, 7 * 24 * 3600,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	/*
	 * Read once, when the server starts the workers. Not PGC_POSTMASTER:
	 * that context can only be defined during shared_preload_libraries, and
	 * the library is also loaded on first use in sessions of servers that
	 * do not preload it.
	 */
	DefineCustomStringVariable("eventlog.maintenance_databases",
							   "Comma-separated databases in which the background worker runs maintenance.",
							   "Read at server start; empty: no background worker.",
							   &ev_maintenance_databases,
							   "",
							   PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("eventlog.maintenance_role",
							   "Role the background worker runs maintenance as (empty: bootstrap superuser).",
							   NULL,
							   &ev_maintenance_role,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("eventlog.archive_root",
							   "Directory inside which the archive_dir of every log must lie.",
							   "Archive files are written and read by the server's OS user; empty: no archiving.",
							   &ev_archive_root,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("eventlog");

	if (process_shared_preload_libraries_in_progress)
		EvRegisterMaintenanceWorkers();
}
