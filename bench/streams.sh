#!/usr/bin/env bash
# Stream logs, measured: the figures issue 5 asks for, as a Markdown table.
#
#   1. append_to_stream(), 8 clients, each appending one ~300-byte event per
#      transaction to streams of its own (1,000 per client): appends/s; next to
#      it eventlog.append() into a plain log with the same events and clients
#      (the two interleaved, twice, and averaged), and 8 clients appending to
#      one shared stream (they queue on its lock)
#   2. load_stream() of one stream of 100,000 events: without a snapshot, and
#      with a snapshot at version 99,990 (ms per call, the full result fetched
#      by the client)
#   3. read_all() through the whole log, pages of 100, 1,000 and 10,000 events,
#      in one session, server side (events/s), plus pages of 1,000 from random
#      positions fetched by one pgbench client (every row over the wire)
#
# Usage: bench/streams.sh
# Environment:
#   PGHOST, PGPORT, PGUSER  a running cluster with pg_eventlog installed (a
#                        database eventlog_bench_streams is made and dropped);
#                        without PGHOST a throwaway cluster is started with
#                        scripts/pgcluster.sh on BENCH_PORT (default 55470)
#   BENCH_SECONDS        pgbench duration of each append run (default 15)
#   BENCH_CLIENTS        pgbench clients (default 8)
#   BENCH_STREAM_EVENTS  events in the long stream (default 100000)
#   BENCH_REPEAT         load_stream calls per case, median reported (default 5)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SECS=${BENCH_SECONDS:-15}
CLIENTS=${BENCH_CLIENTS:-8}
LONG=${BENCH_STREAM_EVENTS:-100000}
REPEAT=${BENCH_REPEAT:-5}
DB=eventlog_bench_streams
tmp=$(mktemp -d "${TMPDIR:-/tmp}/streams_bench.XXXXXX")
own=""

cleanup() {
	if [ -n "$own" ]; then
		"$ROOT/scripts/pgcluster.sh" stop "$own" >/dev/null 2>&1 || true
	else
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ -z "${PGHOST:-}" ]; then
	own=$tmp/pg
	eval "$("$ROOT/scripts/pgcluster.sh" start "$own" "${BENCH_PORT:-55470}")"
fi
q() { psql -X -v ON_ERROR_STOP=1 -qAt -d "$DB" "$@"; }

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
psql -X -q -d postgres -c "CREATE DATABASE $DB"
q <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE EXTENSION pg_eventlog;
GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;
SELECT eventlog.create_stream_log('bench_streams') \g /dev/null
SELECT eventlog.create_log('bench_plain') \g /dev/null
SQL

# ~300 bytes of payload, like the project's other benchmarks.
payload='{"account": "ACC-0000012345", "amount": 1250.75, "currency": "EUR", "reference": "invoice 2024-000123 for consulting services rendered in march", "channel": "api", "ip": "203.0.113.42", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "note": "bench"}'
event="[{\"event_type\": \"account.credited\", \"payload\": $payload}]"

cat >"$tmp/distinct.sql" <<SQL
\set s random(1, 1000)
SELECT version FROM eventlog.append_to_stream('bench_streams', 'tenant-' || :client_id, 'account-' || :client_id || '-' || :s, '$event', NULL);
SQL
cat >"$tmp/plain.sql" <<SQL
SELECT eventlog.append('bench_plain', 'tenant-' || :client_id, 'account.credited', '$payload');
SQL
cat >"$tmp/shared.sql" <<SQL
SELECT version FROM eventlog.append_to_stream('bench_streams', 'tenant-0', 'account-shared', '$event', NULL);
SQL

# Runs pgbench; prints transactions per second (excluding connection time).
tps() {
	pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECS" -f "$1" "$DB" 2>&1 | tee "$tmp/$(basename "$1").log" |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1
}

echo "streams bench: $CLIENTS clients, ${SECS}s per append run, a stream of $LONG events" >&2
# Interleaved (stream, plain, stream, plain) and averaged: other load on the
# machine drifts, and should weigh on both alike.
d1=$(tps "$tmp/distinct.sql")
p1=$(tps "$tmp/plain.sql")
d2=$(tps "$tmp/distinct.sql")
p2=$(tps "$tmp/plain.sql")
tps_distinct=$(awk -v a="$d1" -v b="$d2" 'BEGIN {printf "%d", (a + b) / 2}')
tps_plain=$(awk -v a="$p1" -v b="$p2" 'BEGIN {printf "%d", (a + b) / 2}')
ratio=$(awk -v a="$tps_distinct" -v b="$tps_plain" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
tps_shared=$(tps "$tmp/shared.sql")
errors=$(cat "$tmp"/*.sql.log | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
streams=$(q -c "SELECT count(*) FROM eventlog.stream_heads WHERE log = 'bench_streams'::regclass")
gapless=$(q -c "SELECT bool_and(h.version = c.n) FROM eventlog.stream_heads h
				 JOIN (SELECT tenant_id, stream, count(*) AS n FROM bench_streams WHERE stream IS NOT NULL GROUP BY 1, 2) c
				   USING (tenant_id, stream) WHERE h.log = 'bench_streams'::regclass")

# The long stream: LONG events in appends of 10,000 (one transaction each).
q <<SQL
SELECT eventlog.append_to_stream('bench_streams', 'tenant-long', 'account-long',
		   (SELECT jsonb_agg(jsonb_build_object('event_type', 'account.credited', 'payload', '$payload'::jsonb || jsonb_build_object('i', b * 10000 + i)))
			  FROM generate_series(1, least(10000, $LONG - b * 10000)) i))
  FROM generate_series(0, ($LONG - 1) / 10000) b \g /dev/null
SQL
# (one statement: the appends share a transaction; 100,000 events fit in one)
[ "$(q -c "SELECT eventlog.stream_version('bench_streams', 'tenant-long', 'account-long')")" = "$LONG" ] ||
	{ echo "streams bench: the long stream is not at version $LONG" >&2; exit 1; }
q -c "VACUUM ANALYZE bench_streams"

# Median of REPEAT calls, milliseconds, measured by the client (psql \timing),
# the whole result fetched.
median_ms() {
	local sql=$1
	{
		echo '\timing on'
		for _ in $(seq 1 "$REPEAT"); do echo "$sql"; done
	} | psql -X -q -d "$DB" -o /dev/null 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' |
		sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
load_sql="SELECT * FROM eventlog.load_stream('bench_streams', 'tenant-long', 'account-long');"
ms_nosnap=$(median_ms "$load_sql")
n_nosnap=$(q -c "SELECT count(*) FROM eventlog.load_stream('bench_streams', 'tenant-long', 'account-long') WHERE position IS NOT NULL")
q -c "SELECT eventlog.save_snapshot('bench_streams', 'tenant-long', 'account-long', $LONG - 10,
		  jsonb_build_object('balance', 12345.67, 'events', $LONG - 10))" >/dev/null
ms_snap=$(median_ms "$load_sql")
n_snap=$(q -c "SELECT count(*) FROM eventlog.load_stream('bench_streams', 'tenant-long', 'account-long') WHERE position IS NOT NULL")
ms_read_stream=$(median_ms "SELECT * FROM eventlog.read_stream('bench_streams', 'tenant-long', 'account-long', 1, NULL);")

# read_all through the whole log, server side: pages until the end.
total=$(q -c "SELECT count(*) FROM bench_streams")
read_all_rate() {
	q -c "
	DO \$\$
	DECLARE
		v_last bigint := 0;
		v_n bigint;
		v_total bigint := 0;
		v_t0 timestamptz := clock_timestamp();
	BEGIN
		LOOP
			SELECT count(*), coalesce(max(position), v_last) INTO v_n, v_last
			  FROM eventlog.read_all('bench_streams', v_last, $1);
			EXIT WHEN v_n = 0;
			v_total := v_total + v_n;
		END LOOP;
		RAISE NOTICE 'rate % %', v_total, round(v_total / extract(epoch FROM clock_timestamp() - v_t0));
	END
	\$\$" 2>&1 | sed -n 's/.*rate \([0-9]*\) \([0-9]*\).*/\1 \2/p'
}
read -r n100 r100 <<<"$(read_all_rate 100)"
read -r n1000 r1000 <<<"$(read_all_rate 1000)"
read -r n10000 r10000 <<<"$(read_all_rate 10000)"
# client side: pgbench, 1 client, pages of 1,000 from random starting points
# (each page full), every row sent to the client
read -r pmin pmax <<<"$(q -F ' ' -c "SELECT min(position), (SELECT position FROM bench_streams ORDER BY position DESC
									  OFFSET 1000 LIMIT 1) FROM bench_streams")"
cat >"$tmp/read_all.sql" <<SQL
\set p random($pmin, $pmax)
SELECT * FROM eventlog.read_all('bench_streams', :p, 1000);
SQL
pages=$(pgbench -n -M prepared -c 1 -T "$SECS" -f "$tmp/read_all.sql" "$DB" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
client_rate=$(awk -v t="$pages" 'BEGIN {printf "%d", t * 1000}')
fetched=$total
ok=✓
[ "$errors" = 0 ] && [ "$gapless" = t ] && [ "$n_nosnap" = "$LONG" ] && [ "$n_snap" = 10 ] &&
	[ "$n1000" = "$total" ] && [ "$n100" = "$total" ] && [ "$n10000" = "$total" ] && [ "$fetched" = "$total" ] || ok=✗

# 1234567 -> 1,234,567
fmt() { printf '%d' "${1:-0}" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }
cat <<EOF

### Stream logs ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(psql -X -qAt -d "$DB" -c 'SHOW server_version' | cut -d' ' -f1), synchronous_commit=$(psql -X -qAt -d "$DB" -c 'SHOW synchronous_commit'))

| measure | result | notes |
| --- | ---: | --- |
| append_to_stream, $CLIENTS clients, distinct streams | $(fmt "$tps_distinct") appends/s | one ~300-byte event per transaction, $(fmt "$streams") streams, versions gap-free: $gapless; runs: ${d1%.*}, ${d2%.*} |
| eventlog.append into a plain log, same clients and events | $(fmt "$tps_plain") appends/s | for comparison (no stream head, no version check); runs: ${p1%.*}, ${p2%.*}; ratio $ratio |
| append_to_stream, $CLIENTS clients, one shared stream | $(fmt "${tps_shared%.*}") appends/s | writers queue on the stream's lock until each commits |
| load_stream, $(fmt "$LONG")-event stream, no snapshot | ${ms_nosnap} ms | median of $REPEAT; $(fmt "$n_nosnap") events returned |
| load_stream, same stream, snapshot at version $(fmt $((LONG - 10))) | ${ms_snap} ms | snapshot + $n_snap events |
| read_stream of the whole stream (for reference) | ${ms_read_stream} ms | $(fmt "$LONG") rows |
| read_all, pages of 100 | $(fmt "$r100") events/s | server side, $(fmt "$total") events |
| read_all, pages of 1,000 | $(fmt "$r1000") events/s | server side |
| read_all, pages of 10,000 | $(fmt "$r10000") events/s | server side |
| read_all, pages of 1,000, fetched by a client | $(fmt "$client_rate") events/s | pgbench, 1 client, random full pages, ${SECS}s |

Checks: $ok (no failed transactions: $errors; every stream's head equals its event count; load_stream returned
$LONG and 10 events; each read_all pass returned all $(fmt "$total") events)
EOF
[ "$ok" = ✓ ]
