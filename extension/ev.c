/* pg_eventlog module entry: PG_MODULE_MAGIC, _PG_init and GUC definitions, nothing else. */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "compat.h"
#include "ev.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			ev_max_batch_events = 100000;
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

	MarkGUCPrefixReserved("eventlog");
}
