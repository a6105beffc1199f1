#!/usr/bin/env bash
# The maintenance background worker, end to end: with pg_eventlog preloaded and a
# database named in eventlog.maintenance_databases, rows that a plain INSERT put
# into default partitions are moved into time partitions made for them, and each
# round is recorded in eventlog.maintenance_runs, without anyone calling
# eventlog.run_maintenance().
set -euo pipefail
cd "$(dirname "$0")/../.."
PGCLUSTER=${PGCLUSTER:-scripts/pgcluster.sh}
dir=$(mktemp -d "${E2E_TMPDIR:-/tmp}/bgw.XXXXXX")
cleanup() { "$PGCLUSTER" stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT

fail=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; fail=1; }

eval "$("$PGCLUSTER" start "$dir")"
q() { psql -X -v ON_ERROR_STOP=1 -qAt -d eventlog_bgw "$@"; }

psql -X -qAt -d postgres -c "CREATE DATABASE eventlog_bgw"
q <<'SQL'
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE EXTENSION pg_eventlog;
CREATE SCHEMA t;
GRANT CREATE, USAGE ON SCHEMA t TO eventlog_admin;
SELECT eventlog.create_log('t.log', '1 hour', 2, NULL, 1) IS NOT NULL AS created \g /dev/null
-- Historic rows through a plain INSERT (not through ingest, which would move
-- them itself): they land in the default partitions.
INSERT INTO t.log (tenant_id, event_type, payload, received_at)
SELECT 'tenant' || i, 'old.event', jsonb_build_object('i', i), timestamptz '2025-03-01 10:00+00' + i * interval '1 day'
  FROM generate_series(1, 3) i;
SQL

in_default() { q -c "SELECT coalesce(sum(rows), 0) FROM eventlog.partitions('t.log') WHERE is_default"; }
[ "$(in_default)" = 3 ] && ok "3 historic rows wait in default partitions" || notok "expected 3 rows in default partitions, got $(in_default)"
[ "$(q -c 'SELECT count(*) FROM eventlog.maintenance_runs')" = 0 ] && ok "no maintenance has run yet" || notok "maintenance ran before the worker was configured"

# eventlog.maintenance_databases is read at server start.
q -c "ALTER SYSTEM SET eventlog.maintenance_databases = 'eventlog_bgw'"
q -c "ALTER SYSTEM SET eventlog.maintenance_interval = '1s'"
"$PGCLUSTER" stop "$dir" >/dev/null
eval "$("$PGCLUSTER" start "$dir")"

moved=no
for _ in $(seq 1 60); do
	if [ "$(in_default)" = 0 ] && [ "$(q -c 'SELECT count(*) FROM eventlog.maintenance_runs')" -gt 0 ]; then
		moved=yes
		break
	fi
	sleep 1
done
[ $moved = yes ] && ok "the worker moved every row out of the default partitions" || notok "rows still in default partitions after 60 s: $(in_default)"
[ "$(q -c 'SELECT count(*) FROM t.log')" = 3 ] && ok "no row lost or duplicated by the move" || notok "row count changed: $(q -c 'SELECT count(*) FROM t.log')"
n=$(q -c "SELECT count(DISTINCT range_from) FROM eventlog.partitions('t.log') WHERE range_from IN ('2025-03-02 10:00+00', '2025-03-03 10:00+00', '2025-03-04 10:00+00') AND rows = 1")
[ "$n" = 3 ] && ok "each historic row sits in an hourly partition made for it" || notok "expected 3 hourly partitions holding the rows, got $n"
q -c "SELECT sum(rows_moved) FROM eventlog.maintenance_runs" | grep -qx 3 && ok "maintenance_runs records the 3 moved rows" || notok "maintenance_runs rows_moved: $(q -c 'SELECT sum(rows_moved) FROM eventlog.maintenance_runs')"
grep -q 'pg_eventlog maintenance worker started for database "eventlog_bgw"' "$dir/log" && ok "server log names the worker's database" || notok "no worker start line in the server log"

# The append-only rule still holds for everyone else after maintenance.
if q -c "DELETE FROM t.log" 2>"$dir/err"; then notok "DELETE succeeded"; else grep -q 'append-only' "$dir/err" && ok "DELETE still refused (LG001)" || notok "unexpected error: $(cat "$dir/err")"; fi

exit $fail
