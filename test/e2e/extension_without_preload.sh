#!/usr/bin/env bash
# pg_eventlog works in a server that does not preload it: the library is then
# loaded on first use, and must define no setting that only preloading allows
# (regression: "cannot create PGC_POSTMASTER variables after startup").
set -euo pipefail
cd "$(dirname "$0")/../.."
PGCLUSTER=${PGCLUSTER:-scripts/pgcluster.sh}
dir=$(mktemp -d "${E2E_TMPDIR:-/tmp}/nopreload.XXXXXX")
cleanup() { "$PGCLUSTER" stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT

fail=0
check() { if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected '$3', got '$2'"; fail=1; fi; }

eval "$(PGC_PRELOAD=0 "$PGCLUSTER" start "$dir")"
q() { psql -X -qAt -v ON_ERROR_STOP=1 "$@"; }

check "the server does not preload pg_eventlog" "$(q -c 'SHOW shared_preload_libraries')" ""
q -c "CREATE SCHEMA partman" -c "CREATE EXTENSION pg_partman SCHEMA partman" -c "CREATE EXTENSION pg_eventlog"
check "CREATE EXTENSION works" "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_eventlog'")" "0.1.0"
q -c "GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin" -c "SELECT eventlog.create_log('np', '1 hour', 2) IS NOT NULL" >/dev/null
check "a new session creates a log and ingests" \
	"$(q -c "SELECT eventlog.ingest('np', '[{\"tenant_id\": \"a\", \"event_type\": \"t\", \"payload\": {}}]')")" "1"
check "the settings are known after the library loads" \
	"$(q -c "SELECT eventlog.uuidv7() IS NOT NULL" -c "SHOW eventlog.maintenance_interval")" "$(printf 't\n10min')"
exit $fail
