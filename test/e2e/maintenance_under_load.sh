#!/bin/bash
# Maintenance at full ingest rate (issue 4): eventlogd takes events from evload as fast
# as it can while forget() and run_maintenance() erase subjects, seal, compact (warm) and
# archive (cold) partitions and drop partitions past retention, in a loop. Asserts no
# maintenance error, every acknowledged event stored exactly once, forgotten subjects
# hidden and redacted, no row past retention, archived ranges out of the table and in
# files, and verify() ok.
# Prints the committed ingest rate with maintenance running as a ratio to the rate of
# the same load alone (a figure, never asserted: timings on a shared machine vary).
# Ends with "N passed, N failed".
#
#   test/e2e/maintenance_under_load.sh          # about 1-2 minutes
#   LOAD_SECONDS=30 test/e2e/maintenance_under_load.sh
#   MAINT_PAUSE=1 ...    # a pause (s) between maintenance rounds (default 0: back to back)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=$($PG_CONFIG --bindir)
PGPORT=${E2E_PGPORT:-55441}
LOAD_SECONDS=${LOAD_SECONDS:-12}
MAINT_PAUSE=${MAINT_PAUSE:-0}
EVENTLOGD=${EVENTLOGD:-$ROOT/sidecar/eventlogd}
WORK=$(mktemp -d /tmp/maint-load.XXXXXX)
chmod 777 "$WORK"
SOCK=$WORK/pgsock
mkdir -p "$SOCK" "$WORK/archive" && chmod 777 "$SOCK"
pass=0
fail=0
EVPID=

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PSQL="psql -X -q -h $SOCK -p $PGPORT -U postgres -d ev -v ON_ERROR_STOP=1"
sql() { $PSQL -Atc "$1"; }
ok() { echo "ok $((pass + fail + 1)) - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok $((pass + fail + 1)) - $1"; echo "#   $2"; fail=$((fail + 1)); }
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', expected '$3'"; fi; }

cleanup() {
	[ -n "$EVPID" ] && kill -9 "$EVPID" 2>/dev/null
	as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
	[ -z "${E2E_KEEP:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT

# load RUN: evload for LOAD_SECONDS, then /v1/flush; prints committed events/s.
load() {
	local run=$1 t0 t1 n
	t0=$(date +%s.%N)
	"$WORK/evload" -U "$WORK/eventlogd.sock" -l audit -c 16 -b 100 -d "$LOAD_SECONDS" -n 100000000 \
		-s 250 -T 32 -r "$run" -o "$WORK/acked.$run" >"$WORK/load.$run" 2>&1
	curl -s -m 300 -o /dev/null --unix-socket "$WORK/eventlogd.sock" -X POST http://localhost/v1/flush
	t1=$(date +%s.%N)
	n=$(sort -u "$WORK/acked.$run" | wc -l)
	awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d\n", n / (b - a) }'
}

# exactly_once NAME RUN: every acknowledged id of RUN is in the log once.
exactly_once() {
	local name=$1 run=$2 prefix acked rows distinct missing
	prefix=$(printf %08x "0x$run")
	sort -u "$WORK/acked.$run" >"$WORK/acked.sorted"
	sql "SELECT event_id FROM audit WHERE event_id::text LIKE '$prefix-%'" | sort >"$WORK/db.sorted"
	acked=$(wc -l <"$WORK/acked.sorted")
	rows=$(wc -l <"$WORK/db.sorted")
	distinct=$(sort -u "$WORK/db.sorted" | wc -l)
	missing=$(comm -23 "$WORK/acked.sorted" <(sort -u "$WORK/db.sorted") | wc -l)
	if [ "$acked" -gt 0 ] && [ "$missing" = 0 ] && [ "$rows" = "$distinct" ]; then
		ok "$name: $acked acknowledged, all committed exactly once"
	else
		not_ok "$name" "acked $acked, rows $rows, distinct $distinct, missing $missing"
	fi
}

echo "# work dir $WORK"
[ -x "$EVENTLOGD" ] || { echo "# build eventlogd first: make -C sidecar"; echo "0 passed, 1 failed"; exit 1; }
gcc -O2 -o "$WORK/evload" "$ROOT/test/e2e/evload.c" -lpthread || exit 1
as_pg "$PGBIN/initdb" -D "$WORK/pg" -A trust -U postgres >/dev/null || exit 1
chown postgres "$WORK/archive" 2>/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -w -l "$WORK/pg.log" \
	-o "-p $PGPORT -k $SOCK -c listen_addresses='' -c shared_preload_libraries=pg_eventlog -c eventlog.archive_root=$WORK/archive" start >/dev/null ||
	{ cat "$WORK/pg.log"; exit 1; }
psql -X -q -h "$SOCK" -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE ev" || exit 1
$PSQL -c "CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman; CREATE EXTENSION pg_eventlog;
          GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;
          SELECT eventlog.create_log('audit', tenant_buckets => 4);" >/dev/null || exit 1

# Fourteen days of history, 4,000 events a day, subjects s-0 .. s-199 of tenant t-1..t-8;
# maintenance moves them out of the default partitions into partitions of their own.
$PSQL >/dev/null <<'SQL' || exit 1
INSERT INTO audit (event_id, tenant_id, event_type, subject, received_at, payload, metadata)
SELECT eventlog.uuidv7(ts), 't-' || (1 + i % 8), 'history.event', 's-' || (i % 200), ts,
       jsonb_build_object('i', i, 'email', 's-' || (i % 200) || '@example.com'),
       jsonb_build_object('ip', '10.0.0.' || (i % 250))
  FROM generate_series(1, 56000) AS i,
       LATERAL (SELECT now() - interval '14 days' + (i * interval '14 days' / 56000) - interval '1 hour' AS ts) t;
SELECT count(*) FROM eventlog.run_maintenance('audit');
SQL
expect_eq "history: in partitions of their own" "$(sql "SELECT count(*) FROM eventlog.partitions('audit') WHERE is_default AND rows > 0")" 0

cat >"$WORK/eventlogd.conf" <<EOF
[eventlogd]
dsn = host=$SOCK port=$PGPORT dbname=ev user=postgres
listen =
unix_socket = $WORK/eventlogd.sock
spool_dir = $WORK/spool
stats_period = 0
logs_refresh = 1s
EOF
"$EVENTLOGD" -c "$WORK/eventlogd.conf" >>"$WORK/eventlogd.log" 2>&1 &
EVPID=$!
for _ in $(seq 1 100); do
	curl -s --unix-socket "$WORK/eventlogd.sock" http://localhost/readyz | grep -q '"logs_known":true' && break
	sleep 0.1
done

# 1. the load alone
alone=$(load a1)
exactly_once "ingest alone" a1

# 2. the same load while maintenance forgets, tiers, seals and drops, in a loop
sql "SELECT eventlog.set_retention('audit', '10 days');
     SELECT eventlog.set_tiering('audit', warm_after => '3 days', cold_after => '6 days',
                                 archive_dir => '$WORK/archive');" >/dev/null ||
	not_ok "set_retention and set_tiering" "failed"
(
	k=0
	while [ ! -e "$WORK/stop" ]; do
		$PSQL -c "SELECT eventlog.forget('audit', 't-$((1 + k % 8))', 's-$k', 'erasure request $k')" >/dev/null 2>>"$WORK/maint.err" &&
			$PSQL -c "SELECT count(*) FROM eventlog.run_maintenance('audit')" >/dev/null 2>>"$WORK/maint.err" ||
			echo "round $k failed" >>"$WORK/maint.err"
		k=$((k + 1))
		echo "$k" >"$WORK/maint.rounds"
		sleep "$MAINT_PAUSE"
	done
) &
MPID=$!
during=$(load b2)
touch "$WORK/stop"
wait "$MPID"
rounds=$(cat "$WORK/maint.rounds")
if [ ! -s "$WORK/maint.err" ] && [ "$rounds" -gt 0 ]; then
	ok "maintenance: $rounds rounds of forget + run_maintenance, no error"
else
	not_ok "maintenance: no error" "$(head -n 5 "$WORK/maint.err")"
fi
exactly_once "ingest during maintenance" b2
sql "SELECT count(*) FROM eventlog.run_maintenance('audit')" >/dev/null

# 3. what maintenance had to do, done
expect_eq "forget: forgotten subjects hidden from history()" \
	"$(sql "SELECT count(*) FROM generate_series(0, $rounds - 1) k,
	        LATERAL eventlog.history('audit', 't-' || (1 + k % 8), 's-' || k) h
	        WHERE h.event_type <> 'eventlog.forgotten'")" 0
expect_eq "forget: no personal data left in stored rows" \
	"$(sql "SELECT count(*) FROM audit a, generate_series(0, $rounds - 1) k
	        WHERE a.tenant_id = 't-' || (1 + k % 8) AND a.subject = 's-' || k
	          AND a.event_type <> 'eventlog.forgotten'
	          AND (a.payload ? 'email' OR a.metadata IS NOT NULL)")" 0
expect_eq "retention: no row older than 10 days" \
	"$(sql "SELECT count(*) FROM audit WHERE received_at < now() - interval '11 days'")" 0
expect_eq "tiers: archived ranges out of the table" \
	"$(sql "SELECT count(*) FROM audit WHERE received_at < now() - interval '7 days'")" 0
n=$(find "$WORK/archive" -name '*.ndjson.gz' | wc -l)
expect_eq "retention: no archive past retention" \
	"$(sql "SELECT count(*) FROM eventlog.archives WHERE range_to < now() - interval '10 days'")" 0
expect_eq "tiers: one archive file per archived partition" "$n" \
	"$(sql "SELECT count(*) FROM eventlog.archives WHERE restored_at IS NULL")"
expect_eq "seals: closed partitions sealed" \
	"$(sql "SELECT count(*) > 0 FROM eventlog.seals WHERE log = 'audit'::regclass")" t
expect_eq "verify: every sealed partition ok" "$(sql "SELECT count(*) FILTER (WHERE NOT ok) FROM eventlog.verify('audit')")" 0
kill -TERM "$EVPID" && wait "$EVPID"
expect_eq "eventlogd: SIGTERM exit 0" "$?" 0
EVPID=

echo "# committed events/s: alone $alone, during $rounds maintenance rounds (pause ${MAINT_PAUSE}s) $during, ratio $(awk -v a="$alone" -v b="$during" 'BEGIN { printf "%.2f", b / a }')"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
