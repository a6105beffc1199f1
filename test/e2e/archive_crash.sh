#!/bin/bash
# kill -9 of the backend in the middle of archiving (issue 4): run_maintenance()
# exports old partitions to archive files while the test kills its backend at a
# random moment, several times; PostgreSQL recovers; then every event is either
# still in the table or in an archive file recorded in eventlog.archives, never
# both, never neither; a last run completes, and restore() brings back every
# event byte-equal (a digest of all columns). Ends with "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=$($PG_CONFIG --bindir)
PGPORT=${E2E_PGPORT:-55443}
KILLS=${KILLS:-3}
WORK=$(mktemp -d /tmp/archive-crash.XXXXXX)
chmod 777 "$WORK"
SOCK=$WORK/pgsock
mkdir -p "$SOCK" && chmod 777 "$SOCK"
pass=0
fail=0

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PSQL="psql -X -q -h $SOCK -p $PGPORT -U postgres -d ev -v ON_ERROR_STOP=1"
sql() { $PSQL -Atc "$1"; }
ok() { echo "ok $((pass + fail + 1)) - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok $((pass + fail + 1)) - $1"; echo "#   $2"; fail=$((fail + 1)); }
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', expected '$3'"; fi; }
ready() {
	for _ in $(seq 1 100); do
		$PSQL -Atc "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
cleanup() {
	as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
	[ -z "${E2E_KEEP:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT

# Rows in the table plus rows recorded as archived (and not restored): the events
# that exist. Must always equal the events loaded.
accounted() {
	sql "SELECT (SELECT count(*) FROM audit) + (SELECT coalesce(sum(rows), 0) FROM eventlog.archives
	                                            WHERE log = 'audit'::regclass AND restored_at IS NULL)"
}

echo "# work dir $WORK"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -A trust -U postgres >/dev/null || exit 1
mkdir -p "$WORK/archive" && chown postgres "$WORK/archive" 2>/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -w -l "$WORK/pg.log" \
	-o "-p $PGPORT -k $SOCK -c listen_addresses='' -c shared_preload_libraries=pg_eventlog -c eventlog.archive_root=$WORK/archive" \
	start >/dev/null || { cat "$WORK/pg.log"; exit 1; }
psql -X -q -h "$SOCK" -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE ev" || exit 1
$PSQL >/dev/null <<SQL || exit 1
CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman; CREATE EXTENSION pg_eventlog;
GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;
SELECT eventlog.create_log('audit', tenant_buckets => 4);
-- 12 days of 2024, 150,000 events: archiving them takes a few seconds.
INSERT INTO audit (tenant_id, event_type, subject, received_at, payload, metadata)
SELECT 't' || (i % 9), 'e', 's' || (i % 97), timestamptz '2024-03-01 00:00:00+00' + i * interval '6 seconds',
       jsonb_build_object('i', i, 'pad', md5(i::text)), jsonb_build_object('ip', i % 250)
  FROM generate_series(1, 150000) i;
SELECT count(*) FROM eventlog.run_maintenance('audit');
SQL
total=$(sql "SELECT count(*) FROM audit")
digest=$(sql "SELECT md5(string_agg(a::text, ',' ORDER BY event_id)) FROM audit a")
expect_eq "loaded" "$total" 150000
# Seal and compact first, so that the runs killed below spend their time archiving.
sql "SELECT eventlog.set_tiering('audit', '2 days')" >/dev/null
sql "SELECT count(*) FROM eventlog.run_maintenance('audit')" >/dev/null
sql "SELECT eventlog.set_tiering('audit', '2 days', '30 days', archive_dir => '$WORK/archive')" >/dev/null

for k in $(seq 1 "$KILLS"); do
	$PSQL -c "SELECT count(*) FROM eventlog.run_maintenance('audit')" >/dev/null 2>"$WORK/maint.$k.err" &
	mpid=$!
	sleep "$(awk -v k="$k" 'BEGIN { srand(k * 7919); printf "%.2f", 0.1 + rand() * 0.9 }')"
	pid=$(sql "SELECT pid FROM pg_stat_activity WHERE query LIKE '%run_maintenance(''audit'')%' AND pid <> pg_backend_pid()" 2>/dev/null)
	if [ -n "$pid" ]; then
		kill -9 "$pid"
		wait "$mpid" 2>/dev/null
		echo "# kill $k: files left by the killed run: $(find "$WORK/archive" -name '*.tmp' | wc -l) half-written (.tmp), $(find "$WORK/archive" -name '*.ndjson.gz' | wc -l) complete but not recorded"
		ready || { not_ok "recovery after kill $k" "server did not come back"; break; }
		expect_eq "kill $k of the archiving backend: every event in the table or in an archive, once" "$(accounted)" "$total"
	else
		wait "$mpid" 2>/dev/null
		echo "# kill $k: maintenance had already finished"
	fi
done
# Leftover .tmp files of killed runs are written over by the next run.
sql "SELECT count(*) FROM eventlog.run_maintenance('audit')" >/dev/null || not_ok "maintenance after the kills" "failed"
sql "SELECT count(*) FROM eventlog.run_maintenance('audit')" >/dev/null
expect_eq "after the kills: every old partition archived" "$(sql "SELECT count(*) FROM audit")" 0
expect_eq "after the kills: accounted" "$(accounted)" "$total"
files=$(find "$WORK/archive" -name '*.ndjson.gz' | wc -l)
expect_eq "one file per archived partition" "$files" "$(sql "SELECT count(*) FROM eventlog.archives WHERE restored_at IS NULL")"
expect_eq "restore: every event back" "$(sql "SELECT eventlog.restore('audit', '-infinity', 'infinity')")" "$total"
expect_eq "restore: byte-equal (digest of every column)" \
	"$(sql "SELECT md5(string_agg(a::text, ',' ORDER BY event_id)) FROM audit a")" "$digest"
expect_eq "verify: every sealed partition ok" "$(sql "SELECT count(*) FILTER (WHERE NOT ok) FROM eventlog.verify('audit')")" 0

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
