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
#   c   eventlog.ingest(log, jsonb array of 1,000 events), 1 client
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
#       (test/e2e/evload posts the bench's NDJSON events for BENCH_EV_SECONDS over
#       eventlogd's Unix socket, then POST /v1/flush and SIGTERM; acked and
#       committed events/s and ack latency p50/p99 are reported)
# With BENCH_ANALYSIS=1 (where the time goes), also:
#   e4  psql \copy into a log made with tenant_buckets 4
#   e2  psql \copy into a log whose (tenant_id, subject, received_at) index was dropped (the default layout keeps it off open partitions already)
#   e0  psql \copy into a log whose indexes were dropped
#   f+  psql \copy into a plain table with the log's NOT NULLs and CHECKs
#   g1, g2, g3  psql \copy into a plain table with one of the log's indexes each
#
# Correctness is asserted, timings never: each contender's table must hold
# exactly the rows that were sent (and that the path reported), else its row
# is marked ✗ and the script exits 1 after printing the table.
#
# Environment:
#   BENCH_QUICK=1        scale everything down (CI)
#   BENCH_ANALYSIS=1     add the analysis contenders above
#   BENCH_ONLY="a e f"   run only these contenders
#   BENCH_ROWS           rows for the COPY-like paths (default 1000000; quick 100000)
#   BENCH_INGEST_ROWS    rows for ingest (default 200000; quick 20000)
#   BENCH_SECONDS        pgbench duration (default 20; quick 5)
#   BENCH_EV_SECONDS     evload duration of s1 and s2 (default 20; quick 5)
#   BENCH_CHUNK_ROWS     rows per copy_in call (default 10000)
#   BENCH_PORT           port of the bench cluster (default 55460)
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
	ROWS=${BENCH_ROWS:-100000}
	INGEST_ROWS=${BENCH_INGEST_ROWS:-20000}
	SECONDS_PGBENCH=${BENCH_SECONDS:-5}
	EV_SECONDS=${BENCH_EV_SECONDS:-5}
else
	ROWS=${BENCH_ROWS:-1000000}
	INGEST_ROWS=${BENCH_INGEST_ROWS:-200000}
	SECONDS_PGBENCH=${BENCH_SECONDS:-20}
	EV_SECONDS=${BENCH_EV_SECONDS:-20}
fi
CHUNK_ROWS=${BENCH_CHUNK_ROWS:-10000}
INGEST_BATCH=1000
CLIENTS=8
PORT=${BENCH_PORT:-55460}
ANALYSIS=${BENCH_ANALYSIS:-0}
DEFAULT_CONTENDERS="a b c c2 d d2 e f g h s1 s2"
if [ "$ANALYSIS" = "1" ]; then
	DEFAULT_CONTENDERS="$DEFAULT_CONTENDERS e4 e2 e0 f+ g1 g2 g3"
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
EV_PID=""
declare -A R_EV=()

# Progress on stderr.
say() {
	printf '==> %s\n' "$*" >&2
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
CLK_TCK=$(getconf CLK_TCK)
ORDER=()

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

# Untimed: flush the previous contender's dirty buffers so each starts alike.
settle() {
	bq -c 'CHECKPOINT'
	WAL0=$(wal_lsn)
	CPU0=$(server_cpu)
}

# record ID LABEL SENT REPORTED SECONDS TABLE [NOTE]: checks the table's rows.
record() {
	local id=$1 label=$2 sent=$3 reported=$4 secs=$5 table=$6 note=${7:-} stored wal cpu
	cpu=$(awk -v a="$CPU0" -v b="$(server_cpu)" 'BEGIN {printf "%.2f", b - a}')
	wal=$(bq -c "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$WAL0')") || wal=0
	stored=$(bq -c "SELECT count(*) FROM $table") || stored=-1
	ORDER+=("$id")
	R_LABEL[$id]=$label
	R_ROWS[$id]=$stored
	R_SECS[$id]=$secs
	R_WAL[$id]=$wal
	R_CPU[$id]=$cpu
	if [ "$stored" = "$sent" ] && [ "$reported" = "$sent" ] && [ "$sent" -gt 0 ]; then
		R_CHECK[$id]="✓"
	else
		R_CHECK[$id]="✗"
		note="sent $sent, reported $reported, stored $stored${note:+; $note}"
		FAILED=1
	fi
	R_NOTE[$id]=$note
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
	R_CHECK[$1]="✗"
	R_NOTE[$1]=$3
	FAILED=1
	say "$1: FAILED: $3"
}

# run_pgbench ID LABEL TABLE SCRIPT: CLIENTS clients for SECONDS_PGBENCH seconds.
run_pgbench() {
	local id=$1 label=$2 table=$3 script=$4 out processed failed tps secs
	out=$WORK/pgbench-$id.out
	settle
	if ! pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_PGBENCH" -D nsrc="$ROWS" \
		-f "$script" bench >"$out" 2>&1; then
		record_error "$id" "$label" "pgbench failed: $(grep -m1 -i error "$out" || tail -n1 "$out")"
		return
	fi
	processed=$(awk -F': ' '/^number of transactions actually processed/ {split($2, a, "/"); print a[1]}' "$out")
	failed=$(awk -F': ' '/^number of failed transactions/ {split($2, a, " "); print a[1]}' "$out")
	tps=$(awk '/^tps = / {print $3}' "$out")
	secs=$(awk -v n="$processed" -v t="$tps" 'BEGIN {printf "%.2f", (t > 0 ? n / t : 0)}')
	record "$id" "$label" "$processed" "$processed" "$secs" "$table" \
		"$([ "${failed:-0}" != 0 ] && echo "$failed failed transactions")"
}

# run_copy ID LABEL TABLE FILE ROWS: one psql \copy of FILE (ROWS rows) into TABLE.
run_copy() {
	local id=$1 label=$2 table=$3 file=$4 sent=$5 t0 t1 out reported
	settle
	t0=$(now)
	if ! out=$(psql -X -v ON_ERROR_STOP=1 -d bench -c "\\copy $table FROM '$file'" 2>&1); then
		record_error "$id" "$label" "$(echo "$out" | head -n1)"
		return
	fi
	t1=$(now)
	reported=$(echo "$out" | awk '/^COPY / {print $2}')
	record "$id" "$label" "$sent" "${reported:-none}" "$(secs "$t0" "$t1")" "$table"
}

# secs T0 T1: elapsed seconds.
secs() {
	awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'
}

# Writes the ingest() calls for FILE into OUT.K (K = 0 .. clients-1), batch by batch in turn.
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

# ingest_client K: client K of run_ingest (its share of the calls).
ingest_client() {
	bq -f "$WORK/ingest-$RUN_ID.sql.$1"
}

# run_ingest ID LABEL TABLE CLIENTS: the NDJSON events through ingest(), INGEST_BATCH per call.
run_ingest() {
	local id=$1 label=$2 table=$3 clients=$4 reported
	ingest_scripts "$table" "$NDJSON" "$WORK/ingest-$id.sql" "$clients"
	settle
	RUN_ID=$id
	if ! run_clients "$WORK/ingest-$id.out" "$clients" ingest_client; then
		record_error "$id" "$label" "$(grep -h -m1 ERROR "$WORK"/ingest-"$id".out.* | head -n1)"
		return
	fi
	reported=$(cat "$WORK"/ingest-"$id".out.* | awk '{s += $1} END {print s + 0}')
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
	record "$id" "$label" "$ROWS" "$reported" "$(secs "$T0" "$T1")" "$table"
}

# copy_in_client K: client K of run_copy_in (its part of the file).
copy_in_client() {
	"$COPYIN" -d "dbname=bench" -t "$RUN_TABLE" -f "$WORK/copy_in-$RUN_ID.part.$(printf %02d "$1")" -n "$CHUNK_ROWS"
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
# 8000-<counter>) from CLIENTS connections, PER_REQ events per request, for EV_SECONDS;
# then POST /v1/flush (returns once every acknowledged event is committed), then SIGTERM
# (eventlogd must drain and exit 0). Rows in the log must equal the events acknowledged.
# The row's seconds run from the start of the load to the end of the flush (committed
# events/s); acked events/s (over evload's load window) and ack latency go in R_EV.
run_eventlogd() {
	local id=$1 label=$2 table=$3 clients=$4 per_req=$5 run=$6 dir i code="" t0 t1 ev_pid
	local ev_rc=0 rc=0 line acked ack_rate p50 p99 committed st ev_cpu="" f extra=""
	dir=$WORK/eventlogd-$id
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
	"$EVLOAD" -U "$EV_SOCK" -l "$table" -c "$clients" -b "$per_req" -d "$EV_SECONDS" -f "$NDJSON" \
		-r "$run" >"$dir/evload.out" 2>&1 9>&- &
	ev_pid=$!
	CHILD_PIDS+=("$ev_pid")
	wait "$ev_pid" || ev_rc=$?
	code=$(ev_curl /v1/flush -m 900 -X POST -o "$dir/flush.json" -w '%{http_code}' || true)
	t1=$(now)
	committed=$(ev_curl /metrics -m 5 | awk '$1 == "eventlogd_committed_events_total" {printf "%.0f", $2}')
	# eventlogd's own CPU time (user + system) over its whole life
	if read -r -a f <"/proc/$EV_PID/stat" 2>/dev/null; then
		ev_cpu=$(awk -v t=$((f[13] + f[14])) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
	fi
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
	local name=$1 indexes=$2 checks=${3:-0} i
	bq <<EOF
CREATE TABLE $name (
	event_id uuid, tenant_id text, event_type text, subject text, occurred_at timestamptz,
	received_at timestamptz, schema_version int, payload jsonb, metadata jsonb);
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
		a) bq -c "SELECT eventlog.create_log('ev_a_insert')" >/dev/null ;;
		b) bq -c "SELECT eventlog.create_log('ev_b_append')" >/dev/null ;;
		c) bq -c "SELECT eventlog.create_log('ev_c_ingest')" >/dev/null ;;
		c2) bq -c "SELECT eventlog.create_log('ev_c2_ingest')" >/dev/null ;;
		d2) bq -c "SELECT eventlog.create_log('ev_d2_copy_in')" >/dev/null ;;
		d) bq -c "SELECT eventlog.create_log('ev_d_copy_in')" >/dev/null ;;
		e) bq -c "SELECT eventlog.create_log('ev_e_copy')" >/dev/null ;;
		s1) bq -c "SELECT eventlog.create_log('ev_s1_eventlogd')" >/dev/null ;;
		s2) bq -c "SELECT eventlog.create_log('ev_s2_eventlogd')" >/dev/null ;;
		e4) bq -c "SELECT eventlog.create_log('ev_e4_copy', tenant_buckets => 4)" >/dev/null ;;
		e0)
			bq -c "SELECT eventlog.create_log('ev_e0_copy')" >/dev/null
			drop_log_indexes ev_e0_copy '%'
			;;
		e2)
			bq -c "SELECT eventlog.create_log('ev_e2_copy')" >/dev/null
			drop_log_indexes ev_e2_copy '%subject%'
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

# The events: generated once in SQL (deterministic: hashtext of the row
# number), stamped with received_at from now on, ids UUIDv7 of received_at.
generate_events() {
	local n=$ROWS
	[ "$INGEST_ROWS" -le "$n" ] || n=$INGEST_ROWS
	bq -v n="$n" <<'EOF'
CREATE SCHEMA bench;
-- A uniform number in [0, 1) for row n and a salt: deterministic across runs.
CREATE FUNCTION bench.u(n bigint, salt text) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (hashtext(salt || ':' || n::text) & 2147483647)::float8 / 2147483648.0 $$;
-- Picks an element of arr for row n and a salt.
CREATE FUNCTION bench.pick(arr text[], n bigint, salt text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT arr[1 + floor(bench.u(n, salt) * array_length(arr, 1))::int] $$;

CREATE TABLE bench.src AS
SELECT s.n, eventlog.uuidv7(s.received_at) AS event_id, s.tenant_id, s.event_type, s.subject,
	s.occurred_at, s.received_at, s.schema_version, s.payload, s.metadata
  FROM (
SELECT n,
	-- ~100 tenants, skewed: tenant 000 gets ~10% of events, the tail ~0.1% each
	'tenant-' || lpad(floor(100 * power(bench.u(n, 't'), 2))::int::text, 3, '0') AS tenant_id,
	bench.pick('{user.login,user.logout,user.signup,user.password_reset,user.mfa_enabled,
		order.created,order.paid,order.shipped,order.refunded,order.cancelled,
		invoice.issued,invoice.voided,payment.failed,payment.captured,
		api_key.created,api_key.revoked,role.granted,role.revoked,
		document.viewed,document.exported}'::text[], n, 'e') AS event_type,
	'user-' || floor(bench.u(n, 's') * 50000)::int AS subject,
	t0 + n * interval '10 microseconds' - bench.u(n, 'o') * interval '2 seconds' AS occurred_at,
	t0 + n * interval '10 microseconds' AS received_at,
	1 AS schema_version,
	jsonb_build_object(
		'actor', jsonb_build_object(
			'id', 'u-' || floor(bench.u(n, 'a') * 50000)::int,
			'role', bench.pick('{admin,member,viewer,service}', n, 'r'),
			'ip', '10.' || floor(bench.u(n, 'i1') * 256)::int || '.' || floor(bench.u(n, 'i2') * 256)::int
				  || '.' || floor(bench.u(n, 'i3') * 256)::int),
		'resource', jsonb_build_object(
			'type', bench.pick('{invoice,order,document,account,project}', n, 'y'),
			'id', 'r-' || floor(bench.u(n, 'd') * 1e7)::int,
			'amount', round((bench.u(n, 'm') * 10000)::numeric, 2),
			'currency', bench.pick('{EUR,USD,GBP,JPY}', n, 'c')),
		'status', bench.pick('{ok,ok,ok,ok,denied,error}', n, 'st'),
		'latency_ms', floor(bench.u(n, 'l') * 800)::int,
		'tags', jsonb_build_array(bench.pick('{web,mobile,api,batch}', n, 'g1'),
								  bench.pick('{eu-west,us-east,ap-south}', n, 'g2'))) AS payload,
	jsonb_build_object('trace_id', substr(md5('m' || n), 1, 16)) AS metadata
  FROM (SELECT now() AS t0) t, generate_series(1, :n) AS n
) s;
ALTER TABLE bench.src ADD PRIMARY KEY (n);
VACUUM ANALYZE bench.src;
EOF
}

# Writes the events once: text-COPY (v7 ids, and v4 ids for h) and NDJSON.
write_event_files() {
	COPY_V7=$WORK/events-v7.copy
	COPY_V4=$WORK/events-v4.copy
	NDJSON=$WORK/events.ndjson
	local cols="tenant_id, event_type, subject, occurred_at, received_at, schema_version, payload, metadata"
	bq -c "\\copy (SELECT event_id, $cols FROM bench.src WHERE n <= $ROWS ORDER BY n) TO '$COPY_V7'"
	case " $CONTENDERS " in
	*" h "*)
		bq -c "\\copy (SELECT gen_random_uuid(), $cols FROM bench.src WHERE n <= $ROWS ORDER BY n) TO '$COPY_V4'"
		;;
	esac
	# The envelope as a producer sends it: received_at is the server's to stamp.
	bq -o "$NDJSON" -c "SELECT jsonb_build_object('event_id', event_id, 'tenant_id', tenant_id,
		'event_type', event_type, 'subject', subject, 'occurred_at', occurred_at,
		'schema_version', schema_version, 'payload', payload, 'metadata', metadata)
		FROM bench.src WHERE n <= $INGEST_ROWS ORDER BY n"
	INGEST_SENT=$(wc -l <"$NDJSON")
	[ "$(wc -l <"$COPY_V7")" -eq "$ROWS" ] || die "the COPY file does not have $ROWS rows"
	[ "$INGEST_SENT" -eq "$INGEST_ROWS" ] || die "the NDJSON file does not have $INGEST_ROWS rows"
	if grep -q '\\' "$NDJSON"; then
		die "generated events contain backslashes; the file writers assume none"
	fi
	COPY_BYTES=$(awk -v s="$(stat -c %s "$COPY_V7")" -v n="$ROWS" 'BEGIN {printf "%.0f", s / n}')
	NDJSON_BYTES=$(awk -v s="$(stat -c %s "$NDJSON")" -v n="$INGEST_ROWS" 'BEGIN {printf "%.0f", s / n}')
	PAYLOAD_BYTES=$(bq -c "SELECT round(avg(octet_length(payload::text))) FROM bench.src WHERE n <= 10000")
}

# Writes the pgbench scripts of (a) and (b): one random event per transaction.
write_pgbench_scripts() {
	local cols="tenant_id, event_type, subject, occurred_at, payload, metadata"
	cat >"$WORK/insert.pgbench" <<EOF
\\set n random(1, :nsrc)
INSERT INTO ev_a_insert ($cols) SELECT $cols FROM bench.src WHERE n = :n;
EOF
	cat >"$WORK/append.pgbench" <<EOF
\\set n random(1, :nsrc)
SELECT eventlog.append('ev_b_append', tenant_id, event_type, payload, subject, occurred_at, NULL, metadata) FROM bench.src WHERE n = :n;
EOF
}

# Runs one contender by id.
run_contender() {
	case $1 in
	a) run_pgbench a "(a) single-row INSERT, $CLIENTS clients" ev_a_insert "$WORK/insert.pgbench" ;;
	b) run_pgbench b "(b) eventlog.append, $CLIENTS clients" ev_b_append "$WORK/append.pgbench" ;;
	c) run_ingest c "(c) eventlog.ingest, $INGEST_BATCH/call, 1 client" ev_c_ingest 1 ;;
	c2) run_ingest c2 "(c2) eventlog.ingest, $INGEST_BATCH/call, 2 clients" ev_c2_ingest 2 ;;
	d) run_copy_in d "(d) eventlog.copy_in text, $CHUNK_ROWS/call, 1 client" ev_d_copy_in 1 ;;
	d2) run_copy_in d2 "(d2) eventlog.copy_in text, $CHUNK_ROWS/call, 2 clients" ev_d2_copy_in 2 ;;
	e) run_copy e "(e) psql \\copy into a log" ev_e_copy "$COPY_V7" "$ROWS" ;;
	f) run_copy f "(f) psql \\copy into a plain table, no index (ceiling)" plain_f "$COPY_V7" "$ROWS" ;;
	g) run_copy g "(g) psql \\copy into a plain table, the log's ingest-time indexes" plain_g "$COPY_V7" "$ROWS" ;;
	h) run_copy h "(h) as (g), random v4 event_ids" plain_h "$COPY_V4" "$ROWS" ;;
	s1) run_eventlogd s1 "(s1) eventlogd, 16 clients x 100 events/request" ev_s1_eventlogd 16 100 51 ;;
	s2) run_eventlogd s2 "(s2) eventlogd, 64 clients x 1 event/request" ev_s2_eventlogd 64 1 52 ;;
	e4) run_copy e4 "(e4) psql \\copy into a log, 4 tenant buckets" ev_e4_copy "$COPY_V7" "$ROWS" ;;
	e0) run_copy e0 "(e0) psql \\copy into a log, its indexes dropped" ev_e0_copy "$COPY_V7" "$ROWS" ;;
	e2) run_copy e2 "(e2) psql \\copy into a log without its (tenant_id, subject, received_at) index" ev_e2_copy "$COPY_V7" "$ROWS" ;;
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
		dirty=" with local changes to extension/"
	fi
	if [ -f "$ROOT/pg_eventlog.so" ] && cmp -s "$ROOT/pg_eventlog.so" "$so"; then
		match="the same as this tree's build"
	else
		match="not this tree's build (BENCH_INSTALL=1 installs it)"
	fi
	echo "$ver, library sha256 $(sha256sum "$so" | cut -c1-12) ($match); tree at $head$dirty"
}

# Prints the Markdown report of the run.
report() {
	local id mem model pgver settings
	model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
	pgver=$(bq -c "SELECT version()")
	settings=$(bq -F ' = ' -c "SELECT name, current_setting(name) FROM pg_settings
		WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'synchronous_commit',
			'fsync', 'full_page_writes', 'wal_compression', 'wal_level', 'autovacuum',
			'shared_preload_libraries') ORDER BY name" | paste -sd ';' | sed 's/;/, /g')

	cat <<EOF
# pg_eventlog bench, $STAMP

- Mode: $([ "$QUICK" = 1 ] && echo "quick (BENCH_QUICK=1)" || echo full); contenders: $CONTENDERS
- Machine: $(nproc) CPUs, ${model:-unknown CPU}, $mem RAM, kernel $(uname -r); load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg)
- PostgreSQL: $pgver
- pg_eventlog: $EXT_DESC
- Settings: $settings (durability is the default: fsync on, synchronous_commit on; shared_buffers/max_wal_size/checkpoint_timeout sized for ingest; autovacuum off so one contender's table is not vacuumed during the next one's run; a CHECKPOINT, untimed, before each contender)
- Events: $ROWS generated once in SQL (deterministic), ~100 tenants (skewed: the largest has ~10%), 20 event types; text-COPY rows of $COPY_BYTES bytes on average (payload $PAYLOAD_BYTES bytes as JSON text), NDJSON lines of $NDJSON_BYTES bytes; event_ids are UUIDv7 of received_at except in (h)
- Logs: eventlog.create_log(name) with its defaults (1 day, 16 tenant buckets, premake 4) unless the row says otherwise; COPY-like paths load $ROWS rows, ingest $INGEST_ROWS, pgbench runs ${SECONDS_PGBENCH} s with $CLIENTS clients (-j 2, -M prepared; each transaction inserts one random row of the same events)
- Reading: events/s is wall time and moves with whatever else runs on the machine (see the load average); server CPU is the CPU time of every process of the bench cluster during the contender (backends, WAL writer, checkpointer), which other load disturbs far less. The CPU-based ratios below divide CPU per event.

| contender | rows | seconds | events/s | vs (a) INSERT | vs (f) ceiling | server CPU s per 1M events | WAL bytes/event | rows check |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |
EOF
	for id in "${ORDER[@]}"; do
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
			"${R_LABEL[$id]}" "$(fmt_int "${R_ROWS[$id]}")" "${R_SECS[$id]}" "$(fmt_int "$(rate "$id")")" \
			"$(ratio "$id" a)" "$(ratio "$id" f)" \
			"$(cpu_per_m "$id")" \
			"$(awk -v w="${R_WAL[$id]}" -v r="${R_ROWS[$id]}" 'BEGIN {printf "%.0f", (r > 0 ? w / r : 0)}')" \
			"${R_CHECK[$id]}${R_NOTE[$id]:+ ${R_NOTE[$id]}}"
	done
	cat <<EOF

Goals of issue 2 (ratios from this run; timings are never asserted):
$(goal "(d) copy_in / (f) ceiling" d f 0.6)
$(goal "(e) \\copy into the log / (f) ceiling" e f 0.6)
$(goal "(c) ingest / (a) single-row INSERT" c a 20)
$(goal "(d) copy_in / (a) single-row INSERT" d a 20)

Index cost on a plain table: (g)/(f) = $(ratio g f), (h)/(f) = $(ratio h f), (g)/(h) = $(ratio g h) (what time-ordered ids save).
EOF
	ev_report
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
	local readme=$BENCH_DIR/README.md
	[ -f "$readme" ] && grep -q '^<!-- bench:begin -->' "$readme" || return 0
	awk -v rep="$1" '
		/^<!-- bench:begin -->/ {
			print
			while ((getline line < rep) > 0) {
				# the title of the report becomes a subheading of the README
				if (line ~ /^# pg_eventlog bench, /)
					line = "### Newest full run: " substr(line, 22)
				print line
			}
			skip = 1
			next
		}
		/^<!-- bench:end -->/ { skip = 0 }
		!skip { print }
	' "$readme" >"$readme.tmp" && mv "$readme.tmp" "$readme"
	say "bench/README.md updated"
}

# ---------------------------------------------------------------------------
# Lock, cluster, extension, tables, events, contenders, report.
main() {
	local id pgver
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

	STAMP=$(date -u +%Y%m%dT%H%M%SZ)
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	WORK=$(mktemp -d /tmp/pgel-bench.XXXXXX)
	chmod 711 "$WORK"
	CLUSTER_DIR=$WORK/pg
	mkdir -p "$CLUSTER_DIR"
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	say "starting a PostgreSQL cluster in $CLUSTER_DIR on port $PORT"
	# The server must not inherit the lock (fd 9), or a kept cluster would hold it.
	cluster_start 9>&-
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE bench" >/dev/null
	bq <<'EOF'
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE EXTENSION pg_eventlog;
-- Logs are owned by eventlog_admin, which creates them in public.
GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;
EOF
	# The library is loaded at server start: describe the one that runs.
	EXT_DESC=$(ext_description)
	say "creating the contenders' tables: $CONTENDERS"
	create_tables
	say "generating $ROWS events"
	generate_events
	write_event_files
	write_pgbench_scripts
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
	case " $CONTENDERS " in
	*" d "* | *" d2 "*)
		COPYIN=$WORK/copyin
		cc -O2 -Wall -Wextra -Werror -I"$("$PG_CONFIG" --includedir)" -o "$COPYIN" \
			"$ROOT/bench/copyin.c" -L"$("$PG_CONFIG" --libdir)" -lpq ||
			die "could not compile bench/copyin.c (libpq-dev)"
		;;
	esac
	say "events: COPY rows of $COPY_BYTES bytes, NDJSON lines of $NDJSON_BYTES bytes"

	for id in $CONTENDERS; do
		say "running ($id)"
		run_contender "$id"
	done

	mkdir -p "$RESULTS_DIR"
	report >"$WORK/report.md"
	cat "$WORK/report.md"
	cp "$WORK/report.md" "$RESULTS_DIR/$STAMP.md"
	say "written to bench/results/$STAMP.md"
	if [ "$QUICK" != 1 ] && [ -z "${BENCH_ONLY:-}" ] && [ "${BENCH_UPDATE_README:-1}" != 0 ]; then
		update_readme "$WORK/report.md"
	fi
	if [ "$FAILED" != 0 ]; then
		say "correctness check failed (✗ above)"
		exit 1
	fi
}

main "$@"
