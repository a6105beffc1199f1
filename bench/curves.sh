#!/usr/bin/env bash
# Cost curves of pg_eventlog (issue 6): how ingest and reads behave as a log
# grows, how throughput moves with batch size, client count and tenant count,
# and how much memory eventlogd holds while its spool absorbs a backlog.
# Writes CSV files, PNG charts (bench/plot/curves.gp, gnuplot) and a summary
# under bench/results/curves-<UTC start time>/. See bench/CURVES.md.
#
# Usage: bench/curves.sh                 full: the log grows to 50,000,000 rows
#        CURVES_QUICK=1 bench/curves.sh  quick: 2,000,000 rows, short sweeps
#        CURVES_ONLY="sweep rss" bench/curves.sh
#
# Phases (CURVES_ONLY, default "growth sweep rss"):
#   growth  one log (eventlog.create_log defaults) loaded through eventlog.copy_in
#           in chunks (bench/copyin: 10,000 rows a call, one transaction a call);
#           per chunk: events/s, COPY backend and server CPU and WAL per event
#           (growth_ingest.csv); at the end the plans behind the probes (growth_explain.txt);
#           every CURVES_PROBE_EVERY rows: p50/p99 of eventlog.events() (first
#           keyset page of 100 for a random tenant and hour) and eventlog.get_event()
#           (random existing ids) over CURVES_PROBE_CALLS calls each (growth_latency.csv)
#   sweep   fresh logs: copy_in rows per call 1..10,000 (sweep_batch.csv); clients
#           1..256 for eventlog.append (pgbench) and for eventlogd with one event per
#           request (evload) (sweep_clients.csv); tenants 1..100,000 through copy_in
#           and through eventlogd (sweep_tenants.csv)
#   rss     eventlogd with PostgreSQL down: evload fills the spool up to
#           CURVES_RSS_SPOOL while VmRSS is sampled; then PostgreSQL starts and the
#           backlog drains, still sampled (rss.csv)
#
# Environment:
#   CURVES_QUICK=1          scaled down (about 7 minutes; the full run takes about 50)
#   CURVES_ONLY             phases to run (see above)
#   CURVES_SWEEPS           sweeps of the sweep phase (default "batch clients tenants")
#   CURVES_ROWS             rows the log grows to (default 50000000; quick 2000000)
#   CURVES_CHUNK            rows per timed chunk (default 1000000; quick 200000)
#   CURVES_PROBE_EVERY      rows between latency probes (default 5000000; quick 500000)
#   CURVES_PROBE_CALLS      calls per probe and function (default 500; quick 200)
#   CURVES_ROWS_PER_DAY     rows per day of received_at (default CURVES_ROWS: the whole
#                           run lands in one day's partitions, the harshest case for indexes)
#   CURVES_LOADER           copy_in (default) or copy (psql \copy of each chunk)
#   CURVES_MAX_MINUTES      stop the growth after this many minutes (0: no limit)
#   CURVES_SWEEP_ROWS       rows per copy_in sweep point (default 500000; quick 100000)
#   CURVES_SWEEP_SECONDS    seconds per client/tenant sweep point (default 10; quick 4)
#   CURVES_RSS_SPOOL        spool size for the rss phase (default 2G; quick 256M)
#   CURVES_SCRATCH          directory for the cluster and files (default: /tmp,
#                           /var/tmp or /work, whichever has most room)
#   CURVES_OUT              write into this results directory (default a new one)
#   CURVES_PORT             PostgreSQL port (default 55480; the rss phase uses +1)
#   CURVES_AUTOVACUUM       on (default: as in production) or off
#   CURVES_KEEP=1           keep the scratch directory and leave the cluster running
#   CURVES_INSTALL=1        build and install pg_eventlog from this tree first (done
#                           anyway when PG_CONFIG's install lacks it)
#   PG_CONFIG               pg_config of the PostgreSQL to run (default: pg_config)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH_DIR=$ROOT/bench
export PG_CONFIG=${PG_CONFIG:-pg_config}

QUICK=${CURVES_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROWS=${CURVES_ROWS:-2000000}
	CHUNK=${CURVES_CHUNK:-200000}
	PROBE_EVERY=${CURVES_PROBE_EVERY:-500000}
	PROBE_CALLS=${CURVES_PROBE_CALLS:-200}
	SWEEP_ROWS=${CURVES_SWEEP_ROWS:-100000}
	SWEEP_SECONDS=${CURVES_SWEEP_SECONDS:-4}
	RSS_SPOOL=${CURVES_RSS_SPOOL:-256M}
	CLIENT_STEPS="1 4 16 64 256"
	TENANT_STEPS="1 100 10000 100000"
else
	ROWS=${CURVES_ROWS:-50000000}
	CHUNK=${CURVES_CHUNK:-1000000}
	PROBE_EVERY=${CURVES_PROBE_EVERY:-5000000}
	PROBE_CALLS=${CURVES_PROBE_CALLS:-500}
	SWEEP_ROWS=${CURVES_SWEEP_ROWS:-500000}
	SWEEP_SECONDS=${CURVES_SWEEP_SECONDS:-10}
	RSS_SPOOL=${CURVES_RSS_SPOOL:-2G}
	CLIENT_STEPS="1 2 4 8 16 32 64 128 256"
	TENANT_STEPS="1 10 100 1000 10000 100000"
fi
BATCH_STEPS="1 10 100 1000 10000"
ROWS_PER_DAY=${CURVES_ROWS_PER_DAY:-$ROWS}
LOADER=${CURVES_LOADER:-copy_in}
MAX_MINUTES=${CURVES_MAX_MINUTES:-0}
PHASES=${CURVES_ONLY:-growth sweep rss}
SWEEPS=${CURVES_SWEEPS:-batch clients tenants}
PORT=${CURVES_PORT:-55480}
RSS_PORT=$((PORT + 1))
AUTOVACUUM=${CURVES_AUTOVACUUM:-on}
COPY_PER_CALL=10000
LOCK_FILE=/tmp/pg_eventlog-curves.lock
# received_at of row 0: midnight UTC today, so the rows of the first day land in
# partitions that create_log premade (later days are premade too, up to premake).
BASE_US=$(($(date -u -d "$(date -u +%F)" +%s) * 1000000))
STEP_US=$((86400000000 / ROWS_PER_DAY))
[ "$STEP_US" -ge 1 ] || STEP_US=1

WORK=""
OUT=""
CLUSTER_DIR=""
RSS_DIR=""
CHILD_PIDS=()
EV_PID=""
CLK_TCK=$(getconf CLK_TCK)
EVENTLOGD=$ROOT/sidecar/eventlogd

# Progress on stderr, with the time.
say() {
	printf '==> %s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

# Error on stderr, exit 1 (the EXIT trap cleans up).
die() {
	printf 'curves: %s\n' "$*" >&2
	exit 1
}

has_phase() {
	case " $PHASES " in *" $1 "*) return 0 ;; esac
	return 1
}

# to_bytes 2G: a size with an optional K/M/G suffix, in bytes.
to_bytes() {
	numfmt --from=iec "$1"
}

# ---------------------------------------------------------------------------
# Scratch directory and disk space
# ---------------------------------------------------------------------------

# avail_bytes DIR: free bytes on DIR's filesystem for an unprivileged user.
avail_bytes() {
	df -B1 --output=avail "$1" | tail -n1 | tr -d ' '
}

# Bytes the chosen phases need at most: the log's rows (heap + 2 indexes,
# measured ~650 bytes a row; 750 leaves slack), WAL up to max_wal_size (4 GB,
# with room for a checkpoint's overshoot), the chunk file, the sweeps' logs,
# and for rss the spool plus the drained rows. Plus 5 GB that stay free for
# the other users of the machine.
need_bytes() {
	local n=$((5 * 1024 ** 3))
	has_phase growth && n=$((n + ROWS * 750 + 6 * 1024 ** 3 + CHUNK * 800))
	has_phase sweep && n=$((n + 3 * 1024 ** 3))
	has_phase rss && n=$((n + $(to_bytes "$RSS_SPOOL") * 3))
	echo "$n"
}

# Picks the scratch base (CURVES_SCRATCH or the roomiest candidate) and checks
# it has room for need_bytes; refuses clearly otherwise.
pick_scratch() {
	local base best="" best_avail=0 d a need
	if [ -n "${CURVES_SCRATCH:-}" ]; then
		best=$CURVES_SCRATCH
		mkdir -p "$best"
		best_avail=$(avail_bytes "$best")
	else
		for d in /tmp /var/tmp /work; do
			[ -d "$d" ] || continue
			a=$(avail_bytes "$d")
			if [ "$a" -gt "$best_avail" ]; then
				best=$d
				best_avail=$a
			fi
		done
	fi
	need=$(need_bytes)
	say "scratch on $best: $(numfmt --to=iec "$best_avail") free, this run needs up to $(numfmt --to=iec "$need") (incl. 5G left free)"
	df -h /work /tmp >&2 || true
	if [ "$best_avail" -lt "$need" ]; then
		die "not enough disk space on $best: $(numfmt --to=iec "$best_avail") free, $(numfmt --to=iec "$need") needed; lower CURVES_ROWS (each 1M rows takes ~0.7 GB) or set CURVES_SCRATCH"
	fi
	base=$best
	WORK=$(mktemp -d "$base/pgel-curves.XXXXXX")
	# the server user must reach the cluster directory inside
	chmod 711 "$WORK"
}

# ---------------------------------------------------------------------------
# Cluster (scripts/pgcluster.sh, as bench/run.sh uses it)
# ---------------------------------------------------------------------------

# The curves' server settings: bench/run.sh's (sized for ingest, default
# durability) but with autovacuum as in production (CURVES_AUTOVACUUM), since a
# log that grows to 50M rows is vacuumed and analyzed while it ingests; and room
# for 256 pgbench clients.
curve_settings() {
	cat <<EOF
shared_buffers = '1GB'
max_wal_size = '4GB'
checkpoint_timeout = '30min'
synchronous_commit = on
fsync = on
full_page_writes = on
wal_compression = off
wal_level = replica
autovacuum = $AUTOVACUUM
max_connections = 300
timezone = 'UTC'
lc_messages = 'C'
EOF
}

# cluster_start DIR PORT: starts (initdb on first use) a cluster and exports PG*.
cluster_start() {
	local env_out
	env_out=$(PGC_SETTINGS="$(curve_settings)" PGC_TCP=0 "$ROOT/scripts/pgcluster.sh" start "$1" "$2") ||
		die "scripts/pgcluster.sh could not start a cluster in $1"
	eval "$env_out"
}

# cluster_stop DIR: stops a cluster started by cluster_start (quietly when it is not running).
cluster_stop() {
	[ -n "$1" ] && [ -d "$1/data" ] || return 0
	"$ROOT/scripts/pgcluster.sh" stop "$1" >/dev/null 2>&1 || true
}

# EXIT trap: ends what the script started, stops its clusters, removes the scratch.
cleanup() {
	local pid i
	for pid in "${CHILD_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	if [ -n "$EV_PID" ]; then
		kill -INT "$EV_PID" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$EV_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$EV_PID" 2>/dev/null || true
	fi
	if [ "${CURVES_KEEP:-0}" = 1 ] && [ -n "$WORK" ]; then
		say "CURVES_KEEP=1: $WORK kept, clusters left running"
		return
	fi
	cluster_stop "$CLUSTER_DIR"
	cluster_stop "$RSS_DIR"
	[ -z "$WORK" ] || rm -rf "$WORK"
}

# psql on the curves database: no psqlrc, stop at the first error, bare output.
cq() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d curves "$@"
}

# Creates the curves database with pg_partman and pg_eventlog.
setup_database() {
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE curves" >/dev/null
	cq <<'EOF'
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE EXTENSION pg_eventlog;
GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;
CREATE SCHEMA curves;
EOF
}

# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------

now() {
	date +%s.%N
}

# secs T0 T1: elapsed seconds.
secs() {
	awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'
}

# server_cpu [nowait]: CPU seconds the cluster has used so far (as in
# bench/run.sh): the postmaster, its reaped children (cutime, cstime) and the
# children alive now. Waits (up to 5 s) for client backends of the curves
# database to exit first, so that a finished load's backends are counted once,
# through the postmaster; "nowait" when the backends stay (eventlogd's).
server_cpu() {
	local pm pid i busy ticks f
	pm=$(head -n1 "$CLUSTER_DIR/data/postmaster.pid")
	for ((i = 0; i < 50; i++)); do
		[ "${1:-}" != nowait ] || break
		busy=0
		for pid in $(pgrep -P "$pm"); do
			if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q '^postgres: [^ ]* curves '; then
				busy=1
			fi
		done
		[ "$busy" = 1 ] || break
		sleep 0.1
	done
	read -r -a f <"/proc/$pm/stat"
	ticks=$((f[13] + f[14] + f[15] + f[16]))
	for pid in $(pgrep -P "$pm"); do
		read -r -a f 2>/dev/null <"/proc/$pid/stat" || continue
		ticks=$((ticks + f[13] + f[14]))
	done
	awk -v t="$ticks" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}'
}

wal_lsn() {
	cq -c 'SELECT pg_current_wal_insert_lsn()'
}

wal_since() {
	cq -c "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$1')"
}

# per_m VALUE ROWS: VALUE per million rows (1 decimal).
per_m() {
	awk -v v="$1" -v r="$2" 'BEGIN {printf "%.1f", (r > 0 ? v / r * 1e6 : 0)}'
}

# rate ROWS SECONDS: rows per second (integer).
rate() {
	awk -v r="$1" -v s="$2" 'BEGIN {printf "%.0f", (s > 0 ? r / s : 0)}'
}

# latency_stats FILE: "p50 p99 mean" in ms of the pgbench per-transaction log
# FILE (third column: latency in microseconds).
latency_stats() {
	awk '{print $3}' "$1" | sort -n | awk '
		{ v[NR] = $1; s += $1 }
		END {
			if (NR == 0) { print "0 0 0"; exit }
			i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
			printf "%.3f %.3f %.3f\n", v[i50] / 1000, v[i99] / 1000, s / NR / 1000
		}'
}

# Builds the tools: curvegen and copyin (bench/), evload (test/e2e/), eventlogd.
build_tools() {
	CURVEGEN=$WORK/curvegen
	COPYIN=$WORK/copyin
	EVLOAD=$WORK/evload
	cc -O2 -Wall -Wextra -Werror -o "$CURVEGEN" "$BENCH_DIR/curvegen.c" || die "could not compile bench/curvegen.c"
	cc -O2 -Wall -Wextra -Werror -I"$("$PG_CONFIG" --includedir)" -o "$COPYIN" "$BENCH_DIR/copyin.c" \
		-L"$("$PG_CONFIG" --libdir)" -lpq || die "could not compile bench/copyin.c (libpq-dev)"
	if has_phase sweep || has_phase rss; then
		make -C "$ROOT/sidecar" -s PG_CONFIG="$PG_CONFIG" >&2 || die "make -C sidecar failed"
		[ -x "$EVENTLOGD" ] || die "sidecar/eventlogd was not built"
		cc -O2 -o "$EVLOAD" "$ROOT/test/e2e/evload.c" -lpthread || die "could not compile test/e2e/evload.c"
		command -v curl >/dev/null || die "curl is not installed"
	fi
}

# Installs pg_eventlog from this tree when it is missing from PG_CONFIG's
# install (CURVES_INSTALL=1 forces it), as bench/run.sh does.
ensure_extension() {
	local pkglib share
	pkglib=$("$PG_CONFIG" --pkglibdir)
	share=$("$PG_CONFIG" --sharedir)
	if [ "${CURVES_INSTALL:-0}" = 1 ] || [ ! -f "$pkglib/pg_eventlog.so" ] ||
		[ ! -f "$share/extension/pg_eventlog.control" ]; then
		say "building and installing pg_eventlog from $ROOT"
		make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" >&2
		make -C "$ROOT" -s install PG_CONFIG="$PG_CONFIG" >&2
	fi
	[ -f "$share/extension/pg_partman.control" ] || die "pg_partman is not installed (make deps)"
	command -v pgbench >/dev/null || die "pgbench is not installed (postgresql-client-15)"
	command -v gnuplot >/dev/null || say "note: gnuplot is not installed (apt-get install gnuplot-nox): CSV only, no charts"
}

# ---------------------------------------------------------------------------
# Phase growth: ingest rate and read latency while the log grows
# ---------------------------------------------------------------------------

# load_chunk LOG FILE: loads FILE (COPY text) into LOG with the chosen loader,
# in the background, and samples the CPU time of its backend (utime + stime
# in /proc, every 0.2 s, until the loader exits: the last sample misses at most
# 0.2 s); prints "rows backend_cpu_s". The backend's CPU, unlike wall time and
# the whole server's CPU, leaves out other load and autovacuum.
load_chunk() {
	local pid be="" ticks=0 f i out=$WORK/load.out
	if [ "$LOADER" = copy ]; then
		PGAPPNAME=curves-load psql -X -v ON_ERROR_STOP=1 -d curves -c "\\copy $1 FROM '$2'" >"$out" 2>&1 &
	else
		"$COPYIN" -d "dbname=curves application_name=curves-load" -t "$1" -f "$2" -n "$COPY_PER_CALL" >"$out" 2>&1 &
	fi
	pid=$!
	for ((i = 0; ; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		if [ -z "$be" ]; then
			be=$(cq -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'curves-load'" || true)
		fi
		if [ -n "$be" ] && read -r -a f 2>/dev/null <"/proc/$be/stat"; then
			ticks=$((f[13] + f[14]))
		fi
		sleep 0.2
	done
	wait "$pid" || { cat "$out" >&2; return 1; }
	if [ "$LOADER" = copy ]; then
		printf '%s ' "$(awk '/^COPY / {print $2}' "$out")"
	else
		printf '%s ' "$(cat "$out")"
	fi
	awk -v t="$ticks" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f\n", t / hz}'
}

# Counters that explain dips in the ingest curve: checkpoints so far and
# autovacuum/autoanalyze runs on the log's partitions so far.
growth_counters() {
	cq -F ' ' -c "SELECT (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter),
		(SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables
		  WHERE relname LIKE 'curve_log%')"
}

# Bytes of the log: every partition with its indexes and TOAST.
log_bytes() {
	cq -c "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('$1')"
}

# Writes the probes' pgbench scripts (as an application calls the functions:
# prepared statements, one call per transaction, results read).
write_probe_scripts() {
	# events(): a random one of the 100 tenants (the skew makes tenant 0 ~10% of
	# the rows, tenant 99 ~0.5%), a random hour inside what is loaded, first
	# keyset page of 100 rows
	cat >"$WORK/events.pgbench" <<'EOF'
\set t random(0, 99)
\set lo :base_us + random(0, :span_us)
SELECT * FROM eventlog.events('curve_log', 'tenant-' || lpad(:t::text, 5, '0'), to_timestamp(:lo::bigint / 1e6), to_timestamp(:lo::bigint / 1e6) + interval '1 hour', max_rows => 100);
EOF
	# get_event(): a random one of the ids sampled at this probe (the lookup in
	# curves.ids is a primary-key probe of a 1,000-row table: some µs)
	cat >"$WORK/get_event.pgbench" <<'EOF'
\set k random(1, :nids)
SELECT * FROM eventlog.get_event('curve_log', (SELECT id FROM curves.ids WHERE k = :k));
EOF
}

# probe ROWS: times PROBE_CALLS calls of events() and get_event() on the log
# at ROWS rows; appends p50/p99/mean to growth_latency.csv.
probe() {
	local rows=$1 span fn stats nids
	span=$(((rows * STEP_US) - 3600000000))
	[ "$span" -gt 0 ] || span=0
	# 1,000 random existing ids: regenerated from their row numbers (curvegen -r)
	# RESTART IDENTITY: the pgbench script picks k in 1..nids
	cq -c "TRUNCATE curves.ids RESTART IDENTITY"
	"$CURVEGEN" -f 0 -n "$rows" -b "$BASE_US" -s "$STEP_US" -r 1000 -R "$rows" | cut -f1 |
		cq -c "\\copy curves.ids (id) FROM STDIN"
	nids=$(cq -c "SELECT count(*) FROM curves.ids WHERE k BETWEEN 1 AND 1000")
	# the ids must exist, or get_event() would time a miss
	[ "$nids" = 1000 ] && [ "$(cq -c "SELECT count(*) FROM curves.ids i, eventlog.get_event('curve_log', i.id) e WHERE i.k <= 5")" = 5 ] ||
		die "the sampled event_ids are not all in the log (or not numbered 1..1000)"
	for fn in events get_event; do
		rm -f "$WORK"/lat.*
		pgbench -n -M prepared -c 1 -j 1 -t "$PROBE_CALLS" -D span_us="$span" -D base_us="$BASE_US" \
			-D nids="$nids" -f "$WORK/$fn.pgbench" -l --log-prefix="$WORK/lat" curves >"$WORK/probe.out" 2>&1 ||
			{ cat "$WORK/probe.out" >&2; die "pgbench probe of $fn failed"; }
		read -r -a stats <<<"$(latency_stats "$(ls "$WORK"/lat.* | head -n1)")"
		echo "$rows,$fn,$PROBE_CALLS,${stats[0]},${stats[1]},${stats[2]}" >>"$OUT/growth_latency.csv"
		say "probe at $rows rows: $fn p50 ${stats[0]} ms, p99 ${stats[1]} ms"
	done
	rm -f "$WORK"/lat.*
}

# explain_reads ROWS: the plans behind the probes at the final size: the
# query events() runs for the largest tenant's last hour, get_event()'s
# lookup, and the time of each through the functions and bare.
explain_reads() {
	local hi id
	hi=$(awk -v b="$BASE_US" -v r="$1" -v s="$STEP_US" 'BEGIN {printf "%.6f", (b + r * s) / 1e6 - 3600}')
	id=$("$CURVEGEN" -f 0 -n "$1" -b "$BASE_US" -s "$STEP_US" -r 1 -R 42 | cut -f1)
	cq <<EOF
\\echo partitions of curve_log (leaves, with the default and premade ones):
SELECT count(*) FROM pg_partition_tree('curve_log') WHERE isleaf;
\\echo events(): the query it runs, tenant-00000 (~10% of the rows), the last loaded hour
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT event_id, tenant_id, event_type, subject, occurred_at, received_at, schema_version, payload, metadata
  FROM curve_log WHERE tenant_id = 'tenant-00000' AND received_at >= to_timestamp($hi)
   AND received_at < to_timestamp($hi) + interval '1 hour' ORDER BY received_at, event_id LIMIT 100;
\\echo get_event(): the lookup it runs first (event_id within the time window of the id)
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM curve_log WHERE event_id = '$id'
   AND received_at >= eventlog.uuidv7_time('$id') - interval '1 hour'
   AND received_at < eventlog.uuidv7_time('$id') + interval '1 day';
\\timing on
\\echo the same through the functions, three times each
SELECT count(*) FROM eventlog.events('curve_log', 'tenant-00000', to_timestamp($hi), to_timestamp($hi) + interval '1 hour', max_rows => 100);
SELECT count(*) FROM eventlog.events('curve_log', 'tenant-00000', to_timestamp($hi), to_timestamp($hi) + interval '1 hour', max_rows => 100);
SELECT count(*) FROM eventlog.events('curve_log', 'tenant-00000', to_timestamp($hi), to_timestamp($hi) + interval '1 hour', max_rows => 100);
SELECT count(*) FROM eventlog.get_event('curve_log', '$id');
SELECT count(*) FROM eventlog.get_event('curve_log', '$id');
SELECT count(*) FROM eventlog.get_event('curve_log', '$id');
EOF
}

phase_growth() {
	local loaded=0 next_probe n t0 t1 cpu0 cpu1 wal0 wal reported s cnt avail t_start eta
	say "growth: a log to $ROWS rows in chunks of $CHUNK ($LOADER), probes every $PROBE_EVERY rows"
	cq -c "SELECT eventlog.create_log('curve_log')" >/dev/null
	cq -c "CREATE TABLE curves.ids (k int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id uuid NOT NULL)"
	write_probe_scripts
	echo "rows_in_log,chunk_rows,seconds,events_per_s,server_cpu_s_per_1m,wal_bytes_per_event,log_bytes,checkpoints,autovacuums,load1,backend_cpu_s_per_1m" \
		>"$OUT/growth_ingest.csv"
	echo "rows_in_log,function,calls,p50_ms,p99_ms,mean_ms" >"$OUT/growth_latency.csv"
	next_probe=$CHUNK
	t_start=$(date +%s)
	while [ "$loaded" -lt "$ROWS" ]; do
		n=$CHUNK
		[ $((loaded + n)) -le "$ROWS" ] || n=$((ROWS - loaded))
		avail=$(avail_bytes "$WORK")
		if [ "$avail" -lt $((4 * 1024 ** 3)) ]; then
			say "growth: stopping at $loaded rows: only $(numfmt --to=iec "$avail") left on the disk"
			echo "stopped at $loaded rows: disk space" >"$OUT/growth_stopped.txt"
			break
		fi
		if [ "$MAX_MINUTES" != 0 ] && [ $(($(date +%s) - t_start)) -ge $((MAX_MINUTES * 60)) ]; then
			say "growth: stopping at $loaded rows: CURVES_MAX_MINUTES=$MAX_MINUTES reached"
			echo "stopped at $loaded rows: CURVES_MAX_MINUTES=$MAX_MINUTES" >"$OUT/growth_stopped.txt"
			break
		fi
		# untimed: the chunk's file
		"$CURVEGEN" -f "$loaded" -n "$n" -b "$BASE_US" -s "$STEP_US" >"$WORK/chunk.copy"
		cpu0=$(server_cpu)
		wal0=$(wal_lsn)
		t0=$(now)
		read -r -a reported <<<"$(load_chunk curve_log "$WORK/chunk.copy")" || die "loading the chunk at $loaded rows failed"
		t1=$(now)
		cpu1=$(server_cpu)
		wal=$(wal_since "$wal0")
		[ "${reported[0]:-}" = "$n" ] || die "the chunk at $loaded rows reported ${reported[0]:-nothing} rows, not $n"
		loaded=$((loaded + n))
		s=$(secs "$t0" "$t1")
		read -r -a cnt <<<"$(growth_counters)"
		echo "$loaded,$n,$s,$(rate "$n" "$s"),$(per_m "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {print b - a}')" "$n"),$(awk -v w="$wal" -v r="$n" 'BEGIN {printf "%.0f", w / r}'),$(log_bytes curve_log),${cnt[0]},${cnt[1]},$(cut -d' ' -f1 /proc/loadavg),$(per_m "${reported[1]}" "$n")" \
			>>"$OUT/growth_ingest.csv"
		eta=$(awk -v e="$(($(date +%s) - t_start))" -v l="$loaded" -v r="$ROWS" 'BEGIN {printf "%.0f", e / l * (r - l) / 60}')
		say "growth: $loaded rows, chunk at $(rate "$n" "$s") events/s, backend CPU $(per_m "${reported[1]}" "$n") s per 1M; about $eta min to go"
		if [ "$loaded" -ge "$next_probe" ] || [ "$loaded" -ge "$ROWS" ]; then
			probe "$loaded"
			next_probe=$((next_probe + PROBE_EVERY))
			[ "$next_probe" -gt "$PROBE_EVERY" ] || next_probe=$PROBE_EVERY
		fi
	done
	rm -f "$WORK/chunk.copy"
	# the last chunk's probe is missing when the growth stopped early
	if [ -f "$OUT/growth_stopped.txt" ] && [ "$loaded" -gt 0 ] &&
		! tail -n1 "$OUT/growth_latency.csv" | grep -q "^$loaded,"; then
		probe "$loaded"
	fi
	explain_reads "$loaded" >"$OUT/growth_explain.txt" 2>&1 || say "note: EXPLAIN of the reads failed"
	GROWTH_ROWS=$loaded
	GROWTH_MINUTES=$(awk -v s="$(($(date +%s) - t_start))" 'BEGIN {printf "%.1f", s / 60}')
	GROWTH_BYTES=$(log_bytes curve_log)
	# for summary(), also when a later run (CURVES_OUT) adds other phases
	printf 'GROWTH_ROWS=%s\nGROWTH_MINUTES=%s\nGROWTH_BYTES=%s\nGROWTH_DESC="%s"\n' "$loaded" "$GROWTH_MINUTES" \
		"$GROWTH_BYTES" "$LOADER, $CHUNK rows a chunk, $COPY_PER_CALL rows a copy_in call, $ROWS_PER_DAY rows a day of received_at" \
		>"$OUT/growth_meta.sh"
	say "growth: $loaded rows in $GROWTH_MINUTES min, the log takes $(numfmt --to=iec "$GROWTH_BYTES")"
}

# ---------------------------------------------------------------------------
# eventlogd helpers
# ---------------------------------------------------------------------------

# ev_curl SOCK PATH [curl args]: an HTTP request to eventlogd over its Unix socket.
ev_curl() {
	local sock=$1 path=$2
	shift 2
	curl -s --unix-socket "$sock" "$@" "http://localhost$path"
}

# ev_metric SOCK NAME: a metric's value (0 when absent).
ev_metric() {
	ev_curl "$1" /metrics -m 5 | awk -v n="$2" '$1 == n {v = $2} END {printf "%.0f", v + 0}'
}

# ev_start DIR DSN [options]: starts eventlogd (Unix socket DIR/ev.sock only, spool
# DIR/spool) and waits until /healthz answers; sets EV_PID and EV_SOCK.
ev_start() {
	local dir=$1 dsn=$2 i code=""
	shift 2
	mkdir -p "$dir"
	EV_SOCK=$dir/ev.sock
	"$EVENTLOGD" --dsn="$dsn" --listen= --unix_socket="$EV_SOCK" --spool_dir="$dir/spool" \
		--flush_timeout=600s --stats_period=0 "$@" >"$dir/eventlogd.log" 2>&1 9>&- &
	EV_PID=$!
	for ((i = 0; i < 150; i++)); do
		kill -0 "$EV_PID" 2>/dev/null || break
		code=$(ev_curl "$EV_SOCK" /healthz -m 1 -o /dev/null -w '%{http_code}' || true)
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	tail -n 5 "$dir/eventlogd.log" >&2
	die "eventlogd did not start"
}

# ev_wait_logs: waits until eventlogd has read the list of logs (logs_known).
ev_wait_logs() {
	local i
	for ((i = 0; i < 150; i++)); do
		ev_curl "$EV_SOCK" /readyz -m 1 | grep -q '"logs_known":true' && return 0
		sleep 0.1
	done
	die "eventlogd did not read the list of logs"
}

# ev_stop: SIGTERM (drain) and wait; eventlogd must exit 0.
ev_stop() {
	local rc=0
	[ -n "$EV_PID" ] || return 0
	kill -TERM "$EV_PID" 2>/dev/null || true
	wait "$EV_PID" || rc=$?
	EV_PID=""
	[ "$rc" = 0 ] || say "note: eventlogd exited $rc after SIGTERM"
}

# evload_run OUTFILE ARGS...: runs evload; prints "acked rate p50 p99" from its summary line.
evload_run() {
	local out=$1 line
	shift
	"$EVLOAD" "$@" >"$out" 2>&1 9>&- || true
	line=$(grep -m1 '^evload:' "$out" || true)
	[ -n "$line" ] || { cat "$out" >&2; die "evload printed no summary"; }
	echo "$(awk '{print $2}' <<<"$line") $(sed -n 's/.* = \([0-9.]*\) events\/s.*/\1/p' <<<"$line") $(sed -n 's/.*ack p50 \([0-9.]*\) ms.*/\1/p' <<<"$line") $(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' <<<"$line")"
}

# ---------------------------------------------------------------------------
# Phase sweep: batch size, clients, tenants
# ---------------------------------------------------------------------------

# copy_in_point LOG FILE PER_CALL: loads FILE through copy_in at PER_CALL rows a
# call into LOG (created fresh); prints "rows seconds cpu_s".
copy_in_point() {
	local log=$1 file=$2 per=$3 t0 t1 cpu0 cpu1 n
	cq -c "SELECT eventlog.create_log('$log')" >/dev/null
	cq -c 'CHECKPOINT'
	cpu0=$(server_cpu)
	t0=$(now)
	n=$("$COPYIN" -d "dbname=curves" -t "$log" -f "$file" -n "$per") || die "copy_in into $log failed"
	t1=$(now)
	cpu1=$(server_cpu)
	[ "$n" = "$(wc -l <"$file")" ] || die "copy_in into $log reported $n rows"
	echo "$n $(secs "$t0" "$t1") $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {print b - a}')"
}

sweep_batch() {
	local b rows r
	echo "batch,rows,seconds,events_per_s,server_cpu_s_per_1m" >"$OUT/sweep_batch.csv"
	for b in $BATCH_STEPS; do
		# batch 1 pays a commit (WAL fsync) per row: fewer rows keep each point short
		rows=$((b * 2000))
		[ "$rows" -le "$SWEEP_ROWS" ] || rows=$SWEEP_ROWS
		"$CURVEGEN" -n "$rows" -b "$BASE_US" -s 1000 >"$WORK/sweep.copy"
		read -r -a r <<<"$(copy_in_point "sw_batch_$b" "$WORK/sweep.copy" "$b")"
		echo "$b,${r[0]},${r[1]},$(rate "${r[0]}" "${r[1]}"),$(per_m "${r[2]}" "${r[0]}")" >>"$OUT/sweep_batch.csv"
		say "sweep batch $b: $(rate "${r[0]}" "${r[1]}") events/s"
	done
}

# wait_sampler OUT: every 0.5 s, what the pgbench backends wait on, as
# "wait_event_type:wait_event,count" lines ("CPU" when not waiting); runs
# until killed.
wait_sampler() {
	while :; do
		cq -F, -c "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*)
			FROM pg_stat_activity WHERE application_name = 'pgbench' AND state = 'active' GROUP BY 1" >>"$1" 2>/dev/null || true
		sleep 0.5
	done
}

sweep_clients() {
	local c j out p tps ev_dir rows0 rows1 t0 t1 r sampler
	echo "path,clients,events,seconds,events_per_s,p50_ms,p99_ms,committed_events_per_s" >"$OUT/sweep_clients.csv"
	echo "clients,wait_event,share" >"$OUT/sweep_clients_waits.csv"
	# eventlog.append from pgbench: one event per transaction (stage 1), each a
	# random row of 100,000 pre-generated events
	cq -c "SELECT eventlog.create_log('sw_clients_append')" >/dev/null
	cq -c "CREATE TABLE curves.src (n int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id uuid, tenant_id text,
		event_type text, subject text, occurred_at timestamptz, received_at timestamptz, schema_version int,
		payload jsonb, metadata jsonb)"
	"$CURVEGEN" -n 100000 -b "$BASE_US" -s 1000 | cq -c "\\copy curves.src (event_id, tenant_id, event_type, subject, occurred_at, received_at, schema_version, payload, metadata) FROM STDIN"
	cat >"$WORK/append.pgbench" <<'EOF'
\set n random(1, 100000)
SELECT eventlog.append('sw_clients_append', tenant_id, event_type, payload, subject, occurred_at, NULL, metadata) FROM curves.src WHERE n = :n;
EOF
	for c in $CLIENT_STEPS; do
		j=$((c < 2 ? c : 2))
		cq -c 'CHECKPOINT'
		out=$WORK/pgbench-$c.out
		rm -f "$WORK"/lat.*
		# -T includes opening the connections (256 backends take ~10 s to start
		# on 2 busy cores); tps below leaves that time out
		wait_sampler "$WORK/waits-$c" &
		sampler=$!
		CHILD_PIDS+=("$sampler")
		pgbench -n -M prepared -c "$c" -j "$j" -T $((SWEEP_SECONDS + c / 16)) -f "$WORK/append.pgbench" \
			-l --log-prefix="$WORK/lat" curves >"$out" 2>&1 || { cat "$out" >&2; die "pgbench append -c $c failed"; }
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
		# what the append backends waited on (share of samples; CPU: not waiting)
		sort "$WORK/waits-$c" | awk -F, -v c="$c" '{n[$1] += $2; t += $2} END {for (w in n) printf "%s,%s,%.3f\n", c, w, n[w] / t}' |
			sort -t, -k3,3 -rn >>"$OUT/sweep_clients_waits.csv"
		p=$(awk -F': ' '/^number of transactions actually processed/ {split($2, a, "/"); print a[1]}' "$out")
		tps=$(awk '/^tps = / {printf "%.0f", $3}' "$out")
		[ -n "$tps" ] || tps=0
		read -r -a r <<<"$(cat "$WORK"/lat.* >"$WORK/lat.all" && latency_stats "$WORK/lat.all")"
		rm -f "$WORK"/lat.*
		echo "append,$c,$p,$(awk -v p="$p" -v t="$tps" 'BEGIN {printf "%.2f", (t > 0 ? p / t : 0)}'),$tps,${r[0]},${r[1]},$tps" >>"$OUT/sweep_clients.csv"
		say "sweep clients: append x $c: $tps events/s"
	done

	# eventlogd, one event per request (stage 2's worst case): acked events/s,
	# ack latency, and committed events/s up to the end of POST /v1/flush
	cq -c "SELECT eventlog.create_log('sw_clients_ev')" >/dev/null
	"$CURVEGEN" -n 100000 -b "$BASE_US" -s 1000 -F ndjson >"$WORK/events.ndjson"
	ev_dir=$WORK/ev-clients
	ev_start "$ev_dir" "host=$PGHOST port=$PGPORT user=$PGUSER dbname=curves" --durability=fsync
	ev_wait_logs
	for c in $CLIENT_STEPS; do
		cq -c 'CHECKPOINT'
		rows0=$(cq -c "SELECT count(*) FROM sw_clients_ev")
		t0=$(now)
		read -r -a r <<<"$(evload_run "$ev_dir/evload-$c.out" -U "$EV_SOCK" -l sw_clients_ev -c "$c" -b 1 \
			-d "$SWEEP_SECONDS" -f "$WORK/events.ndjson" -r "$(printf '%x' $((0x1000 + c)))")"
		ev_curl "$EV_SOCK" /v1/flush -m 900 -X POST -o /dev/null
		t1=$(now)
		rows1=$(cq -c "SELECT count(*) FROM sw_clients_ev")
		echo "eventlogd,$c,${r[0]},$SWEEP_SECONDS,$(printf '%.0f' "${r[1]}"),${r[2]},${r[3]},$(rate $((rows1 - rows0)) "$(secs "$t0" "$t1")")" \
			>>"$OUT/sweep_clients.csv"
		say "sweep clients: eventlogd x $c: $(printf '%.0f' "${r[1]}") acked events/s, $(rate $((rows1 - rows0)) "$(secs "$t0" "$t1")") committed"
	done
	ev_stop
}

# ev_cpu: eventlogd's CPU seconds so far (user + system).
ev_cpu() {
	local f
	read -r -a f 2>/dev/null <"/proc/$EV_PID/stat" || { echo 0; return; }
	awk -v t=$((f[13] + f[14])) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}'
}

sweep_tenants() {
	local t r ev_dir rows0 rows1 t0 t1 cpu0 cpu1 ecpu0 ecpu1 n s
	echo "path,tenants,events,seconds,events_per_s,server_cpu_s_per_1m,eventlogd_cpu_s_per_1m" >"$OUT/sweep_tenants.csv"
	# copy_in, 10,000 rows a call, tenants uniform, each point into a fresh log
	for t in $TENANT_STEPS; do
		"$CURVEGEN" -n "$SWEEP_ROWS" -t "$t" -u -b "$BASE_US" -s 1000 >"$WORK/sweep.copy"
		read -r -a r <<<"$(copy_in_point "sw_tenants_$t" "$WORK/sweep.copy" "$COPY_PER_CALL")"
		echo "copy_in,$t,${r[0]},${r[1]},$(rate "${r[0]}" "${r[1]}"),$(per_m "${r[2]}" "${r[0]}")," >>"$OUT/sweep_tenants.csv"
		say "sweep tenants: copy_in x $t tenants: $(rate "${r[0]}" "${r[1]}") events/s, server CPU $(per_m "${r[2]}" "${r[0]}") s per 1M"
	done
	rm -f "$WORK/sweep.copy"
	# eventlogd: 16 clients x 100 events a request, evload's generated events
	# (tenant-(k mod T)), committed events/s up to the end of POST /v1/flush
	cq -c "SELECT eventlog.create_log('sw_tenants_ev')" >/dev/null
	ev_dir=$WORK/ev-tenants
	ev_start "$ev_dir" "host=$PGHOST port=$PGPORT user=$PGUSER dbname=curves" --durability=fsync
	ev_wait_logs
	for t in $TENANT_STEPS; do
		cq -c 'CHECKPOINT'
		rows0=$(cq -c "SELECT count(*) FROM sw_tenants_ev")
		cpu0=$(server_cpu nowait)
		ecpu0=$(ev_cpu)
		t0=$(now)
		read -r -a r <<<"$(evload_run "$ev_dir/evload-$t.out" -U "$EV_SOCK" -l sw_tenants_ev -c 16 -b 100 \
			-d "$SWEEP_SECONDS" -T "$t" -s 200 -r "$(printf '%x' $((0x2000 + t)))")"
		ev_curl "$EV_SOCK" /v1/flush -m 900 -X POST -o /dev/null
		t1=$(now)
		ecpu1=$(ev_cpu)
		rows1=$(cq -c "SELECT count(*) FROM sw_tenants_ev")
		cpu1=$(server_cpu nowait)
		n=$((rows1 - rows0))
		s=$(secs "$t0" "$t1")
		echo "eventlogd,$t,$n,$s,$(rate "$n" "$s"),$(per_m "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {print b - a}')" "$n"),$(per_m "$(awk -v a="$ecpu0" -v b="$ecpu1" 'BEGIN {print b - a}')" "$n")" \
			>>"$OUT/sweep_tenants.csv"
		say "sweep tenants: eventlogd x $t tenants: $(rate "$n" "$s") committed events/s"
	done
	ev_stop
}

phase_sweep() {
	local w
	say "sweep ($SWEEPS): batch sizes $BATCH_STEPS; clients $CLIENT_STEPS; tenants $TENANT_STEPS"
	for w in $SWEEPS; do
		case $w in
		batch) sweep_batch ;;
		clients) sweep_clients ;;
		tenants) sweep_tenants ;;
		*) die "unknown sweep: $w (CURVES_SWEEPS: batch clients tenants)" ;;
		esac
	done
	rm -f "$WORK/sweep.copy" "$WORK/events.ndjson"
}

# ---------------------------------------------------------------------------
# Phase rss: eventlogd memory against its backlog
# ---------------------------------------------------------------------------

# rss_sample PHASE T0: one line of rss.csv.
rss_sample() {
	local m rss hwm
	m=$(ev_curl "$EV_SOCK" /metrics -m 5 || true)
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$EV_PID/status" 2>/dev/null || echo 0)
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$EV_PID/status" 2>/dev/null || echo 0)
	awk -v ph="$1" -v t="$(secs "$2" "$(now)")" -v rss="$rss" -v hwm="$hwm" '
		{ v[$1] = $2 }
		END {
			printf "%s,%s,%.0f,%.0f,%.0f,%.0f,%.0f,%s,%s,%.0f\n", t, ph,
				v["eventlogd_spool_pending_bytes"], v["eventlogd_spool_pending_events"], v["eventlogd_spool_bytes"],
				v["eventlogd_accepted_events_total"], v["eventlogd_committed_events_total"], rss, hwm,
				v["eventlogd_dedup_entries"]
		}' <<<"$m" >>"$OUT/rss.csv"
}

phase_rss() {
	local ev_dir max t0 ev_pid i pending full dsn
	max=$(to_bytes "$RSS_SPOOL")
	RSS_DIR=$WORK/pg-rss
	ev_dir=$WORK/ev-rss
	say "rss: eventlogd with PostgreSQL down, spool up to $RSS_SPOOL, then PostgreSQL up and drain"
	# the log exists, then PostgreSQL stops: eventlogd (no logs.cache yet) spools
	# for any well-formed log name while it cannot reach PostgreSQL
	cluster_start "$RSS_DIR" "$RSS_PORT"
	setup_database
	cq -c "SELECT eventlog.create_log('rss_log')" >/dev/null
	dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=curves connect_timeout=2"
	cluster_stop "$RSS_DIR"
	"$CURVEGEN" -n 100000 -b "$BASE_US" -s 1000 -F ndjson >"$WORK/rss.ndjson"
	ev_start "$ev_dir" "$dsn" --durability=fsync --spool_max_bytes="$max"
	echo "t_s,phase,spool_pending_bytes,spool_pending_events,spool_bytes,accepted_events,committed_events,rss_kb,hwm_kb,dedup_entries" \
		>"$OUT/rss.csv"
	t0=$(now)
	rss_sample start "$t0"
	"$EVLOAD" -U "$EV_SOCK" -l rss_log -c 16 -b 100 -d 3600 -f "$WORK/rss.ndjson" -r 7777 \
		>"$ev_dir/evload.out" 2>&1 9>&- &
	ev_pid=$!
	CHILD_PIDS+=("$ev_pid")
	# fill until the spool refuses (503), for at most 30 minutes
	for ((i = 0; i < 1800; i++)); do
		sleep 1
		rss_sample fill "$t0"
		full=$(ev_metric "$EV_SOCK" eventlogd_spool_full)
		[ "$full" = 1 ] && break
	done
	# a few samples while it refuses new events
	for ((i = 0; i < 5; i++)); do
		sleep 1
		rss_sample full "$t0"
	done
	kill "$ev_pid" 2>/dev/null || true
	wait "$ev_pid" 2>/dev/null || true
	say "rss: spool full at $(numfmt --to=iec "$(ev_metric "$EV_SOCK" eventlogd_spool_pending_bytes)") pending; starting PostgreSQL"
	cluster_start "$RSS_DIR" "$RSS_PORT"
	for ((i = 0; i < 3600; i++)); do
		sleep 1
		rss_sample drain "$t0"
		pending=$(ev_metric "$EV_SOCK" eventlogd_spool_pending_events)
		[ "$pending" = 0 ] && break
	done
	rss_sample drained "$t0"
	RSS_ROWS=$(cq -c "SELECT count(*) FROM rss_log")
	RSS_ACCEPTED=$(ev_metric "$EV_SOCK" eventlogd_accepted_events_total)
	ev_stop
	cluster_stop "$RSS_DIR"
	rm -f "$WORK/rss.ndjson"
	printf 'RSS_ACCEPTED=%s\nRSS_ROWS=%s\n' "$RSS_ACCEPTED" "$RSS_ROWS" >"$OUT/rss_meta.sh"
	say "rss: $RSS_ACCEPTED events accepted, $RSS_ROWS in the log after the drain"
}

# ---------------------------------------------------------------------------
# Summary and charts
# ---------------------------------------------------------------------------

# Prints summary.md: the run's settings and the curves' key numbers.
summary() {
	local f GROWTH_ROWS="" GROWTH_MINUTES="" GROWTH_BYTES="" GROWTH_DESC="" RSS_ACCEPTED="" RSS_ROWS=""
	# shellcheck disable=SC1091
	[ ! -f "$OUT/growth_meta.sh" ] || . "$OUT/growth_meta.sh"
	# shellcheck disable=SC1091
	[ ! -f "$OUT/rss_meta.sh" ] || . "$OUT/rss_meta.sh"
	cat <<EOF
# pg_eventlog cost curves, $STAMP

- Mode: $([ "$QUICK" = 1 ] && echo quick || echo full); phases: $PHASES
- Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM; load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg)
- PostgreSQL: $("$PG_CONFIG" --version); shared_buffers 1GB, max_wal_size 4GB, checkpoint_timeout 30min, fsync on, synchronous_commit on, autovacuum $AUTOVACUUM
- pg_eventlog: tree at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
- Events: bench/curvegen (~395-byte COPY rows, 100 skewed tenants unless swept, UUIDv7 ids of received_at)
EOF
	if [ -s "$OUT/growth_ingest.csv" ]; then
		cat <<EOF

## Growth to ${GROWTH_ROWS:-?} rows ($GROWTH_DESC)

- Took ${GROWTH_MINUTES:-?} minutes; the log takes $(numfmt --to=iec "${GROWTH_BYTES:-0}") ($(awk -v b="${GROWTH_BYTES:-0}" -v r="${GROWTH_ROWS:-1}" 'BEGIN {printf "%.0f", b / r}') bytes a row with its indexes and TOAST)
$(awk -F, 'NR > 1 { n++; r[n] = $4; c[n] = (NF >= 11 ? $11 : $5); rows[n] = $1; what = (NF >= 11 ? "backend" : "server") }
	END {
		if (n == 0) exit
		k = (n >= 10 ? int(n / 10) : 1)
		for (i = 1; i <= k; i++) { a += r[i]; ac += c[i] }
		for (i = n - k + 1; i <= n; i++) { b += r[i]; bc += c[i] }
		printf "- ingest: first %d chunk(s) %.0f events/s (%.1f %s CPU s per 1M), last %d chunk(s) %.0f events/s (%.1f CPU s per 1M): last/first = %.2f by wall time, %.2f by CPU per event\n", k, a / k, ac / k, what, k, b / k, bc / k, b / a, ac / bc
		min = r[1]; max = r[1]
		for (i = 1; i <= n; i++) { if (r[i] < min) min = r[i]; if (r[i] > max) max = r[i] }
		printf "- chunk rates ranged %.0f to %.0f events/s over %d chunks\n", min, max, n
	}' "$OUT/growth_ingest.csv")
$(awk -F, 'NR > 1 { if (!($2 in first)) first[$2] = $0; last[$2] = $0 }
	END {
		for (f in first) {
			split(first[f], a, ","); split(last[f], b, ",")
			printf "- %s(): at %d rows p50 %.2f ms, p99 %.2f ms; at %d rows p50 %.2f ms, p99 %.2f ms\n", f, a[1], a[4], a[5], b[1], b[4], b[5]
		}
	}' "$OUT/growth_latency.csv")
EOF
		[ ! -f "$OUT/growth_stopped.txt" ] || echo "- NOTE: $(cat "$OUT/growth_stopped.txt")"
	fi
	for f in sweep_batch sweep_clients sweep_tenants rss; do
		[ -s "$OUT/$f.csv" ] || continue
		printf '\n## %s\n\n```\n' "$f"
		column -s, -t <"$OUT/$f.csv"
		printf '```\n'
	done
	if [ -s "$OUT/sweep_clients_waits.csv" ]; then
		printf '\nWhat eventlog.append backends waited on (top 3 per client count; share of samples):\n\n```\n'
		awk -F, 'NR > 1 && ++k[$1] <= 3' "$OUT/sweep_clients_waits.csv" | column -s, -t
		printf '```\n'
	fi
	if [ -s "$OUT/rss.csv" ]; then
		awk -F, 'NR > 1 { if ($8 > m) m = $8; if ($3 > p) p = $3; if ($2 == "start") s = $8 }
			END { printf "\neventlogd RSS: %.1f MB at start, at most %.1f MB, largest backlog %.0f MB (%s events accepted, %s in the log after the drain)\n", s / 1024, m / 1024, p / 1048576, acc, rows }' \
			acc="${RSS_ACCEPTED:-?}" rows="${RSS_ROWS:-?}" "$OUT/rss.csv"
	fi
}

# Draws the charts of whatever CSV files OUT holds.
plot() {
	if ! command -v gnuplot >/dev/null; then
		say "gnuplot is missing: no charts (apt-get install gnuplot-nox)"
		return
	fi
	gnuplot -c "$BENCH_DIR/plot/curves.gp" "$OUT" >&2 || say "note: gnuplot failed"
	ls "$OUT"/*.png 2>/dev/null | sed 's/^/    /' >&2 || true
}

main() {
	exec 9>"$LOCK_FILE"
	flock -n 9 || die "another bench/curves.sh holds $LOCK_FILE"
	case $LOADER in copy | copy_in) ;; *) die "CURVES_LOADER must be copy_in or copy" ;; esac
	[ -x "$ROOT/scripts/pgcluster.sh" ] || die "scripts/pgcluster.sh is missing"
	ensure_extension
	STAMP=$(date -u +%Y%m%dT%H%M%SZ)
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	OUT=${CURVES_OUT:-$BENCH_DIR/results/curves-$STAMP}
	mkdir -p "$OUT"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	pick_scratch
	build_tools
	say "results in $OUT"

	if has_phase growth || has_phase sweep; then
		CLUSTER_DIR=$WORK/pg
		# the server must not inherit the lock (fd 9)
		cluster_start "$CLUSTER_DIR" "$PORT" 9>&-
		setup_database
	fi
	has_phase growth && phase_growth
	has_phase sweep && phase_sweep
	if has_phase growth || has_phase sweep; then
		cluster_stop "$CLUSTER_DIR"
	fi
	has_phase rss && phase_rss 9>&-

	summary >"$OUT/summary.md"
	cat "$OUT/summary.md"
	plot
	say "done: $OUT"
}

main "$@"
