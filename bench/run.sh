#!/usr/bin/env bash
# make bench: every write path of pg_eventlog on the same events, in one run,
# on a throwaway PostgreSQL 15 cluster of its own; a Markdown table of
# events/s with ratios to single-row INSERT and to the plain-table ceiling.
#
# Usage: bench/run.sh              (make bench)
#        BENCH_QUICK=1 bench/run.sh (make bench-quick: scaled down, < 3 minutes)
#
# Contenders (each into its own fresh table, created before any is timed):
#   a   single-row INSERT into a log, 8 clients (pgbench -M prepared)
#   b   eventlog.append() into a log, 8 clients (pgbench -M prepared)
#   m   multi-row INSERT into a log, 1,000 rows a statement, 1 client
#       (bench/minsert: INSERT ... VALUES (...), ... with bound parameters)
#   c   eventlog.ingest(log, jsonb array of 1,000 events), 1 client
#       (bench/copyin -I: the array as a text parameter, one transaction a call)
#   c2  the same, 2 clients, each on half of the batches
#   d   eventlog.copy_in(log, bytea, 'text'), ~10,000 rows per call, 1 client
#       (bench/copyin: the chunk as a binary bytea parameter, one transaction a call)
#   d2  the same, 2 clients, each on half of the rows
#   e   psql \copy into a log
#   f   psql \copy into a plain table: no index, no partition (the ceiling)
#   g   psql \copy into a plain table with the indexes a log keeps up while it ingests
#   h   as g, but with random (v4) event_ids instead of time-ordered UUIDv7s
#   s1  eventlogd end-to-end (sidecar/eventlogd, durability fsync), 16 clients x 100 events/request
#   s2  eventlogd end-to-end, 64 clients x 1 event/request
#       (test/e2e/evload -t 1 posts the bench's NDJSON events for BENCH_EV_SECONDS
#       over eventlogd's Unix socket, then POST /v1/flush and SIGTERM; acked and
#       committed events/s and ack latency p50/p99 are reported)
#   rs  rsyslog (imptcp -> disk-assisted action queue -> ompgsql, 1,000 a transaction)
#   ng  syslog-ng (network() -> sql() into the log, batch-lines 1,000, explicit commits)
#       (both from Debian's packages, unpacked by scripts/install-deps.sh into
#       PEERS_DIR; bench/evgen -S sends them the NDJSON events as syslog messages
#       over TCP, and they INSERT each into a log through the same SQL cast)
# With BENCH_ANALYSIS=1 (where the time goes), also:
#   cp  as c, but psql runs the calls with each array as a SQL literal ($ev$...$ev$)
#   e4  psql \copy into a log made with tenant_buckets 4
#   e2  psql \copy into a log whose (tenant_id, subject, received_at) index was dropped (the default layout keeps it off open partitions already)
#   e0  psql \copy into a log whose indexes were dropped
#   ep  psql \copy into a log whose payload and metadata use pglz (PostgreSQL's default) instead of lz4
#   f+  psql \copy into a plain table with the log's NOT NULLs and CHECKs
#   g1, g2, g3  psql \copy into a plain table with one of the log's indexes each
#
# The events come from bench/evgen (deterministic from BENCH_SEED): synthetic
# ones (payloads of 100 B to 4 KB), small ones (~300-byte events, the size
# DESIGN.md states its performance goals for), or the GitHub webhooks of
# ../shared/data replayed to size (BENCH_DATA).
#
# Correctness is asserted, timings never: each contender's table must hold
# exactly the events that were sent (and that the path reported): the same
# count, no event lost, none stored twice, none changed (a checksum of each
# event's content, keyed by its event_id), else its row is marked ✗ and the
# script exits 1 after printing the table. The last line is "N passed, N failed"
# (one per contender), for scripts/test.sh.
#
# Environment:
#   BENCH_QUICK=1        scale everything down (CI)
#   BENCH_DATA           synthetic | small | github, or several (default "synthetic
#                        small github" for a full run, synthetic for a quick one); github
#                        runs a tenth of the rows
#   BENCH_SEED           seed of the generated events (default 1)
#   BENCH_GITHUB_DATA    the github data set (default ../shared/data/github-webhooks.ndjson
#                        next to the repository, else $EVENTLOG_DATA_DIR/github-webhooks.ndjson)
#   BENCH_ANALYSIS=1     add the analysis contenders above
#   BENCH_ONLY="a e f"   run only these contenders
#   BENCH_ROWS           rows for the COPY-like paths (default 1000000; quick 50000)
#   BENCH_INGEST_ROWS    rows for ingest and multi-row INSERT (default 200000; quick 10000)
#   BENCH_SECONDS        pgbench duration (default 20; quick 4)
#   BENCH_EV_SECONDS     evload duration of s1 and s2 (default 20; quick 4)
#   BENCH_EV_MAX         at most this many events for s1 and s2 (default 0: no limit; quick 50000)
#   BENCH_PEER_ROWS      events sent to each peer (default 100000; quick 5000; at most BENCH_INGEST_ROWS)
#   BENCH_CHUNK_ROWS     rows per copy_in call (default 10000)
#   BENCH_PORT           port of the bench cluster (default 55460)
#   BENCH_PEER_PORT      TCP port of rsyslog on 127.0.0.1; syslog-ng takes the next (default 18770)
#   PEERS_DIR            where install-deps.sh unpacked rsyslog and syslog-ng (/opt/pg_eventlog-peers)
#   BENCH_KEEP=1         keep the scratch directory and leave the cluster running
#   BENCH_INSTALL=1      build and install the extension from this tree first
#                        (done anyway when it is not installed)
#   BENCH_OWN_CLUSTER=1  do not use scripts/pgcluster.sh even when it exists
#   BENCH_UPDATE_README=0  a full run replaces the table in bench/README.md
#                        unless this is 0 (quick runs never touch it)
#   PG_CONFIG            pg_config of the PostgreSQL to run (default: pg_config)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH_DIR=$ROOT/bench
RESULTS_DIR=$BENCH_DIR/results
export PG_CONFIG=${PG_CONFIG:-pg_config}

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = "1" ]; then
	ROWS=${BENCH_ROWS:-50000}
	INGEST_ROWS=${BENCH_INGEST_ROWS:-10000}
	SECONDS_PGBENCH=${BENCH_SECONDS:-4}
	EV_SECONDS=${BENCH_EV_SECONDS:-4}
	# a log's partitions are most of the setup: quick logs premake one day, not four
	LOG_ARGS=", premake => 1"
	EV_MAX=${BENCH_EV_MAX:-50000}
	PEER_ROWS=${BENCH_PEER_ROWS:-5000}
else
	ROWS=${BENCH_ROWS:-1000000}
	INGEST_ROWS=${BENCH_INGEST_ROWS:-200000}
	SECONDS_PGBENCH=${BENCH_SECONDS:-20}
	EV_SECONDS=${BENCH_EV_SECONDS:-20}
	EV_MAX=${BENCH_EV_MAX:-0}
	PEER_ROWS=${BENCH_PEER_ROWS:-100000}
	LOG_ARGS=""
fi
CHUNK_ROWS=${BENCH_CHUNK_ROWS:-10000}
INGEST_BATCH=1000
MINSERT_ROWS=1000
CLIENTS=8
PORT=${BENCH_PORT:-55460}
PEER_PORT=${BENCH_PEER_PORT:-18770}
PEERS_DIR=${PEERS_DIR:-/opt/pg_eventlog-peers}
SEED=${BENCH_SEED:-1}
# seconds a peer may go without storing a single event before it is given up on
PEER_STALL=${BENCH_PEER_STALL:-60}
ANALYSIS=${BENCH_ANALYSIS:-0}
if [ "$QUICK" = "1" ]; then
	DATASETS=${BENCH_DATA:-synthetic}
else
	DATASETS=${BENCH_DATA:-synthetic small github}
fi
# the sizes of the synthetic data set; github's are a tenth (its events are ~20x larger)
ROWS_SYN=$ROWS
INGEST_ROWS_SYN=$INGEST_ROWS
PEER_ROWS_SYN=$PEER_ROWS
DEFAULT_CONTENDERS="a b m c c2 d d2 e f g h s1 s2 rs ng"
if [ "$ANALYSIS" = "1" ]; then
	DEFAULT_CONTENDERS="$DEFAULT_CONTENDERS cp e4 e2 e0 ep f+ g1 g2 g3"
fi
CONTENDERS=${BENCH_ONLY:-$DEFAULT_CONTENDERS}
LOCK_FILE=/tmp/pg_eventlog-bench.lock

WORK=""
CLUSTER_DIR=""
CLUSTER_KIND=""
BINDIR=""
RUN_USER=""
CHILD_PIDS=()
FAILED=0
EVENTLOGD=$ROOT/sidecar/eventlogd
EVLOAD=""
EVGEN=""
MINSERT=""
COPYIN=""
PEER_PID=""
PEER_VERSIONS=""
CHART=""
DATASET=""
DATASET_NO=0
# the shared data: ../shared next to the repository, or EVENTLOG_DATA_DIR (as the tests find it)
GITHUB_DATA=${BENCH_GITHUB_DATA:-$ROOT/../shared/data/github-webhooks.ndjson}
if [ -z "${BENCH_GITHUB_DATA:-}" ] && [ ! -f "$GITHUB_DATA" ] && [ -n "${EVENTLOG_DATA_DIR:-}" ]; then
	GITHUB_DATA=$EVENTLOG_DATA_DIR/github-webhooks.ndjson
fi
EV_PID=""
declare -A R_EV=()

# Progress on stderr.
say() {
	printf '==> [%3d s] %s\n' "$SECONDS" "$*" >&2
}

# Error on stderr, exit 1.
die() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# Cluster
# ---------------------------------------------------------------------------

# The bench's server settings: ingest-friendly sizing, default durability.
bench_settings() {
	cat <<'EOF'
shared_buffers = '1GB'
max_wal_size = '4GB'
checkpoint_timeout = '30min'
synchronous_commit = on
fsync = on
full_page_writes = on
wal_compression = off
wal_level = replica
autovacuum = off
shared_preload_libraries = 'pg_eventlog'
max_connections = 100
timezone = 'UTC'
lc_messages = 'C'
EOF
}

# Runs a command as the server's user (PostgreSQL refuses to run as root).
as_server_user() {
	if [ -n "$RUN_USER" ]; then
		runuser -u "$RUN_USER" -- "$@"
	else
		"$@"
	fi
}

# Starts the cluster in CLUSTER_DIR on PORT and exports PGHOST etc.
cluster_start() {
	local pgc=$ROOT/scripts/pgcluster.sh env_out
	if [ -x "$pgc" ] && [ "${BENCH_OWN_CLUSTER:-0}" != "1" ]; then
		CLUSTER_KIND=pgcluster
		env_out=$(PGC_SETTINGS="$(bench_settings)" PGC_TCP=0 "$pgc" start "$CLUSTER_DIR" "$PORT") ||
			die "scripts/pgcluster.sh could not start the bench cluster"
		eval "$env_out"
		return
	fi

	CLUSTER_KIND=own
	if [ "$(id -u)" -eq 0 ]; then
		RUN_USER=postgres
		id -u "$RUN_USER" >/dev/null 2>&1 || die "running as root needs the user postgres (apt-get install postgresql-15)"
		chown "$RUN_USER:" "$CLUSTER_DIR"
	fi
	as_server_user "$BINDIR/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth=trust -E UTF8 \
		--locale=C --no-sync >"$CLUSTER_DIR/initdb.log" 2>&1 ||
		{ cat "$CLUSTER_DIR/initdb.log" >&2; die "initdb failed"; }
	{
		echo "port = $PORT"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$CLUSTER_DIR'"
		bench_settings
	} | as_server_user tee -a "$CLUSTER_DIR/data/postgresql.conf" >/dev/null
	as_server_user "$BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/log" -w -t 60 start >/dev/null ||
		{ tail -n 30 "$CLUSTER_DIR/log" >&2; die "the bench cluster did not start"; }
	export PGHOST=$CLUSTER_DIR PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
}

# Stops the bench cluster (fast, then immediate).
cluster_stop() {
	if [ "$CLUSTER_KIND" = pgcluster ]; then
		"$ROOT/scripts/pgcluster.sh" stop "$CLUSTER_DIR" >/dev/null 2>&1 || true
	elif [ "$CLUSTER_KIND" = own ]; then
		as_server_user "$BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
			as_server_user "$BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w -t 60 stop >/dev/null 2>&1 ||
			true
	fi
	CLUSTER_KIND=""
}

# EXIT trap: ends what the bench started and removes its scratch directory.
cleanup() {
	local pid i
	for pid in "${CHILD_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	# eventlogd drains on SIGTERM: give it a moment, then kill it outright
	if [ -n "$EV_PID" ]; then
		for ((i = 0; i < 50; i++)); do
			kill -0 "$EV_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$EV_PID" 2>/dev/null || true
	fi
	if [ "${BENCH_KEEP:-0}" = "1" ] && [ -n "$WORK" ]; then
		say "BENCH_KEEP=1: scratch directory $WORK kept, cluster left running (PGHOST=$CLUSTER_DIR PGPORT=$PORT)"
		return
	fi
	cluster_stop
	if [ -n "$WORK" ]; then
		rm -rf "$WORK"
	fi
}

# psql on the bench database: no psqlrc, stop at the first error, bare output.
bq() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d bench "$@"
}

# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------
declare -A R_ROWS=() R_SECS=() R_CHECK=() R_NOTE=() R_WAL=() R_CPU=() R_LABEL=()
declare -A R_CCPU=() R_RSS=() R_LAT=() R_LOST=() R_DUP=()
CLK_TCK=$(getconf CLK_TCK)
ORDER=()
# What a runner hands to record besides its arguments (reset by record):
#   CHECK_KIND, CHECK_N, CHECK_RUN, CHECK_LINES  the events that were sent (see check_events)
#   CL_CPU, CL_RSS                  CPU seconds and peak RSS (kB) of the client side
#   LAT                             "p50|p99" ack latency in ms, where the path has one
CHECK_KIND=src
CHECK_N=0
CHECK_RUN=0
CHECK_LINES=""
SRC_ROWS=0
CL_CPU=""
CL_RSS=""
LAT=""

# Seconds since the epoch, with nanoseconds.
now() {
	date +%s.%N
}

# The current WAL insert position.
wal_lsn() {
	bq -c 'SELECT pg_current_wal_insert_lsn()'
}

# Prints the CPU seconds the bench cluster has used so far: the postmaster,
# the children it has reaped (cutime, cstime) and the children alive now. It
# first waits (up to 5 s) for client backends to exit, so that a finished
# contender's backends are counted once, through the postmaster.
server_cpu() {
	local pm pid i busy ticks=0 f
	pm=$(head -n1 "$CLUSTER_DIR/data/postmaster.pid")
	for ((i = 0; i < 50; i++)); do
		busy=0
		for pid in $(pgrep -P "$pm"); do
			if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '^postgres: [^ ]* bench '; then
				busy=1
			fi
		done
		[ "$busy" = 1 ] || break
		sleep 0.1
	done
	read -r -a f <"/proc/$pm/stat"
	ticks=$((f[13] + f[14] + f[15] + f[16]))
	for pid in $(pgrep -P "$pm"); do
		read -r -a f <"/proc/$pid/stat" 2>/dev/null || continue
		ticks=$((ticks + f[13] + f[14]))
	done
	awk -v t="$ticks" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}'
}

# timed FILE COMMAND...: runs COMMAND under GNU time, which writes its user and
# system CPU seconds and peak RSS (kB) to FILE.
timed() {
	local file=$1
	shift
	/usr/bin/time -f '%U %S %M' -o "$file" "$@"
}

# usage_sum FILE...: "CPU-seconds peak-RSS-kB" of the commands timed into FILEs
# (CPU added up, RSS the largest of them).
usage_sum() {
	awk '/^[0-9.]+ [0-9.]+ [0-9]+$/ {c += $1 + $2; if ($3 > m) m = $3}
		END {printf "%.2f %d\n", c, m}' "$@"
}

# proc_usage PID: "CPU-seconds peak-RSS-kB" of a running process (all its threads).
proc_usage() {
	local f hwm
	read -r -a f <"/proc/$1/stat" 2>/dev/null || {
		echo "0 0"
		return
	}
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null)
	awk -v t=$((f[13] + f[14])) -v hz="$CLK_TCK" -v m="${hwm:-0}" 'BEGIN {printf "%.2f %d\n", t / hz, m}'
}

# percentiles FILE: "p50|p99" of the numbers in FILE (one a line), in the file's unit.
percentiles() {
	sort -n "$1" | awk '{v[NR] = $1} END {if (NR) printf "%.2f|%.2f\n", v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1]; else print "|"}'
}

# Untimed: flush the previous contender's dirty buffers so each starts alike.
settle() {
	bq -c 'CHECKPOINT'
	WAL0=$(wal_lsn)
	CPU0=$(server_cpu)
}

# check_events TABLE KIND N RUN LINES: compares the events stored in TABLE with the
# events that were sent, by event_id and by a hash of each event's content
# (bench.evhash: tenant, type, subject, payload, metadata; jsonb is compared
# in its canonical text). KIND says what was sent:
#   src     the bench's events 1..N, with their own ids
#   src4    the same events with the random v4 ids of (h)
#   evload  evload's events 0..N-1: id RUN-0000-4000-8000-<counter>, content that of
#           event counter % LINES + 1 (evload cycles the LINES lines of its file; the
#           pgbench contenders number their events the same way)
# Prints "sent|stored|lost|duplicated|changed|checksum sent|checksum stored".
check_events() {
	bq -F '|' -v tbl="$1" -v kind="$2" -v n="$3" -v run="$4" -v nlines="$5" <<'EOF'
WITH sent AS (
	SELECT CASE WHEN :'kind' = 'src4' THEN s.id4 ELSE s.event_id END AS event_id, s.h
	  FROM bench.src s
	 WHERE :'kind' IN ('src', 'src4') AND s.n <= :n
	UNION ALL
	SELECT bench.evload_id(:'run', k), s.h
	  FROM generate_series(0, :n - 1) AS k JOIN bench.src s ON s.n = k % :nlines + 1
	 WHERE :'kind' = 'evload'
), stored AS (
	SELECT event_id, count(*) AS cnt, min(h) AS h1, max(h) AS h2, sum(h) AS hs
	  FROM (SELECT event_id, bench.evhash(tenant_id, event_type, subject, payload, metadata) AS h
			  FROM :"tbl") t
	 GROUP BY event_id
)
SELECT count(s.event_id),
	   coalesce(sum(t.cnt), 0),
	   count(*) FILTER (WHERE s.event_id IS NOT NULL AND t.event_id IS NULL),
	   coalesce(sum(t.cnt - 1) FILTER (WHERE s.event_id IS NOT NULL), 0)
		 + coalesce(sum(t.cnt) FILTER (WHERE s.event_id IS NULL), 0),
	   count(*) FILTER (WHERE s.event_id IS NOT NULL AND (t.h1 <> s.h OR t.h2 <> s.h)),
	   coalesce(sum(s.h), 0),
	   coalesce(sum(t.hs), 0)
  FROM sent s FULL JOIN stored t ON t.event_id = s.event_id
EOF
}

# record ID LABEL SENT REPORTED SECONDS TABLE [NOTE]: checks the table's events
# against what was sent (CHECK_KIND, CHECK_N, CHECK_RUN) and records the row.
record() {
	local id=$1 label=$2 sent=$3 reported=$4 secs=$5 table=$6 note=${7:-} wal cpu out
	local expected=0 stored=-1 lost="?" dup="?" changed="?" sum_sent=0 sum_stored=1
	cpu=$(awk -v a="$CPU0" -v b="$(server_cpu)" 'BEGIN {printf "%.2f", b - a}')
	wal=$(bq -c "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$WAL0')") || wal=0
	if out=$(check_events "$table" "$CHECK_KIND" "$CHECK_N" "$CHECK_RUN" "${CHECK_LINES:-$INGEST_ROWS}"); then
		IFS='|' read -r expected stored lost dup changed sum_sent sum_stored <<<"$out"
	else
		note="${note:+$note; }the check query failed"
	fi
	ORDER+=("$id")
	R_LABEL[$id]=$label
	R_ROWS[$id]=$stored
	R_SECS[$id]=$secs
	R_WAL[$id]=$wal
	R_CPU[$id]=$cpu
	R_LOST[$id]=$lost
	R_DUP[$id]=$dup
	R_CCPU[$id]=$CL_CPU
	R_RSS[$id]=$CL_RSS
	R_LAT[$id]=$LAT
	if [ "$stored" = "$sent" ] && [ "$reported" = "$sent" ] && [ "$expected" = "$sent" ] &&
		[ "$lost" = 0 ] && [ "$dup" = 0 ] && [ "$changed" = 0 ] && [ "$sum_sent" = "$sum_stored" ] &&
		[ "$sent" -gt 0 ]; then
		R_CHECK[$id]="✓"
	else
		R_CHECK[$id]="✗"
		note="sent $sent, reported $reported, stored $stored, lost $lost, duplicated $dup, changed $changed${note:+; $note}"
		FAILED=1
	fi
	R_NOTE[$id]=$note
	CHECK_KIND=src CHECK_N=0 CHECK_RUN=0 CHECK_LINES="" CL_CPU="" CL_RSS="" LAT=""
	say "$id: $stored rows in $secs s, server CPU $cpu s (${R_CHECK[$id]}${note:+ $note})"
}

# record_error ID LABEL NOTE: the path failed outright.
record_error() {
	ORDER+=("$1")
	R_LABEL[$1]=$2
	R_ROWS[$1]=0
	R_SECS[$1]=0
	R_WAL[$1]=0
	R_CPU[$1]=0
	R_LOST[$1]="?"
	R_DUP[$1]="?"
	R_CHECK[$1]="✗"
	R_NOTE[$1]=$3
	FAILED=1
	CHECK_KIND=src CHECK_N=0 CHECK_RUN=0 CHECK_LINES="" CL_CPU="" CL_RSS="" LAT=""
	say "$1: FAILED: $3"
}

# run_pgbench ID LABEL TABLE SCRIPT: CLIENTS clients for SECONDS_PGBENCH seconds.
# Each transaction takes the next event number from the sequence bench.seq_ID, so
# the events sent are 1..the sequence's last value; pgbench's per-transaction log
# gives the commit latency.
run_pgbench() {
	local id=$1 label=$2 table=$3 script=$4 out processed failed tps secs
	out=$WORK/pgbench-$id.out
	settle
	if ! timed "$WORK/usage-$id" pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_PGBENCH" \
		-l --log-prefix="$WORK/pgblog-$id" -f "$script" bench >"$out" 2>&1; then
		record_error "$id" "$label" "pgbench failed: $(grep -m1 -i error "$out" || tail -n1 "$out")"
		return
	fi
	processed=$(awk -F': ' '/^number of transactions actually processed/ {split($2, a, "/"); print a[1]}' "$out")
	failed=$(awk -F': ' '/^number of failed transactions/ {split($2, a, " "); print a[1]}' "$out")
	tps=$(awk '/^tps = / {print $3}' "$out")
	secs=$(awk -v n="$processed" -v t="$tps" 'BEGIN {printf "%.2f", (t > 0 ? n / t : 0)}')
	# the log's third field is the transaction's latency in microseconds
	cat "$WORK/pgblog-$id".* | awk '{print $3 / 1000}' >"$WORK/latency-$id.ms"
	LAT=$(percentiles "$WORK/latency-$id.ms")
	rm -f "$WORK/pgblog-$id".* "$WORK/latency-$id.ms"
	read -r CL_CPU CL_RSS <<<"$(usage_sum "$WORK/usage-$id")"
	CHECK_KIND=evload CHECK_RUN=${id}0 CHECK_LINES=$SRC_ROWS
	CHECK_N=$(bq -c "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM bench.seq_$id")
	record "$id" "$label" "$processed" "$processed" "$secs" "$table" \
		"$([ "${failed:-0}" != 0 ] && echo "$failed failed transactions")"
}

# run_copy ID LABEL TABLE FILE ROWS [KIND]: one psql \copy of FILE (ROWS rows) into TABLE;
# KIND as in check_events (src4 for the file with v4 ids).
run_copy() {
	local id=$1 label=$2 table=$3 file=$4 sent=$5 t0 t1 out reported
	settle
	t0=$(now)
	if ! out=$(timed "$WORK/usage-$id" psql -X -v ON_ERROR_STOP=1 -d bench -c "\\copy $table FROM '$file'" 2>&1); then
		record_error "$id" "$label" "$(echo "$out" | head -n1)"
		return
	fi
	t1=$(now)
	reported=$(echo "$out" | awk '/^COPY / {print $2}')
	read -r CL_CPU CL_RSS <<<"$(usage_sum "$WORK/usage-$id")"
	CHECK_KIND=${6:-src} CHECK_N=$sent
	record "$id" "$label" "$sent" "${reported:-none}" "$(secs "$t0" "$t1")" "$table"
}

# secs T0 T1: elapsed seconds.
secs() {
	awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'
}

# Writes the ingest() calls for FILE into OUT.K (K = 0 .. clients-1), batch by
# batch in turn, as psql scripts of SQL literals (cp).
ingest_scripts() {
	local table=$1 file=$2 out=$3 clients=$4
	awk -v tbl="$table" -v per="$INGEST_BATCH" -v out="$out" -v clients="$clients" '
		BEGIN { q = sprintf("%c", 39) }
		(NR - 1) % per == 0 {
			f = out "." (int((NR - 1) / per) % clients)
			printf "SELECT eventlog.ingest(%s%s%s, $ev$[\n%s", q, tbl, q, $0 > f
			next
		}
		{ printf ",\n%s", $0 > f }
		NR % per == 0 { printf "\n]$ev$);\n" > f }
		END { if (NR % per != 0) printf "\n]$ev$);\n" > f }
	' "$file"
}

# Cuts FILE into OUT.K (K = 0 .. clients-1), INGEST_BATCH lines at a time in turn:
# client K sends batches K, K + clients, ... (c, c2).
ingest_parts() {
	local file=$1 out=$2 clients=$3
	awk -v per="$INGEST_BATCH" -v out="$out" -v clients="$clients" '
		{ print > (out "." (int((NR - 1) / per) % clients)) }
	' "$file"
}

# run_clients OUT N FN: runs "FN k" for k = 0 .. N-1 at once, each into OUT.k; sets T0
# and T1 around them; fails when any of them failed.
run_clients() {
	local out=$1 n=$2 fn=$3 k pids=() rc=0
	T0=$(now)
	for ((k = 0; k < n; k++)); do
		"$fn" "$k" >"$out.$k" 2>&1 &
		pids+=($!)
		CHILD_PIDS+=($!)
	done
	for k in "${!pids[@]}"; do
		wait "${pids[$k]}" || rc=1
	done
	T1=$(now)
	return "$rc"
}

# ingest_client K: client K of run_ingest (its share of the calls), as an
# application calls ingest(): bench/copyin -I sends each batch as one JSON array,
# a text parameter of a prepared statement.
ingest_client() {
	timed "$WORK/usage-$RUN_ID.$1" "$COPYIN" -I -d "dbname=bench" -t "$RUN_TABLE" \
		-f "$WORK/ingest-$RUN_ID.part.$1" -n "$INGEST_BATCH"
}

# ingest_psql_client K: client K of run_ingest with psql (cp): psql runs its script of calls.
ingest_psql_client() {
	timed "$WORK/usage-$RUN_ID.$1" psql -X -q -At -v ON_ERROR_STOP=1 -d bench -f "$WORK/ingest-$RUN_ID.sql.$1"
}

# run_ingest ID LABEL TABLE CLIENTS [psql]: the NDJSON events through ingest(),
# INGEST_BATCH per call, by bench/copyin (or, with psql, by psql from SQL literals:
# the server then lexes every batch as part of the statement's text).
run_ingest() {
	local id=$1 label=$2 table=$3 clients=$4 how=${5:-libpq} reported client=ingest_client
	if [ "$how" = psql ]; then
		# shellcheck disable=SC2016 # the literal $ev$
		if grep -q '\$ev\$' "$NDJSON"; then
			record_error "$id" "$label" "the events contain \$ev\$, the quote of the ingest calls"
			return
		fi
		ingest_scripts "$table" "$NDJSON" "$WORK/ingest-$id.sql" "$clients"
		client=ingest_psql_client
	else
		ingest_parts "$NDJSON" "$WORK/ingest-$id.part" "$clients"
	fi
	settle
	RUN_ID=$id RUN_TABLE=$table
	if ! run_clients "$WORK/ingest-$id.out" "$clients" "$client"; then
		rm -f "$WORK/ingest-$id.sql".* "$WORK/ingest-$id.part".*
		record_error "$id" "$label" "$(grep -h -m1 -i error "$WORK"/ingest-"$id".out.* | head -n1)"
		return
	fi
	rm -f "$WORK/ingest-$id.sql".* "$WORK/ingest-$id.part".*
	reported=$(cat "$WORK"/ingest-"$id".out.* | awk '{s += $1} END {print s + 0}')
	read -r CL_CPU CL_RSS <<<"$(usage_sum "$WORK/usage-$id".*)"
	CHECK_N=$INGEST_SENT
	record "$id" "$label" "$INGEST_SENT" "$reported" "$(secs "$T0" "$T1")" "$table"
}

# run_copy_in ID LABEL TABLE CLIENTS: the text-COPY file through copy_in(), CHUNK_ROWS
# rows per call, as an application calls it: bench/copyin sends each chunk as a binary
# bytea parameter of a prepared statement (psql could only send it as a SQL literal,
# which the server must parse and unescape: that measured the literal, not copy_in).
# With CLIENTS > 1 the file is cut into that many parts, one client each.
run_copy_in() {
	local id=$1 label=$2 table=$3 clients=$4 reported lines
	lines=$(wc -l <"$COPY_V7")
	split -n "l/$clients" -d -a 2 "$COPY_V7" "$WORK/copy_in-$id.part."
	settle
	RUN_ID=$id RUN_TABLE=$table
	if ! run_clients "$WORK/copy_in-$id.out" "$clients" copy_in_client; then
		rm -f "$WORK/copy_in-$id.part."*
		record_error "$id" "$label" "$(head -q -n1 "$WORK"/copy_in-"$id".out.* | grep -m1 .)"
		return
	fi
	rm -f "$WORK/copy_in-$id.part."*
	reported=$(cat "$WORK"/copy_in-"$id".out.* | awk '{s += $1} END {print s + 0}')
	[ "$lines" = "$ROWS" ] || say "note: $COPY_V7 has $lines lines for $ROWS rows"
	read -r CL_CPU CL_RSS <<<"$(usage_sum "$WORK/usage-$id".*)"
	CHECK_N=$ROWS
	record "$id" "$label" "$ROWS" "$reported" "$(secs "$T0" "$T1")" "$table"
}

# copy_in_client K: client K of run_copy_in (its part of the file).
copy_in_client() {
	timed "$WORK/usage-$RUN_ID.$1" "$COPYIN" -d "dbname=bench" -t "$RUN_TABLE" \
		-f "$WORK/copy_in-$RUN_ID.part.$(printf %02d "$1")" -n "$CHUNK_ROWS"
}

# run_minsert ID LABEL TABLE: the first INGEST_ROWS events as multi-row INSERTs of
# MINSERT_ROWS rows each, one statement a transaction, by bench/minsert (libpq,
# every value a bound parameter of one prepared statement), one client.
run_minsert() {
	local id=$1 label=$2 table=$3 out reported t0 t1
	head -n "$INGEST_ROWS" "$COPY_V7" >"$WORK/minsert-$id.copy"
	settle
	t0=$(now)
	if ! out=$(timed "$WORK/usage-$id" "$MINSERT" -d "dbname=bench" -t "$table" \
		-f "$WORK/minsert-$id.copy" -n "$MINSERT_ROWS" 2>&1); then
		rm -f "$WORK/minsert-$id.copy"
		record_error "$id" "$label" "$(echo "$out" | head -n1)"
		return
	fi
	t1=$(now)
	rm -f "$WORK/minsert-$id.copy"
	reported=$(tail -n1 <<<"$out")
	read -r CL_CPU CL_RSS <<<"$(usage_sum "$WORK/usage-$id")"
	CHECK_N=$INGEST_ROWS
	record "$id" "$label" "$INGEST_ROWS" "$reported" "$(secs "$t0" "$t1")" "$table"
}

# ev_curl PATH [curl args]: an HTTP request to eventlogd over its Unix socket.
ev_curl() {
	local path=$1
	shift
	curl -s --unix-socket "$EV_SOCK" "$@" "http://localhost$path"
}

# run_eventlogd ID LABEL TABLE CLIENTS PER_REQ RUN: eventlogd end to end, into TABLE (a
# fresh log). eventlogd (durability fsync, defaults otherwise) listens on a Unix socket
# only and reaches the cluster on its Unix socket; its spool is in the scratch directory.
# evload posts the bench's NDJSON events (cycled, each with the event_id RUN-0000-4000-
# 8000-<counter>) from CLIENTS connections (on one epoll thread: -t 1 measured faster
# on 2 cores than a thread each), PER_REQ events per request, for EV_SECONDS;
# then POST /v1/flush (returns once every acknowledged event is committed), then SIGTERM
# (eventlogd must drain and exit 0). Rows in the log must equal the events acknowledged.
# The row's seconds run from the start of the load to the end of the flush (committed
# events/s); acked events/s (over evload's load window) and ack latency go in R_EV.
run_eventlogd() {
	local id=$1 label=$2 table=$3 clients=$4 per_req=$5 run=$6 dir i code="" t0 t1 ev_pid
	local ev_rc=0 rc=0 line acked ack_rate p50 p99 committed st ev_cpu=0 ev_rss=0 extra="" load
	# a spool of its own per data set: eventlogd's dedup index would take the next data
	# set's events (the same evload ids) for retries of this one's
	dir=$WORK/eventlogd-$DATASET-$id
	EV_SOCK=$dir/eventlogd.sock
	mkdir -p "$dir"
	settle
	"$EVENTLOGD" --dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=bench" --listen= \
		--unix_socket="$EV_SOCK" --spool_dir="$dir/spool" --durability=fsync \
		--flush_timeout=600s --stats_period=0 >"$dir/eventlogd.log" 2>&1 9>&- &
	EV_PID=$!
	CHILD_PIDS+=("$EV_PID")
	for ((i = 0; i < 150; i++)); do
		kill -0 "$EV_PID" 2>/dev/null || break
		code=$(ev_curl /readyz -m 1 -o "$dir/readyz.json" -w '%{http_code}' || true)
		if [ "$code" = 200 ] && grep -q '"logs_known":true' "$dir/readyz.json"; then
			break
		fi
		code=""
		sleep 0.1
	done
	if [ "$code" != 200 ]; then
		kill -KILL "$EV_PID" 2>/dev/null || true
		wait "$EV_PID" 2>/dev/null || true
		EV_PID=""
		record_error "$id" "$label" "eventlogd did not become ready in 15 s: $(tail -n1 "$dir/eventlogd.log")"
		return
	fi

	t0=$(now)
	# -n (when EV_MAX is set) after -d, which clears evload's default count: both bounds hold
	timed "$dir/evload.usage" "$EVLOAD" -U "$EV_SOCK" -l "$table" -c "$clients" -b "$per_req" -t 1 \
		-d "$EV_SECONDS" ${EV_MAX:+$([ "$EV_MAX" -gt 0 ] && echo "-n $EV_MAX")} -f "$NDJSON" -r "$run" >"$dir/evload.out" 2>&1 9>&- &
	ev_pid=$!
	CHILD_PIDS+=("$ev_pid")
	wait "$ev_pid" || ev_rc=$?
	code=$(ev_curl /v1/flush -m 900 -X POST -o "$dir/flush.json" -w '%{http_code}' || true)
	t1=$(now)
	committed=$(ev_curl /metrics -m 5 | awk '$1 == "eventlogd_committed_events_total" {printf "%.0f", $2}')
	# eventlogd's own CPU time (user + system) over its whole life, and its peak RSS
	read -r ev_cpu ev_rss <<<"$(proc_usage "$EV_PID")"
	kill -TERM "$EV_PID" 2>/dev/null || true
	wait "$EV_PID" || rc=$?
	EV_PID=""

	# evload: N events acked in X s = R events/s, Q requests, ack p50 A ms p99 B ms, duplicates D, status 202:...
	line=$(grep -m1 '^evload:' "$dir/evload.out" || true)
	acked=$(awk '{print $2}' <<<"$line")
	ack_rate=$(sed -n 's/.* = \([0-9.]*\) events\/s.*/\1/p' <<<"$line")
	p50=$(sed -n 's/.*ack p50 \([0-9.]*\) ms.*/\1/p' <<<"$line")
	p99=$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' <<<"$line")
	st=$(sed -n 's/.*status //p' <<<"$line")
	R_EV[$id]="${ack_rate:-0}|${p50:-n/a}|${p99:-n/a}|${ev_cpu:-0}"
	# the client side: eventlogd and evload; the RSS is eventlogd's
	read -r load _ <<<"$(usage_sum "$dir/evload.usage")"
	CL_CPU=$(awk -v a="$ev_cpu" -v b="$load" 'BEGIN {printf "%.2f", a + b}')
	CL_RSS=$ev_rss
	LAT="${p50:-}|${p99:-}"
	CHECK_KIND=evload CHECK_N=${acked:-0} CHECK_RUN=$run
	[ "$ev_rc" = 0 ] && [ -n "$acked" ] || extra="evload exited $ev_rc: $(tail -n1 "$dir/evload.out")"
	[ "$code" = 200 ] || extra="${extra:+$extra; }POST /v1/flush answered ${code:-nothing} $(head -c 200 "$dir/flush.json" 2>/dev/null)"
	[ "$rc" = 0 ] || extra="${extra:+$extra; }eventlogd exited $rc after SIGTERM: $(tail -n1 "$dir/eventlogd.log")"
	case $line in
	*"duplicates 0,"*) ;;
	*) extra="${extra:+$extra; }evload reports duplicates" ;;
	esac
	record "$id" "$label" "${acked:-0}" "${committed:-none}" "$(secs "$t0" "$t1")" "$table" \
		"$(grep -q ' 4[0-9][0-9]:[1-9]\| 5[0-9][0-9]:[1-9]' <<<" $st" && echo "status $st")"
	if [ -n "$extra" ]; then
		R_CHECK[$id]="✗"
		R_NOTE[$id]="${R_NOTE[$id]:+${R_NOTE[$id]}; }$extra"
		FAILED=1
		say "$id: ✗ $extra"
	fi
	say "$id: $acked events acked at $ack_rate events/s, ack p50 $p50 ms, p99 $p99 ms; flush $code; eventlogd exit $rc"
}

# ---------------------------------------------------------------------------
# Peers: rsyslog and syslog-ng, shipping the same events into a log
# ---------------------------------------------------------------------------

# peer_insert_sql MSG: the INSERT of one JSON envelope MSG (an SQL expression of
# type text) into the log named by $PEER_TABLE, as both peers run it: the
# envelope's fields cast to the log's columns, received_at by its default.
peer_insert_sql() {
	cat <<EOF
INSERT INTO $PEER_TABLE (event_id, tenant_id, event_type, subject, occurred_at, schema_version, payload, metadata)
SELECT (j->>'event_id')::uuid, j->>'tenant_id', j->>'event_type', j->>'subject',
	(j->>'occurred_at')::timestamptz, coalesce((j->>'schema_version')::int, 1), j->'payload', j->'metadata'
  FROM (SELECT ($1)::jsonb AS j) AS m
EOF
}

# rsyslog_start DIR PORT: rsyslogd in the foreground with a config of its own in DIR:
# imptcp on 127.0.0.1:PORT, one ruleset whose ompgsql action has a disk-assisted
# LinkedList queue (queue.filename) dequeued 1,000 messages at a time, each batch one
# transaction of single-row INSERTs (ompgsql's begin/commit transaction interface).
# The template is the SQL of peer_insert_sql with the message as a string literal
# (option.stdsql doubles its single quotes; standard_conforming_strings is on).
rsyslog_start() {
	local dir=$1 port=$2 mods=$PEERS_DIR/usr/lib/x86_64-linux-gnu/rsyslog sql
	# conninfo may not contain whitespace: a URI, the cluster's socket directory as host
	# in a rsyslog string template, backslash and percent sign are special
	sql=$(peer_insert_sql "'%msg%'" | tr '\n' ' ')
	mkdir -p "$dir/work"
	cat >"$dir/rsyslog.conf" <<EOF
global(workDirectory="$dir/work" maxMessageSize="1m")
module(load="imptcp")
module(load="ompgsql")
template(name="bench_insert" type="string" option.stdsql="on" string="$sql")
ruleset(name="bench") {
	action(type="ompgsql" conninfo="postgresql:///bench?host=$PGHOST&port=$PGPORT&user=$PGUSER"
		template="bench_insert"
		queue.type="LinkedList" queue.filename="bench_pg" queue.size="100000"
		queue.dequeueBatchSize="1000" queue.workerThreads="2" queue.saveOnShutdown="on"
		queue.maxDiskSpace="4g" action.resumeRetryCount="-1")
}
input(type="imptcp" address="127.0.0.1" port="$port" ruleset="bench")
EOF
	"$PEERS_DIR/usr/sbin/rsyslogd" -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" -M "$mods" \
		>"$dir/peer.log" 2>&1 9>&- &
	PEER_PID=$!
}

# syslogng_start DIR PORT: syslog-ng in the foreground with a config of its own in
# DIR: network() on 127.0.0.1:PORT (RFC 5424, one message a line), flow control,
# and sql() into the view $PEER_TABLE_in, whose rule runs peer_insert_sql on the
# message (sql() can only insert values as strings into columns); batch-lines 1,000
# with explicit commits: 1,000 single-row INSERTs a transaction.
syslogng_start() {
	local dir=$1 port=$2
	cat >"$dir/syslog-ng.conf" <<EOF
@version: 3.38
options { threaded(yes); stats-freq(0); use-dns(no); dns-cache(no); log-msg-size(1048576); };
source s_bench {
	network(ip("127.0.0.1") port($port) transport("tcp") flags(syslog-protocol)
		log-msg-size(1048576) log-iw-size(100000) max-connections(4));
};
destination d_pg {
	sql(type(pgsql) host("$PGHOST") port("$PGPORT") username("$PGUSER") password("") database("bench")
		table("${PEER_TABLE}_in") columns("msg") values("\${MESSAGE}") indexes()
		flags(dont-create-tables, explicit-commits) batch-lines(1000) batch-timeout(100)
		log-fifo-size(100000));
};
log { source(s_bench); destination(d_pg); flags(flow-control); };
EOF
	LD_LIBRARY_PATH=$PEERS_DIR/usr/lib/syslog-ng "$PEERS_DIR/usr/sbin/syslog-ng" -F --no-caps \
		-f "$dir/syslog-ng.conf" --module-path="$PEERS_DIR/usr/lib/syslog-ng/3.38" \
		--persist-file="$dir/syslog-ng.persist" --pidfile="$dir/syslog-ng.pid" \
		--control="$dir/syslog-ng.ctl" >"$dir/peer.log" 2>&1 9>&- &
	PEER_PID=$!
}

# peer_listening PORT: exit 0 when something listens on 127.0.0.1:PORT.
peer_listening() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# stored_rows TABLE: the rows in TABLE now.
stored_rows() {
	bq -v tbl="$1" <<<'SELECT count(*) FROM :"tbl"' 2>/dev/null || echo 0
}

# run_peer ID LABEL TABLE KIND PORT: a peer (KIND rsyslog or syslogng) ships the first
# PEER_ROWS events into TABLE: bench/evgen -S sends them as syslog messages over one
# TCP connection (blocking when the peer pushes back), then the rows are counted every
# 0.2 s until all are there, or none came for PEER_STALL seconds. Seconds run from the
# first message sent to the last row seen. The client side is the peer and the sender.
run_peer() {
	local id=$1 label=$2 table=$3 kind=$4 port=$5 dir i sent t0 t1 rows last=-1 since peer_cpu peer_rss
	local snd_cpu note=""
	dir=$WORK/peer-$DATASET-$id
	mkdir -p "$dir"
	if [ ! -x "$PEERS_DIR/usr/sbin/rsyslogd" ] || [ ! -x "$PEERS_DIR/usr/sbin/syslog-ng" ]; then
		record_error "$id" "$label" "not unpacked in $PEERS_DIR (scripts/install-deps.sh)"
		return
	fi
	if peer_listening "$port"; then
		record_error "$id" "$label" "port $port on 127.0.0.1 is taken (BENCH_PEER_PORT)"
		return
	fi
	settle
	PEER_TABLE=$table
	"${kind}_start" "$dir" "$port"
	CHILD_PIDS+=("$PEER_PID")
	for ((i = 0; i < 150; i++)); do
		peer_listening "$port" && break
		kill -0 "$PEER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! peer_listening "$port"; then
		peer_stop
		record_error "$id" "$label" "$kind did not start: $(grep -v '^$' "$dir/peer.log" | tail -n1)"
		return
	fi
	t0=$(now)
	head -n "$PEER_ROWS" "$NDJSON" >"$dir/events.ndjson"
	if ! sent=$(timed "$dir/sender.usage" "$EVGEN" -S "127.0.0.1:$port" -f "$dir/events.ndjson" 2>"$dir/sender.err"); then
		note="the sender failed: $(tail -n1 "$dir/sender.err")"
		sent=$(grep -o 'after [0-9]*' "$dir/sender.err" | awk '{print $2}')
	fi
	since=$(now)
	while :; do
		rows=$(stored_rows "$table")
		t1=$(now)
		[ "$rows" -ge "${sent:-0}" ] && break
		if [ "$rows" != "$last" ]; then
			last=$rows
			since=$t1
		elif awk -v a="$since" -v b="$t1" -v s="$PEER_STALL" 'BEGIN {exit !(b - a > s)}'; then
			note="${note:+$note; }no progress for ${PEER_STALL} s: $(grep -v '^$' "$dir/peer.log" | tail -n1)"
			break
		fi
		kill -0 "$PEER_PID" 2>/dev/null || {
			note="${note:+$note; }$kind exited: $(grep -v '^$' "$dir/peer.log" | tail -n1)"
			break
		}
		sleep 0.2
	done
	read -r peer_cpu peer_rss <<<"$(proc_usage "$PEER_PID")"
	peer_stop
	read -r snd_cpu _ <<<"$(usage_sum "$dir/sender.usage")"
	CL_CPU=$(awk -v a="$peer_cpu" -v b="$snd_cpu" 'BEGIN {printf "%.2f", a + b}')
	CL_RSS=$peer_rss
	CHECK_N=${sent:-0}
	# a peer reports no count of its own: what it stored is checked against what was sent
	record "$id" "$label" "${sent:-0}" "${sent:-0}" "$(secs "$t0" "$t1")" "$table" "$note"
}

# peer_stop: SIGTERM to the peer, SIGKILL after 10 s.
peer_stop() {
	local i
	[ -n "${PEER_PID:-}" ] || return 0
	kill -TERM "$PEER_PID" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$PEER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PEER_PID" 2>/dev/null || true
	wait "$PEER_PID" 2>/dev/null || true
	PEER_PID=""
}

# ---------------------------------------------------------------------------
# Setup: extension, tables, events
# ---------------------------------------------------------------------------

# Installs pg_eventlog from this tree when it is missing (or BENCH_INSTALL=1).
ensure_extension() {
	local pkglib share
	pkglib=$("$PG_CONFIG" --pkglibdir)
	share=$("$PG_CONFIG" --sharedir)
	if [ "${BENCH_INSTALL:-0}" = "1" ] || [ ! -f "$pkglib/pg_eventlog.so" ] ||
		[ ! -f "$share/extension/pg_eventlog.control" ]; then
		say "building and installing pg_eventlog from $ROOT"
		make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" >&2
		if [ "$(id -u)" -eq 0 ]; then
			make -C "$ROOT" -s install PG_CONFIG="$PG_CONFIG" >&2
		else
			sudo make -C "$ROOT" -s install PG_CONFIG="$PG_CONFIG" >&2
		fi
	elif [ -f "$ROOT/pg_eventlog.so" ] && ! cmp -s "$ROOT/pg_eventlog.so" "$pkglib/pg_eventlog.so"; then
		say "note: the installed pg_eventlog.so differs from this tree's build (BENCH_INSTALL=1 installs it)"
	fi
	[ -f "$share/extension/pg_partman.control" ] || die "pg_partman is not installed (make deps)"
	command -v pgbench >/dev/null || die "pgbench is not installed (postgresql-client-15)"
}

# The indexes a log keeps up while it ingests, as create_log makes them (kept
# in step by hand); the subject index is built by maintenance on partitions
# whose range has passed, so it is measured alone (g3), not in (g).
IDX_TIME="(tenant_id, received_at)"
IDX_ID="(event_id)"
IDX_SUBJECT="(tenant_id, subject, received_at) WHERE subject IS NOT NULL"
LOG_INDEXES="$IDX_TIME|$IDX_ID"

# plain_table NAME INDEXES [CHECKS]: INDEXES is a |-separated list of index
# definitions (empty: none); CHECKS=1 adds the log's NOT NULLs and CHECKs.
plain_table() {
	local name=$1 indexes=$2 checks=${3:-0} i method
	# payload and metadata compressed as a log's are (lz4 where the server has it)
	method=$(bq -c "SELECT eventlog._toast_method()")
	bq <<EOF
CREATE TABLE $name (
	event_id uuid, tenant_id text, event_type text, subject text, occurred_at timestamptz,
	received_at timestamptz, schema_version int, payload jsonb COMPRESSION $method,
	metadata jsonb COMPRESSION $method);
EOF
	if [ "$checks" = 1 ]; then
		bq <<EOF
ALTER TABLE $name
	ALTER event_id SET NOT NULL, ALTER tenant_id SET NOT NULL, ALTER event_type SET NOT NULL,
	ALTER received_at SET NOT NULL, ALTER schema_version SET NOT NULL, ALTER payload SET NOT NULL,
	ADD CHECK (octet_length(tenant_id) BETWEEN 1 AND 128),
	ADD CHECK (octet_length(event_type) BETWEEN 1 AND 200),
	ADD CHECK (octet_length(subject) BETWEEN 1 AND 1024),
	ADD CHECK (schema_version >= 1),
	ADD CHECK (jsonb_typeof(payload) IN ('object', 'array')),
	ADD CHECK (jsonb_typeof(metadata) = 'object');
EOF
	fi
	if [ -n "$indexes" ]; then
		echo "$indexes" | tr '|' '\n' | while read -r i; do
			bq -c "CREATE INDEX ON $name $i"
		done
	fi
}

# drop_log_indexes LOG PATTERN: drops the log's indexes whose definition is LIKE PATTERN.
drop_log_indexes() {
	bq -v log="$1" -v pat="$2" >/dev/null <<'EOF'
SELECT format('DROP INDEX %s', i.indexrelid::regclass) FROM pg_index i
 WHERE i.indrelid = :'log'::regclass AND pg_get_indexdef(i.indexrelid) LIKE :'pat' \gexec
EOF
}

# Creates every contender's table before any contender is timed.
create_tables() {
	local id
	for id in $CONTENDERS; do
		case $id in
		a) bq -c "SELECT eventlog.create_log('ev_a_insert'$LOG_ARGS)" >/dev/null ;;
		b) bq -c "SELECT eventlog.create_log('ev_b_append'$LOG_ARGS)" >/dev/null ;;
		m) bq -c "SELECT eventlog.create_log('ev_m_minsert'$LOG_ARGS)" >/dev/null ;;
		rs) bq -c "SELECT eventlog.create_log('ev_rs_rsyslog'$LOG_ARGS)" >/dev/null ;;
		ng)
			bq -c "SELECT eventlog.create_log('ev_ng_syslogng'$LOG_ARGS)" >/dev/null
			# syslog-ng's sql() inserts strings into columns: a view takes the message,
			# and its rule runs the same INSERT as rsyslog's template
			PEER_TABLE=ev_ng_syslogng
			bq <<EOF
CREATE VIEW ev_ng_syslogng_in AS SELECT NULL::text AS msg WHERE false;
CREATE RULE ev_ng_syslogng_in_insert AS ON INSERT TO ev_ng_syslogng_in DO INSTEAD
$(peer_insert_sql NEW.msg);
EOF
			;;
		c) bq -c "SELECT eventlog.create_log('ev_c_ingest'$LOG_ARGS)" >/dev/null ;;
		c2) bq -c "SELECT eventlog.create_log('ev_c2_ingest'$LOG_ARGS)" >/dev/null ;;
		cp) bq -c "SELECT eventlog.create_log('ev_cp_ingest'$LOG_ARGS)" >/dev/null ;;
		d2) bq -c "SELECT eventlog.create_log('ev_d2_copy_in'$LOG_ARGS)" >/dev/null ;;
		d) bq -c "SELECT eventlog.create_log('ev_d_copy_in'$LOG_ARGS)" >/dev/null ;;
		e) bq -c "SELECT eventlog.create_log('ev_e_copy'$LOG_ARGS)" >/dev/null ;;
		s1) bq -c "SELECT eventlog.create_log('ev_s1_eventlogd'$LOG_ARGS)" >/dev/null ;;
		s2) bq -c "SELECT eventlog.create_log('ev_s2_eventlogd'$LOG_ARGS)" >/dev/null ;;
		e4) bq -c "SELECT eventlog.create_log('ev_e4_copy', tenant_buckets => 4$LOG_ARGS)" >/dev/null ;;
		e0)
			bq -c "SELECT eventlog.create_log('ev_e0_copy'$LOG_ARGS)" >/dev/null
			drop_log_indexes ev_e0_copy '%'
			;;
		e2)
			bq -c "SELECT eventlog.create_log('ev_e2_copy'$LOG_ARGS)" >/dev/null
			drop_log_indexes ev_e2_copy '%subject%'
			;;
		ep)
			# pglz on every relation of the log: the partitions made later follow
			bq -c "SELECT eventlog.create_log('ev_ep_copy'$LOG_ARGS)" >/dev/null
			bq -c "SELECT relid FROM pg_partition_tree('ev_ep_copy')" | while read -r rel; do
				bq -c "ALTER TABLE ONLY $rel ALTER COLUMN payload SET COMPRESSION pglz, ALTER COLUMN metadata SET COMPRESSION pglz"
			done
			;;
		f) plain_table plain_f "" ;;
		f+) plain_table plain_fc "" 1 ;;
		g) plain_table plain_g "$LOG_INDEXES" ;;
		h) plain_table plain_h "$LOG_INDEXES" ;;
		g1) plain_table plain_g1 "$IDX_TIME" ;;
		g2) plain_table plain_g2 "$IDX_ID" ;;
		g3) plain_table plain_g3 "$IDX_SUBJECT" ;;
		*) die "unknown contender: $id" ;;
		esac
	done
}

# The events: bench/evgen writes them once (deterministic from SEED and the start
# time), synthetic or the GitHub webhooks replayed to size; they are loaded into
# bench.src (n = line number), where every other form is made from. Each event's
# content hash (bench.evhash) is kept for the checks, and a random v4 id for (h).
generate_events() {
	local n=$ROWS t0_ms
	[ "$INGEST_ROWS" -le "$n" ] || n=$INGEST_ROWS
	SRC_ROWS=$n
	EVENTS_ALL=$WORK/events-all.ndjson
	t0_ms=$(($(date +%s) * 1000))
	case $DATASET in
	synthetic) "$EVGEN" -n "$n" -s "$SEED" -t "$t0_ms" >"$EVENTS_ALL" ;;
	small) "$EVGEN" -n "$n" -s "$SEED" -t "$t0_ms" -c >"$EVENTS_ALL" ;;
	github) "$EVGEN" -n "$n" -s "$SEED" -t "$t0_ms" -g "$GITHUB_DATA" >"$EVENTS_ALL" ;;
	esac || die "bench/evgen failed"
	bq <<'EOF'
CREATE SCHEMA bench;
-- The content of an event, hashed: what the checks compare, keyed by event_id.
CREATE FUNCTION bench.evhash(tenant text, etype text, subject text, payload jsonb, metadata jsonb)
RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashtext(concat_ws(chr(31), tenant, etype, coalesce(subject, chr(30)), payload::text,
	coalesce(metadata::text, chr(30)))) $$;
-- The event_id evload gives its event number k in run run (hex), as evload.c's make_id.
CREATE FUNCTION bench.evload_id(run text, k bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (lpad(run, 8, '0') || '-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid $$;
CREATE TABLE bench.raw (n bigserial PRIMARY KEY, j jsonb NOT NULL);
EOF
	# one line a row, taken as it is: CSV whose quote and delimiter never occur
	bq -c "\\copy bench.raw (j) FROM '$EVENTS_ALL' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
	bq -v t0_ms="$t0_ms" <<'EOF'
CREATE TABLE bench.src AS
SELECT n, (j->>'event_id')::uuid AS event_id, gen_random_uuid() AS id4,
	j->>'tenant_id' AS tenant_id, j->>'event_type' AS event_type, j->>'subject' AS subject,
	(j->>'occurred_at')::timestamptz AS occurred_at,
	-- the same instant as the UUIDv7 in event_id: evgen stamps event n at t0 + (n - 1) * 10 us
	to_timestamp(:t0_ms / 1000.0) + (n - 1) * interval '10 microseconds' AS received_at,
	coalesce((j->>'schema_version')::int, 1) AS schema_version, j->'payload' AS payload,
	j->'metadata' AS metadata,
	bench.evhash(j->>'tenant_id', j->>'event_type', j->>'subject', j->'payload', j->'metadata') AS h
  FROM bench.raw;
DROP TABLE bench.raw;
ALTER TABLE bench.src ADD PRIMARY KEY (n);
VACUUM ANALYZE bench.src;
-- (a) and (b) take event numbers from these, one a transaction
CREATE SEQUENCE bench.seq_a;
CREATE SEQUENCE bench.seq_b;
EOF
}

# Writes the events in the forms the contenders take: text-COPY (v7 ids, and v4 ids
# for h) of the first ROWS, and the NDJSON lines of the first INGEST_ROWS as evgen
# wrote them (ingest, eventlogd and the peers get these very lines).
write_event_files() {
	COPY_V7=$WORK/events-v7.copy
	COPY_V4=$WORK/events-v4.copy
	NDJSON=$WORK/events.ndjson
	local cols="tenant_id, event_type, subject, occurred_at, received_at, schema_version, payload, metadata"
	bq -c "\\copy (SELECT event_id, $cols FROM bench.src WHERE n <= $ROWS ORDER BY n) TO '$COPY_V7'"
	case " $CONTENDERS " in
	*" h "*)
		bq -c "\\copy (SELECT id4, $cols FROM bench.src WHERE n <= $ROWS ORDER BY n) TO '$COPY_V4'"
		;;
	esac
	head -n "$INGEST_ROWS" "$EVENTS_ALL" >"$NDJSON"
	rm -f "$EVENTS_ALL"
	INGEST_SENT=$(wc -l <"$NDJSON")
	[ "$(wc -l <"$COPY_V7")" -eq "$ROWS" ] || die "the COPY file does not have $ROWS rows"
	[ "$INGEST_SENT" -eq "$INGEST_ROWS" ] || die "the NDJSON file does not have $INGEST_ROWS rows"
	COPY_BYTES=$(awk -v s="$(stat -c %s "$COPY_V7")" -v n="$ROWS" 'BEGIN {printf "%.0f", s / n}')
	NDJSON_BYTES=$(awk -v s="$(stat -c %s "$NDJSON")" -v n="$INGEST_ROWS" 'BEGIN {printf "%.0f", s / n}')
	read -r PAYLOAD_BYTES PAYLOAD_MED PAYLOAD_MAX TENANTS TOP_TENANT <<<"$(bq -F ' ' -c "
		SELECT round(avg(octet_length(payload::text))),
			percentile_disc(0.5) WITHIN GROUP (ORDER BY octet_length(payload::text)),
			max(octet_length(payload::text)),
			(SELECT count(DISTINCT tenant_id) FROM bench.src WHERE n <= $ROWS),
			(SELECT round(100.0 * count(*) / $ROWS, 1) FROM bench.src WHERE n <= $ROWS
			  GROUP BY tenant_id ORDER BY count(*) DESC LIMIT 1)
		  FROM bench.src WHERE n <= $ROWS")"
}

# Writes the pgbench scripts of (a) and (b): transaction k (from the sequence
# bench.seq_ID) inserts event (k - 1) % SRC_ROWS + 1 with the id evload would give
# number k - 1 in run a0 (b0), so the events sent are known for the checks however
# many transactions run, and the ids rise as UUIDv7s do.
write_pgbench_scripts() {
	local cols="tenant_id, event_type, subject, occurred_at, payload, metadata"
	cat >"$WORK/insert.pgbench" <<EOF
INSERT INTO ev_a_insert (event_id, $cols) SELECT bench.evload_id('a0', q.k - 1), $cols FROM (SELECT nextval('bench.seq_a') AS k) q JOIN bench.src ON n = (q.k - 1) % $SRC_ROWS + 1;
EOF
	cat >"$WORK/append.pgbench" <<EOF
SELECT eventlog.append('ev_b_append', tenant_id, event_type, payload, subject, occurred_at, bench.evload_id('b0', q.k - 1), metadata) FROM (SELECT nextval('bench.seq_b') AS k) q JOIN bench.src ON n = (q.k - 1) % $SRC_ROWS + 1;
EOF
}

# Runs one contender by id.
run_contender() {
	case $1 in
	a) run_pgbench a "(a) single-row INSERT, $CLIENTS clients" ev_a_insert "$WORK/insert.pgbench" ;;
	b) run_pgbench b "(b) eventlog.append, $CLIENTS clients" ev_b_append "$WORK/append.pgbench" ;;
	m) run_minsert m "(m) multi-row INSERT, $MINSERT_ROWS rows/statement, 1 client" ev_m_minsert ;;
	c) run_ingest c "(c) eventlog.ingest, $INGEST_BATCH/call, 1 client" ev_c_ingest 1 ;;
	c2) run_ingest c2 "(c2) eventlog.ingest, $INGEST_BATCH/call, 2 clients" ev_c2_ingest 2 ;;
	cp) run_ingest cp "(cp) as (c), by psql from SQL literals" ev_cp_ingest 1 psql ;;
	d) run_copy_in d "(d) eventlog.copy_in text, $CHUNK_ROWS/call, 1 client" ev_d_copy_in 1 ;;
	d2) run_copy_in d2 "(d2) eventlog.copy_in text, $CHUNK_ROWS/call, 2 clients" ev_d2_copy_in 2 ;;
	e) run_copy e "(e) psql \\copy into a log" ev_e_copy "$COPY_V7" "$ROWS" ;;
	f) run_copy f "(f) psql \\copy into a plain table, no index (ceiling)" plain_f "$COPY_V7" "$ROWS" ;;
	g) run_copy g "(g) psql \\copy into a plain table, the log's ingest-time indexes" plain_g "$COPY_V7" "$ROWS" ;;
	h) run_copy h "(h) as (g), random v4 event_ids" plain_h "$COPY_V4" "$ROWS" src4 ;;
	s1) run_eventlogd s1 "(s1) eventlogd, 16 clients x 100 events/request" ev_s1_eventlogd 16 100 "$((50 + 10 * DATASET_NO + 1))" ;;
	s2) run_eventlogd s2 "(s2) eventlogd, 64 clients x 1 event/request" ev_s2_eventlogd 64 1 "$((50 + 10 * DATASET_NO + 2))" ;;
	rs) run_peer rs "(rs) rsyslog ompgsql, disk-assisted queue, 1000/transaction" ev_rs_rsyslog rsyslog "$PEER_PORT" ;;
	ng) run_peer ng "(ng) syslog-ng sql(), 1000/transaction" ev_ng_syslogng syslogng "$((PEER_PORT + 1))" ;;
	e4) run_copy e4 "(e4) psql \\copy into a log, 4 tenant buckets" ev_e4_copy "$COPY_V7" "$ROWS" ;;
	e0) run_copy e0 "(e0) psql \\copy into a log, its indexes dropped" ev_e0_copy "$COPY_V7" "$ROWS" ;;
	e2) run_copy e2 "(e2) psql \\copy into a log without its (tenant_id, subject, received_at) index" ev_e2_copy "$COPY_V7" "$ROWS" ;;
	ep) run_copy ep "(ep) psql \\copy into a log with pglz instead of lz4" ev_ep_copy "$COPY_V7" "$ROWS" ;;
	f+) run_copy f+ "(f+) as (f), with the log's NOT NULLs and CHECKs" plain_fc "$COPY_V7" "$ROWS" ;;
	g1) run_copy g1 "(g1) as (f), with only the (tenant_id, received_at) index" plain_g1 "$COPY_V7" "$ROWS" ;;
	g2) run_copy g2 "(g2) as (f), with only the (event_id) index" plain_g2 "$COPY_V7" "$ROWS" ;;
	g3) run_copy g3 "(g3) as (f), with only the (tenant_id, subject, received_at) index" plain_g3 "$COPY_V7" "$ROWS" ;;
	esac
}

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
# rate ID: events/s of a contender.
rate() {
	awk -v r="${R_ROWS[$1]:-0}" -v s="${R_SECS[$1]:-0}" 'BEGIN {printf "%.0f", (s > 0 ? r / s : 0)}'
}

# ratio A B: events/s of A over events/s of B ("n/a" when either is missing).
ratio() {
	local a b
	if [ -z "${R_SECS[$1]:-}" ] || [ -z "${R_SECS[$2]:-}" ] || [ "${R_CHECK[$2]}" != "✓" ] ||
		[ "${R_CHECK[$1]}" != "✓" ]; then
		echo "n/a"
		return
	fi
	a=$(rate "$1")
	b=$(rate "$2")
	awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'
}

# cpu_per_m ID: server CPU seconds per million events.
cpu_per_m() {
	awk -v c="${R_CPU[$1]:-0}" -v r="${R_ROWS[$1]:-0}" 'BEGIN {printf "%.1f", (r > 0 ? c / r * 1e6 : 0)}'
}

# cpu_ratio A B: server CPU per event of B over that of A (as events/s would
# be on an idle machine where the server is the bottleneck).
cpu_ratio() {
	if [ "$(ratio "$1" "$2")" = "n/a" ]; then
		echo "n/a"
		return
	fi
	awk -v a="$(cpu_per_m "$1")" -v b="$(cpu_per_m "$2")" 'BEGIN {if (a > 0) printf "%.2f", b / a; else print "n/a"}'
}

# goal LINE-LABEL A B MIN: one goal line with its verdict (informational, never asserted).
goal() {
	local r
	r=$(ratio "$2" "$3")
	if [ "$r" = "n/a" ]; then
		printf -- '- %s: n/a (goal >= %s)\n' "$1" "$4"
	else
		printf -- '- %s: %s (goal >= %s: %s; by server CPU per event: %s)\n' "$1" "$r" "$4" \
			"$(awk -v r="$r" -v g="$4" 'BEGIN {print (r >= g ? "met" : "not met")}')" "$(cpu_ratio "$2" "$3")"
	fi
}

# fmt_int N: N with thousands separators.
fmt_int() {
	echo "$1" | sed -e :a -e 's/\B[0-9]\{3\}\>/,&/;ta'
}

# Which pg_eventlog ran: its version, the installed library and the tree it matches.
ext_description() {
	local so ver head dirty="" match
	so=$("$PG_CONFIG" --pkglibdir)/pg_eventlog.so
	ver=$(bq -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_eventlog'")
	head=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "unknown")
	if [ -n "$(git -C "$ROOT" status --porcelain -- extension Makefile 2>/dev/null)" ]; then
		dirty=" with uncommitted changes to extension/ or the Makefile"
	fi
	if [ -f "$ROOT/pg_eventlog.so" ] && cmp -s "$ROOT/pg_eventlog.so" "$so"; then
		match="the same as this tree's build"
	else
		match="not this tree's build (BENCH_INSTALL=1 installs it)"
	fi
	echo "$ver, library sha256 $(sha256sum "$so" | cut -c1-12) ($match); tree at $head$dirty"
}

# Prints the head of the Markdown report: the run, the machine, the server.
report_head() {
	local mem model pgver settings
	model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
	pgver=$(psql -X -q -At -d postgres -c "SELECT version()")
	settings=$(psql -X -q -At -d postgres -F ' = ' -c "SELECT name, current_setting(name) FROM pg_settings
		WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'synchronous_commit',
			'fsync', 'full_page_writes', 'wal_compression', 'wal_level', 'autovacuum',
			'shared_preload_libraries') ORDER BY name" | paste -sd ';' | sed 's/;/, /g')

	cat <<EOF
# pg_eventlog bench, $STAMP

- Mode: $([ "$QUICK" = 1 ] && echo "quick (BENCH_QUICK=1)" || echo full); data: $DATASETS; contenders: $CONTENDERS
- Machine: $(nproc) CPUs, ${model:-unknown CPU}, $mem RAM, kernel $(uname -r); load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg)
- PostgreSQL: $pgver
- pg_eventlog: $EXT_DESC
- Peers: $PEER_VERSIONS
- Settings: $settings (durability is the default: fsync on, synchronous_commit on; shared_buffers/max_wal_size/checkpoint_timeout sized for ingest; autovacuum off so one contender's table is not vacuumed during the next one's run; a CHECKPOINT, untimed, before each contender)
- Reading: events/s is wall time and moves with whatever else runs on the machine (see the load average). Server CPU is the CPU time of every process of the bench cluster during the contender (backends, WAL writer, checkpointer), which other load disturbs far less. Client CPU is that of the client, daemon or peer processes (pgbench, psql, bench/copyin, bench/minsert; eventlogd + evload; rsyslogd or syslog-ng + the syslog sender), and peak RSS that of the largest of them (for s1/s2 eventlogd's, for rs/ng the peer's). Ack p50/p99 is the latency of a commit as the client sees it: pgbench's per-transaction log for (a)/(b), evload's per-request acks for (s1)/(s2).
- Checks: every table is compared with the events sent to it: the row count, each sent event_id stored exactly once (else lost N / duplicated N), and a checksum: the sum of bench.evhash (hashtext of tenant, type, subject, payload and metadata, jsonb in its canonical text) over what is stored equals that over what was sent, event by event. For eventlogd, "sent" is the events evload saw acknowledged; for the peers, the messages written to their socket.
EOF
}

# Prints the report of one data set: the events, the table, the goals.
report_dataset() {
	local id cpu_c rss lat
	cat <<EOF

## Data set: $DATASET

- Events: $(case $DATASET in
		synthetic) echo "bench/evgen -s $SEED: synthetic, $TENANTS tenants drawn from Zipf (s = 1.1) over 1,000 (the largest has $TOP_TENANT%), 20 event types, 50,000 subjects; payloads ~90 B to 4 KB skewed toward small" ;;
		small) echo "bench/evgen -s $SEED -c: synthetic and compact (~300-byte events, the size DESIGN.md states its performance goals for), $TENANTS tenants drawn from Zipf (s = 1.1) over 1,000 (the largest has $TOP_TENANT%), 20 event types, 50,000 subjects" ;;
		github) echo "bench/evgen -g: the $(wc -l <"$GITHUB_DATA") GitHub webhook deliveries of shared/data replayed to size (each with a fresh event_id); $TENANTS tenants (the largest has $TOP_TENANT%)" ;;
		esac); payload JSON text of $PAYLOAD_BYTES bytes on average (median $PAYLOAD_MED, max $PAYLOAD_MAX); text-COPY rows of $COPY_BYTES bytes, NDJSON lines of $NDJSON_BYTES bytes; event_ids are UUIDv7 of received_at except in (h)
- Logs: eventlog.create_log(name$LOG_ARGS) with its $([ -n "$LOG_ARGS" ] && echo "other defaults (1 day, 16 tenant buckets)" || echo "defaults (1 day, 16 tenant buckets, premake 4)") unless the row says otherwise; COPY-like paths load $ROWS rows; ingest and multi-row INSERT $INGEST_ROWS; the peers $PEER_ROWS (the first of the same events); pgbench runs ${SECONDS_PGBENCH} s with $CLIENTS clients (-j 2, -M prepared; each transaction inserts the next event, with an id of its own); eventlogd's clients post for ${EV_SECONDS} s$([ "${EV_MAX:-0}" -gt 0 ] && echo " or $EV_MAX events, whichever comes first")

| contender | rows | seconds | events/s | vs (a) INSERT | vs (f) ceiling | server CPU s/1M events | client CPU s/1M events | client peak RSS MiB | ack p50 / p99 ms | WAL bytes/event | lost / dup | check |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |
EOF
	for id in "${ORDER[@]}"; do
		cpu_c=$(awk -v c="${R_CCPU[$id]:-}" -v r="${R_ROWS[$id]:-0}" \
			'BEGIN {if (c == "" || r <= 0) print "–"; else printf "%.1f", c / r * 1e6}')
		rss=$(awk -v m="${R_RSS[$id]:-}" 'BEGIN {if (m == "" || m == 0) print "–"; else printf "%.0f", m / 1024}')
		lat=${R_LAT[$id]:-}
		if [ -n "$lat" ] && [ "$lat" != "|" ]; then
			lat="${lat%%|*} / ${lat#*|}"
		else
			lat="–"
		fi
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s |\n' \
			"${R_LABEL[$id]}" "$(fmt_int "${R_ROWS[$id]}")" "${R_SECS[$id]}" "$(fmt_int "$(rate "$id")")" \
			"$(ratio "$id" a)" "$(ratio "$id" f)" \
			"$(cpu_per_m "$id")" "$cpu_c" "$rss" "$lat" \
			"$(awk -v w="${R_WAL[$id]}" -v r="${R_ROWS[$id]}" 'BEGIN {printf "%.0f", (r > 0 ? w / r : 0)}')" \
			"${R_LOST[$id]}" "${R_DUP[$id]}" \
			"${R_CHECK[$id]}${R_NOTE[$id]:+ ${R_NOTE[$id]}}"
	done
	cat <<EOF

Goals of issue 2 (ratios from this run; timings are never asserted):
$(goal "(d) copy_in / (f) ceiling" d f 0.6)
$(goal "(e) \\copy into the log / (f) ceiling" e f 0.6)
$(goal "(c) ingest / (a) single-row INSERT" c a 20)
$(goal "(d) copy_in / (a) single-row INSERT" d a 20)

Index cost on a plain table: (g)/(f) = $(ratio g f), (h)/(f) = $(ratio h f), (g)/(h) = $(ratio g h) (what time-ordered ids save).
Next to the peers: (s1) eventlogd / (rs) rsyslog = $(ratio s1 rs), (s1) / (ng) syslog-ng = $(ratio s1 ng), (m) multi-row INSERT / (a) = $(ratio m a).
EOF
	[ -z "$CHART" ] || printf '\nChart: %s\n' "$CHART"
	ev_report
}

# chart PNG: a bar chart of events/s per contender of the current data set (log scale).
chart() {
	local png=$1 dat=$WORK/chart-$DATASET.dat id
	command -v gnuplot >/dev/null || return 1
	for id in "${ORDER[@]}"; do
		if [ "${R_CHECK[$id]}" = "✓" ]; then
			printf '"%s" %s 0\n' "$id" "$(rate "$id")"
		else
			printf '"%s ✗" %s 1\n' "$id" "$(rate "$id")"
		fi
	done >"$dat"
	gnuplot >/dev/null 2>&1 <<EOF || return 1
set terminal pngcairo size 1100,500 font "sans,10" noenhanced
set output "$png"
set title "pg_eventlog bench $STAMP, data: $DATASET ($(nproc) CPUs; only ratios within one run mean anything)"
set ylabel "events/s (log scale)"
set logscale y
set yrange [100:*]
set style fill solid 0.8
set boxwidth 0.7
set grid ytics
unset key
plot "$dat" using 0:(\$2 > 0 ? \$2 : 1):(int(\$3) != 0 ? 0xd62728 : 0x1f77b4):xtic(1) with boxes lc rgb variable, \
	"" using 0:(\$2 > 0 ? \$2 : 1):(sprintf("%.0f", \$2)) with labels offset 0,0.7 font "sans,8"
EOF
}

# Prints the report of the run (the head, then each data set's part).
report() {
	report_head
	cat "$WORK"/report-*.part
}

# ev_ratio RATE B: RATE events/s over the events/s of contender B.
ev_ratio() {
	if [ -z "${R_SECS[$2]:-}" ] || [ "${R_CHECK[$2]}" != "✓" ]; then
		echo "n/a"
		return
	fi
	awk -v a="$1" -v b="$(rate "$2")" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'
}

# The eventlogd contenders (s1, s2): acked and committed rates, ack latency, goals of issue 3.
ev_report() {
	local id any=0 ack p50 p99 cpu com
	for id in "${ORDER[@]}"; do
		[ -n "${R_EV[$id]:-}" ] && any=1
	done
	[ "$any" = 1 ] || return 0
	cat <<EOF

eventlogd end to end (issue 3): test/e2e/evload posts the bench's NDJSON events (its own event_ids) to sidecar/eventlogd over its Unix socket for ${EV_SECONDS} s; eventlogd spools them with durability fsync (202 after the group-committed fdatasync) and drains them into its own fresh log over the cluster's Unix socket, with its defaults otherwise (batch_max_events 1000, batch_max_ms 100, flush_connections 2); then POST /v1/flush and SIGTERM (exit 0 required). Acked events/s: events acknowledged over evload's load window. Committed events/s: rows in the log over the time from the start of the load to the end of the flush. Ratios: committed (acked in parentheses). evload, eventlogd and PostgreSQL share the machine's $(nproc) CPUs.

| contender | acked events/s | committed events/s | ack p50 ms | ack p99 ms | vs (a) INSERT | vs (e) \copy into a log | eventlogd CPU s per 1M events | rows check |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |
EOF
	for id in "${ORDER[@]}"; do
		[ -n "${R_EV[$id]:-}" ] || continue
		IFS='|' read -r ack p50 p99 cpu <<<"${R_EV[$id]}"
		com=$(rate "$id")
		printf '| %s | %s | %s | %s | %s | %s (%s) | %s (%s) | %s | %s |\n' \
			"${R_LABEL[$id]}" "$(fmt_int "$(printf '%.0f' "$ack")")" "$(fmt_int "$com")" "$p50" "$p99" \
			"$(ev_ratio "$com" a)" "$(ev_ratio "$ack" a)" "$(ev_ratio "$com" e)" "$(ev_ratio "$ack" e)" \
			"$(awk -v c="$cpu" -v r="${R_ROWS[$id]:-0}" 'BEGIN {printf "%.1f", (r > 0 ? c / r * 1e6 : 0)}')" \
			"${R_CHECK[$id]}"
	done
	cat <<EOF

Goals of issue 3 (committed events/s; timings are never asserted):
EOF
	if [ -n "${R_EV[s1]:-}" ]; then
		com=$(rate s1)
		printf -- '- (s1) eventlogd, 16 x 100: %s committed events/s (goal >= 100,000: %s)\n' "$(fmt_int "$com")" \
			"$(awk -v r="$com" 'BEGIN {print (r >= 100000 ? "met" : "not met")}')"
		goal "(s1) eventlogd, 16 x 100 / (e) \\copy into a log" s1 e 0.7
	fi
	if [ -n "${R_EV[s2]:-}" ]; then
		goal "(s2) eventlogd, 64 x 1 / (a) single-row INSERT" s2 a 10
	fi
}

# Replaces the block between the markers in bench/README.md with the report.
update_readme() {
	local readme=$BENCH_DIR/README.md png
	[ -f "$readme" ] && grep -q '^<!-- bench:begin -->' "$readme" || return 0
	awk -v rep="$1" '
		/^<!-- bench:begin -->/ {
			print
			while ((getline line < rep) > 0) {
				# the title of the report becomes a subheading of the README
				if (line ~ /^# pg_eventlog bench, /)
					line = "### Newest full run: " substr(line, 22)
				else if (line ~ /^## /)
					line = "##" line
				# the charts are kept in bench/charts (results are not committed)
				gsub(/bench\/results\/[0-9TZ]+-/, "charts/bench-", line)
				print line
			}
			skip = 1
			next
		}
		/^<!-- bench:end -->/ { skip = 0 }
		!skip { print }
	' "$readme" >"$readme.tmp" && mv "$readme.tmp" "$readme"
	for png in "$RESULTS_DIR/$STAMP"-*.png; do
		[ -f "$png" ] && cp "$png" "$BENCH_DIR/charts/bench-${png##*"$STAMP"-}"
	done
	say "bench/README.md updated (and bench/charts/bench-*.png)"
}

# Builds the bench's own programs into WORK (and eventlogd in its tree).
build_tools() {
	local inc lib
	inc=$("$PG_CONFIG" --includedir)
	lib=$("$PG_CONFIG" --libdir)
	EVGEN=$WORK/evgen
	cc -O2 -Wall -Wextra -Werror -o "$EVGEN" "$ROOT/bench/evgen.c" -lm || die "could not compile bench/evgen.c"
	COPYIN=$WORK/copyin
	cc -O2 -Wall -Wextra -Werror -I"$inc" -o "$COPYIN" "$ROOT/bench/copyin.c" -L"$lib" -lpq ||
		die "could not compile bench/copyin.c (libpq-dev)"
	MINSERT=$WORK/minsert
	cc -O2 -Wall -Wextra -Werror -I"$inc" -o "$MINSERT" "$ROOT/bench/minsert.c" -L"$lib" -lpq ||
		die "could not compile bench/minsert.c (libpq-dev)"
	case " $CONTENDERS " in
	*" s1 "* | *" s2 "*)
		say "building sidecar/eventlogd and test/e2e/evload"
		make -C "$ROOT/sidecar" -s >&2 || die "make -C sidecar failed"
		[ -x "$EVENTLOGD" ] || die "sidecar/eventlogd was not built"
		command -v curl >/dev/null || die "curl is not installed"
		EVLOAD=$WORK/evload
		cc -O2 -o "$EVLOAD" "$ROOT/test/e2e/evload.c" -lpthread || die "could not compile test/e2e/evload.c"
		;;
	esac
	PEER_VERSIONS="rsyslog $(awk '$1 == "rsyslog" {print $2}' "$PEERS_DIR/.unpacked" 2>/dev/null) (ompgsql), syslog-ng $(awk '$1 == "syslog-ng-core" {print $2}' "$PEERS_DIR/.unpacked" 2>/dev/null) (sql() over libdbi $(dpkg-query -W -f='${Version}' libdbd-pgsql 2>/dev/null)), from Debian's packages unpacked into $PEERS_DIR"
}

# run_dataset DS: a fresh database bench with the extension, every contender's
# table and the events of data set DS; runs the contenders and writes their part
# of the report to WORK/report-N-DS.part (and its chart next to the results).
run_dataset() {
	local id k=$1
	DATASET=$2
	DATASET_NO=$k
	case $DATASET in
	synthetic | small)
		ROWS=$ROWS_SYN INGEST_ROWS=$INGEST_ROWS_SYN PEER_ROWS=$PEER_ROWS_SYN
		;;
	github)
		[ -f "$GITHUB_DATA" ] || die "no $GITHUB_DATA (BENCH_GITHUB_DATA)"
		ROWS=$((ROWS_SYN / 10)) INGEST_ROWS=$((INGEST_ROWS_SYN / 10)) PEER_ROWS=$((PEER_ROWS_SYN / 10))
		;;
	*) die "unknown data set: $DATASET (synthetic, small or github)" ;;
	esac
	[ "$PEER_ROWS" -le "$INGEST_ROWS" ] || PEER_ROWS=$INGEST_ROWS
	ORDER=()
	R_EV=()
	say "data set $DATASET: $ROWS events ($INGEST_ROWS for ingest, multi-row INSERT and the peers)"
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench" >/dev/null
	bq <<'EOF'
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE EXTENSION pg_eventlog;
-- Logs are owned by eventlog_admin, which creates them in public.
GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;
EOF
	say "creating the contenders' tables: $CONTENDERS"
	create_tables
	say "generating $ROWS events (bench/evgen, $DATASET)"
	generate_events
	write_event_files
	write_pgbench_scripts
	say "events: payloads of $PAYLOAD_BYTES bytes on average, COPY rows of $COPY_BYTES bytes, NDJSON lines of $NDJSON_BYTES bytes"
	for id in $CONTENDERS; do
		say "running ($id) on $DATASET"
		run_contender "$id"
	done
	rm -f "$COPY_V7" "$COPY_V4" "$NDJSON"
	mkdir -p "$RESULTS_DIR"
	CHART="bench/results/$STAMP-$DATASET.png"
	chart "$ROOT/$CHART" || {
		say "note: no chart (gnuplot failed)"
		CHART=""
	}
	report_dataset >"$WORK/report-$k-$DATASET.part"
}

# ---------------------------------------------------------------------------
# Lock, cluster, extension, tools, then per data set: tables, events, contenders; report.
main() {
	local ds k=0 pgver passed=0 failed=0 id start=$SECONDS
	exec 9>"$LOCK_FILE"
	if ! flock -n 9; then
		say "another bench holds $LOCK_FILE; waiting for it (only one bench at a time)"
		flock 9
	fi

	ensure_extension
	BINDIR=$("$PG_CONFIG" --bindir)
	pgver=$("$PG_CONFIG" --version)
	case $pgver in
	"PostgreSQL 15"*) ;;
	*) say "note: $pgver (the bench targets PostgreSQL 15)" ;;
	esac
	[ -x /usr/bin/time ] || die "GNU time is not installed (make deps)"
	for ds in $DATASETS; do
		case $ds in
		synthetic | small) ;;
		github) [ -f "$GITHUB_DATA" ] || die "no $GITHUB_DATA (set BENCH_GITHUB_DATA or EVENTLOG_DATA_DIR, or BENCH_DATA=synthetic)" ;;
		*) die "unknown data set: $ds (synthetic, small or github)" ;;
		esac
	done

	STAMP=$(date -u +%Y%m%dT%H%M%SZ)
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	WORK=$(mktemp -d /tmp/pgel-bench.XXXXXX)
	chmod 711 "$WORK"
	CLUSTER_DIR=$WORK/pg
	mkdir -p "$CLUSTER_DIR"
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	build_tools
	say "starting a PostgreSQL cluster in $CLUSTER_DIR on port $PORT"
	# The server must not inherit the lock (fd 9), or a kept cluster would hold it.
	cluster_start 9>&-
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE bench" >/dev/null
	# The library is loaded at server start: describe the one that runs.
	bq -c "CREATE SCHEMA partman" -c "CREATE EXTENSION pg_partman SCHEMA partman" -c "CREATE EXTENSION pg_eventlog"
	EXT_DESC=$(ext_description)

	for ds in $DATASETS; do
		k=$((k + 1))
		run_dataset "$k" "$ds"
		for id in "${ORDER[@]}"; do
			if [ "${R_CHECK[$id]}" = "✓" ]; then
				passed=$((passed + 1))
			else
				failed=$((failed + 1))
			fi
		done
	done

	report >"$WORK/report.md"
	cat "$WORK/report.md"
	cp "$WORK/report.md" "$RESULTS_DIR/$STAMP.md"
	say "written to bench/results/$STAMP.md (charts: bench/results/$STAMP-*.png)"
	if [ "$QUICK" != 1 ] && [ -z "${BENCH_ONLY:-}" ] && [ "${BENCH_UPDATE_README:-1}" != 0 ]; then
		update_readme "$WORK/report.md"
	fi
	say "bench wall time: $((SECONDS - start)) s"
	if [ "$FAILED" != 0 ]; then
		say "correctness check failed (✗ above)"
	fi
	# one result per contender and data set, for scripts/test.sh
	echo "$passed passed, $failed failed"
	[ "$FAILED" = 0 ] || exit 1
}

main "$@"
