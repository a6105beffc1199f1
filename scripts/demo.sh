#!/usr/bin/env bash
# The README's main job (`make demo`): installs what is missing, builds and
# installs pg_eventlog, creates a log, fills it with real webhook events, then
# starts eventlogd against the same database and streams events through its
# HTTP API for a few seconds with a live progress line, checks that every
# accepted event is in the log exactly once, and queries the log.
#
# Usage: scripts/demo.sh [DSN]      (or DSN=... scripts/demo.sh)
#
# Without a DSN, a throwaway PostgreSQL cluster of the demo's own is started
# (in .tmp/demo, or a mktemp directory when the server user cannot reach the
# repository) and stopped and removed at exit; KEEP=1 leaves it running and
# prints how to connect. With a DSN, that database is used: it needs a role
# that may CREATE EXTENSION, and the demo (re)creates the log demo.audit.
#
# Environment:
#   DSN         libpq connection string of the database to use
#   KEEP=1      keep the local cluster running after the demo
#   DATA_FILE   NDJSON events to ingest (default: ../shared/data/github-webhooks.ndjson
#               next to the repository; generated events when it is absent)
#   PG_CONFIG   pg_config to build against (default: pg_config)
#   STREAM_SECONDS  how long events are streamed through eventlogd (default: 12)
#
# Exits non-zero when a step fails, or when the events eventlogd accepted and
# the rows in the log do not match.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

export PG_CONFIG=${PG_CONFIG:-pg_config}
DSN=${1:-${DSN:-}}
KEEP=${KEEP:-0}
DATA_FILE=${DATA_FILE:-$ROOT/../shared/data/github-webhooks.ndjson}
LOG_NAME=demo.audit
DEMO_DB=eventlog_demo
PGCLUSTER=$ROOT/scripts/pgcluster.sh
EVENTLOGD=$ROOT/sidecar/eventlogd

STREAM_SECONDS=${STREAM_SECONDS:-12}

CLUSTER_DIR=""
EV_DIR=""        # eventlogd's scratch directory (spool, its log, the load generator)
EV_DIR_OWN=0     # 1: EV_DIR is a mktemp directory of its own, removed at exit
EV_PID=""        # eventlogd
BG_PIDS=()       # load generators and the flush request while they run
STREAM_FAILED=0

step() {
	printf '\n==> %s\n' "$*"
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

# psql on the demo database: stop at the first error, no pager, no psqlrc.
demo_psql() {
	psql -X -v ON_ERROR_STOP=1 --pset=pager=off -d "$DSN" "$@"
}

# Stops whatever the eventlogd step left running (on any exit, also ^C).
stop_eventlogd_step() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	BG_PIDS=()
	if [ -n "$EV_PID" ]; then
		kill -KILL "$EV_PID" 2>/dev/null || true
		wait "$EV_PID" 2>/dev/null || true
		EV_PID=""
	fi
	if [ "$EV_DIR_OWN" = "1" ] && [ -n "$EV_DIR" ]; then
		rm -rf "$EV_DIR"
	fi
}

cleanup() {
	stop_eventlogd_step
	if [ -z "$CLUSTER_DIR" ]; then
		return
	fi
	if [ "$KEEP" = "1" ]; then
		step "the demo cluster keeps running (KEEP=1)"
		echo "  connect: eval \"\$($PGCLUSTER env $CLUSTER_DIR)\"; psql -d $DEMO_DB"
		echo "  stop:    $PGCLUSTER stop $CLUSTER_DIR"
		return
	fi
	"$PGCLUSTER" stop "$CLUSTER_DIR" || true
	rm -rf "$CLUSTER_DIR"
}

install_and_build() {
	step "installing what is missing (scripts/install-deps.sh)"
	"$ROOT/scripts/install-deps.sh"

	step "building and installing pg_eventlog"
	make -j"$(nproc 2>/dev/null || echo 2)" PG_CONFIG="$PG_CONFIG"
	as_root make install PG_CONFIG="$PG_CONFIG"
}

# Sets DSN to a database on a local throwaway cluster of the demo's own.
start_local_cluster() {
	local envtext
	CLUSTER_DIR=$ROOT/.tmp/demo
	mkdir -p "$CLUSTER_DIR"
	if ! "$PGCLUSTER" can-host "$CLUSTER_DIR" 2>/dev/null; then
		CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pg_eventlog-demo.XXXXXX")
		chmod 0755 "$CLUSTER_DIR"
	fi
	step "starting a local PostgreSQL cluster in $CLUSTER_DIR"
	envtext=$("$PGCLUSTER" start "$CLUSTER_DIR")
	eval "$envtext"
	if [ -z "$(psql -X -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DEMO_DB'")" ]; then
		psql -X -q -d postgres -c "CREATE DATABASE $DEMO_DB"
	fi
	DSN="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DEMO_DB"
}

create_log() {
	step "creating the extensions and the log $LOG_NAME (1-hour partitions, 4 tenant buckets)"
	demo_psql -q <<-SQL
		CREATE SCHEMA IF NOT EXISTS partman;
		CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
		CREATE EXTENSION IF NOT EXISTS pg_eventlog;
		CREATE SCHEMA IF NOT EXISTS demo;
		-- logs and their partitions are owned by eventlog_admin
		GRANT USAGE, CREATE ON SCHEMA demo TO eventlog_admin;
		-- a re-run starts from an empty log
		DO \$\$
		BEGIN
		    IF to_regclass('$LOG_NAME') IS NOT NULL THEN
		        PERFORM eventlog.drop_log('$LOG_NAME');
		    END IF;
		END
		\$\$;
	SQL
	demo_psql <<-SQL
		SELECT eventlog.create_log('$LOG_NAME', '1 hour', 4) AS created_log;
	SQL
}

# Prints the psql lines that load the events into the psql variable "content"
# (NDJSON text) and their count into "lines".
load_events_psql() {
	if [ -f "$DATA_FILE" ]; then
		cat <<-'SQL'
			\set content `cat :'datafile'`
		SQL
	else
		cat <<-'SQL'
			\echo 'no data file; generating 1000 events for 5 tenants'
			SELECT string_agg(jsonb_build_object(
			           'event_id', gen_random_uuid(),
			           'tenant_id', 'tenant-' || (i % 5),
			           'event_type', 'demo.' || (ARRAY['login', 'logout', 'purchase'])[1 + i % 3],
			           'subject', 'user-' || (i % 37),
			           'payload', jsonb_build_object('n', i, 'note', 'generated by scripts/demo.sh'))::text,
			       E'\n' ORDER BY i) AS content
			FROM generate_series(1, 1000) AS i \gset
		SQL
	fi
	cat <<-'SQL'
		SELECT count(*) AS lines FROM regexp_split_to_table(:'content', E'\n') AS l WHERE l <> '' \gset
	SQL
}

ingest_events() {
	if [ -f "$DATA_FILE" ]; then
		step "ingesting $(wc -l <"$DATA_FILE") real GitHub webhook events from $DATA_FILE"
	else
		step "ingesting generated events ($DATA_FILE not found)"
	fi
	{
		load_events_psql
		cat <<-SQL
			\\echo 'first half through eventlog.copy_in(log, data, ''ndjson'') (PostgreSQL COPY machinery):'
			WITH input AS (
			    SELECT l, n FROM regexp_split_to_table(:'content', E'\\n') WITH ORDINALITY AS t(l, n)
			    WHERE l <> '')
			SELECT eventlog.copy_in('$LOG_NAME',
			                        convert_to(string_agg(l, E'\\n' ORDER BY n) || E'\\n', 'UTF8'),
			                        'ndjson') AS rows_copied
			FROM input WHERE n <= :lines / 2;

			\\echo 'second half through eventlog.ingest(log, events jsonb), one JSON array:'
			WITH input AS (
			    SELECT l, n FROM regexp_split_to_table(:'content', E'\\n') WITH ORDINALITY AS t(l, n)
			    WHERE l <> '')
			SELECT eventlog.ingest('$LOG_NAME', jsonb_agg(l::jsonb ORDER BY n)) AS rows_ingested
			FROM input WHERE n > :lines / 2;

			\\echo 'the first 10 events again through ingest: stored event_ids are skipped (dedup window):'
			WITH input AS (
			    SELECT l, n FROM regexp_split_to_table(:'content', E'\\n') WITH ORDINALITY AS t(l, n)
			    WHERE l <> '')
			SELECT eventlog.ingest('$LOG_NAME', jsonb_agg(l::jsonb ORDER BY n)) AS rows_ingested
			FROM input WHERE n <= 10;

			\echo 'round trip: every input event read back with eventlog.get_event, payloads compared as jsonb:'
			WITH input AS (
			    SELECT l::jsonb AS e FROM regexp_split_to_table(:'content', E'\n') AS l WHERE l <> '')
			SELECT count(*) AS input_events,
			       count(g.event_id) AS found,
			       count(*) FILTER (WHERE g.payload = i.e -> 'payload') AS payload_equal
			FROM input AS i
			LEFT JOIN LATERAL eventlog.get_event('$LOG_NAME', (i.e ->> 'event_id')::uuid) AS g ON true;
		SQL
	} | demo_psql -v datafile="$DATA_FILE"
}

# ---------------------------------------------------------------------------
# Stage 2: eventlogd. Start the sidecar against $DSN, stream events through its
# HTTP API (POST /v1/logs/$LOG_NAME/events) with a live progress line read from
# GET /metrics, POST /v1/flush, stop it with SIGTERM (it drains and exits 0),
# and check that every event it accepted is in the log exactly once. Skipped
# while sidecar/eventlogd does not exist.
# ---------------------------------------------------------------------------

# Exit 0 when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints the first free TCP port on 127.0.0.1 from $1 up (never 5432).
free_port_from() {
	local port
	for ((port = $1; port < $1 + 200; port++)); do
		if [ "$port" -ne 5432 ] && ! port_in_use "$port"; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# Microseconds since the epoch.
now_us() {
	echo "${EPOCHREALTIME//[^0-9]/}"
}

# Sets REPLY to the integer $1 with thousands separators.
sep() {
	local s=$1 r=""
	while [ "${#s}" -gt 3 ]; do
		r=",${s: -3}$r"
		s=${s:0:${#s}-3}
	done
	REPLY=$s$r
}

# Starts eventlogd on a free port of 127.0.0.1 with its spool in $EV_DIR and
# waits until /readyz answers 200 and the list of logs is known. Sets EV_PID,
# EV_ADDR and EV_URL.
start_eventlogd() {
	local port=$((18700 + RANDOM % 1000)) code
	for _ in 1 2 3; do
		port=$(free_port_from "$port") || {
			echo "  no free TCP port on 127.0.0.1" >&2
			return 1
		}
		EV_ADDR=127.0.0.1:$port
		EV_URL=http://$EV_ADDR
		"$EVENTLOGD" --dsn="$DSN" --listen="$EV_ADDR" --spool_dir="$EV_DIR/spool" \
			--drain_timeout=60s >>"$EV_DIR/eventlogd.log" 2>&1 &
		EV_PID=$!
		for _ in $(seq 1 150); do
			kill -0 "$EV_PID" 2>/dev/null || break
			code=$(curl -s -m 1 -o "$EV_DIR/readyz.json" -w '%{http_code}' "$EV_URL/readyz" || true)
			if [ "$code" = 200 ] && grep -q '"logs_known":true' "$EV_DIR/readyz.json"; then
				return 0
			fi
			sleep 0.1
		done
		if kill -0 "$EV_PID" 2>/dev/null; then
			echo "  eventlogd did not become ready in 15 s; its log ($EV_DIR/eventlogd.log):" >&2
			tail -n 20 "$EV_DIR/eventlogd.log" >&2
			return 1
		fi
		# it exited at start (e.g. another process took the port meanwhile): next port
		wait "$EV_PID" 2>/dev/null || true
		EV_PID=""
		port=$((port + 1))
	done
	echo "  eventlogd did not start; its log ($EV_DIR/eventlogd.log):" >&2
	tail -n 20 "$EV_DIR/eventlogd.log" >&2
	return 1
}

# Reads GET /metrics: sets M_ACC (accepted events), M_COM (committed events),
# M_SPOOL_MB (spool bytes holding uncommitted events, in MB) and M_AGE (age of
# the oldest uncommitted event in s; empty when the metric does not exist).
# With $1, also keeps the whole text in that file.
read_metrics() {
	local text
	text=$(curl -s -m 2 "$EV_URL/metrics") || return 1
	if [ -n "${1:-}" ]; then
		printf '%s\n' "$text" >"$1"
	fi
	eval "$(awk '
		$1 == "eventlogd_accepted_events_total" { acc = $2 }
		$1 == "eventlogd_committed_events_total" { com = $2 }
		$1 == "eventlogd_spool_pending_bytes" { spool = $2 }
		$1 == "eventlogd_spool_oldest_event_age_seconds" { age = sprintf("%.1f", $2) }
		END { printf "M_ACC=%.0f M_COM=%.0f M_SPOOL_MB=%.1f M_AGE=%s\n", acc, com, spool / 1048576, age }
	' <<<"$text")"
}

WH_LINES=0
PROG_T0=0
PROG_PREV_T=0
PROG_PREV_ACC=0
PROG_TTY=0
PROG_COLS=100
PROG_TICK=0
PROG_FORMAT=0

# Sets line to the progress line in format $1: 0 all, 1 "ev/s", 2 also without
# the phase, 3 also without the age (for narrower terminals).
format_line() {
	local format=$1 secs=$2 phase=$3 r=$4 counts=$5 age=$6
	case $format in
	0) printf -v line '  %s %-9s | %7s events/s | %s%s' "$secs" "$phase" "$r" "$counts" "$age" ;;
	1) printf -v line '  %s %-9s | %7s ev/s | %s%s' "$secs" "$phase" "$r" "$counts" "$age" ;;
	2) printf -v line '  %s | %7s ev/s | %s%s' "$secs" "$r" "$counts" "$age" ;;
	*) printf -v line '  %s | %7s ev/s | %s' "$secs" "$r" "$counts" ;;
	esac
}

# Sets PROG_FORMAT to the first format whose widest line fits in PROG_COLS,
# so that the line keeps its shape while the numbers grow.
pick_progress_format() {
	local line
	for PROG_FORMAT in 0 1 2 3; do
		format_line "$PROG_FORMAT" "99.9s" "streaming" "999,999" \
			"accepted 9,999,999 | committed 9,999,999 | spool 999.9 MB" ", oldest 99.9s"
		if [ "${#line}" -lt "$PROG_COLS" ]; then
			return 0
		fi
	done
}

# Prints the progress line: in place (\r) on a terminal, else a plain line
# every 4th call (about every 2 s) and on the final call ($2 = final).
show_progress() {
	local phase=$1 final=${2:-} t el rate line a c r secs counts age=""
	PROG_TICK=$((PROG_TICK + 1))
	if [ "$PROG_TTY" = 0 ] && [ -z "$final" ] && [ $((PROG_TICK % 4)) != 0 ]; then
		return 0
	fi
	read_metrics || return 0
	t=$(now_us)
	rate=0
	if [ "$t" -gt "$PROG_PREV_T" ]; then
		rate=$(((M_ACC - PROG_PREV_ACC) * 1000000 / (t - PROG_PREV_T)))
	fi
	PROG_PREV_T=$t
	PROG_PREV_ACC=$M_ACC
	el=$(((t - PROG_T0) / 100000))
	sep "$rate"
	r=$REPLY
	sep "$M_ACC"
	a=$REPLY
	sep "$M_COM"
	c=$REPLY
	printf -v secs '%2d.%ds' $((el / 10)) $((el % 10))
	printf -v counts 'accepted %s | committed %s | spool %s MB' "$a" "$c" "$M_SPOOL_MB"
	if [ -n "$M_AGE" ]; then
		age=", oldest ${M_AGE}s"
	fi
	if [ "$PROG_TTY" = 1 ]; then
		format_line "$PROG_FORMAT" "$secs" "$phase" "$r" "$counts" "$age"
		printf '\r%s\033[K' "${line:0:PROG_COLS-1}"
		if [ -n "$final" ]; then
			echo
		fi
	else
		format_line 0 "$secs" "$phase" "$r" "$counts" "$age"
		printf '%s\n' "$line"
	fi
}

# Shows progress every 0.5 s until every process in $2... has exited; returns
# 1 at once when eventlogd is gone.
monitor() {
	local phase=$1 pid alive
	shift
	while :; do
		if ! kill -0 "$EV_PID" 2>/dev/null; then
			return 1
		fi
		alive=0
		for pid in "$@"; do
			if kill -0 "$pid" 2>/dev/null; then
				alive=1
			fi
		done
		if [ "$alive" = 0 ]; then
			break
		fi
		sleep 0.5
		show_progress "$phase"
	done
}

# Posts the real webhook events (from $DATA_FILE) once a second until the epoch
# second $1, each pass in requests of up to 100 events and with fresh
# event_ids (load generator run $RUN_BASE + pass), so that none is a retry.
webhook_client() {
	local until=$1 pass=1 child=""
	trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi; exit 0' TERM
	while [ "$pass" -lt 250 ] && [ "$EPOCHSECONDS" -lt "$until" ]; do
		"$EV_DIR/evload" -a "$EV_ADDR" -l "$LOG_NAME" -c 1 -b 100 -n "$WH_LINES" -d "$STREAM_SECONDS" \
			-f "$EV_DIR/webhooks.ndjson" -r "$(printf %x $((RUN_BASE + pass)))" >>"$EV_DIR/evload-webhooks.out" 2>&1 &
		child=$!
		wait "$child" || true
		pass=$((pass + 1))
		if [ "$EPOCHSECONDS" -ge "$until" ]; then
			break
		fi
		sleep 1 &
		child=$!
		wait "$child" || true
		child=""
	done
}

# eventlogd exited in the middle of the stream: say so, stop the clients.
eventlogd_died() {
	local rc=0
	wait "$EV_PID" || rc=$?
	EV_PID=""
	echo
	echo "  ✗ eventlogd exited unexpectedly (status $rc); the end of its log ($EV_DIR/eventlogd.log):"
	tail -n 20 "$EV_DIR/eventlogd.log" | sed 's/^/    /'
	STREAM_FAILED=1
	stop_eventlogd_step
}

demo_eventlogd_stream() {
	local gen_pid wh_pid="" flush_pid gen_rc=0 rc=0 code streamed acked rows distinct
	local id_lo id_hi acked_s rows_s distinct_s macc_s mismatch

	if [ ! -x "$EVENTLOGD" ]; then
		step "eventlogd: skipped (sidecar/eventlogd is not built yet)"
		return 0
	fi
	step "eventlogd: streaming events into $LOG_NAME through the sidecar's HTTP API for ${STREAM_SECONDS}s"

	if [ -n "$CLUSTER_DIR" ]; then
		EV_DIR=$CLUSTER_DIR/eventlogd
		rm -rf "$EV_DIR"
		mkdir -p "$EV_DIR"
	else
		EV_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pg_eventlog-demo-eventlogd.XXXXXX")
		EV_DIR_OWN=1
	fi
	# the load generator of the tests and benchmarks (test/e2e/evload.c)
	cc -O2 -o "$EV_DIR/evload" "$ROOT/test/e2e/evload.c" -lpthread

	start_eventlogd
	echo "  eventlogd (pid $EV_PID) listens on $EV_URL, spool $EV_DIR/spool,"
	echo "  log $EV_DIR/eventlogd.log; /readyz: $(cat "$EV_DIR/readyz.json")"

	# Every streamed event_id starts with the 24 random bits of this run:
	# <RUN_BASE + n>-0000-4000-8000-<counter> (n = 0: generated, n >= 1: webhook pass n).
	RUN_BASE=$(((((RANDOM << 15) | RANDOM) & 0xffffff) << 8))
	id_lo=$(printf '%08x-0000-4000-8000-000000000000' "$RUN_BASE")
	id_hi=$(printf '%08x-0000-4000-8000-ffffffffffff' $((RUN_BASE + 255)))
	streamed="event_id BETWEEN '$id_lo' AND '$id_hi' AND substr(event_id::text, 9, 16) = '-0000-4000-8000-'"

	echo "  clients: 4 posting NDJSON batches of 100 generated events (8 tenants, ~300 bytes each)"
	if [ -f "$DATA_FILE" ]; then
		# at most 500 events a pass
		awk 'NF && n < 500 { print; n++ }' "$DATA_FILE" >"$EV_DIR/webhooks.ndjson"
		WH_LINES=$(grep -c . "$EV_DIR/webhooks.ndjson" || true)
		echo "           + 1 posting the $WH_LINES events of $(basename "$DATA_FILE") once a second, 100 per request"
	fi

	PROG_T0=$(now_us)
	PROG_PREV_T=$PROG_T0
	PROG_PREV_ACC=0
	PROG_TICK=0
	if [ -t 1 ]; then
		PROG_TTY=1
		PROG_COLS=$(tput cols 2>/dev/null || echo 100)
		pick_progress_format
	fi
	"$EV_DIR/evload" -a "$EV_ADDR" -l "$LOG_NAME" -c 4 -b 100 -s 200 -T 8 \
		-r "$(printf %x "$RUN_BASE")" -n 3000000 -d "$STREAM_SECONDS" >"$EV_DIR/evload-generated.out" 2>&1 &
	gen_pid=$!
	BG_PIDS+=("$gen_pid")
	if [ "${WH_LINES:-0}" -gt 0 ]; then
		webhook_client $((EPOCHSECONDS + STREAM_SECONDS)) &
		wh_pid=$!
		BG_PIDS+=("$wh_pid")
	fi
	if ! monitor streaming "$gen_pid" ${wh_pid:+"$wh_pid"}; then
		eventlogd_died
		return 0
	fi
	wait "$gen_pid" || gen_rc=$?
	if [ -n "$wh_pid" ]; then
		wait "$wh_pid" || true
	fi

	# read-your-writes barrier: returns once every accepted event is committed
	curl -s -m 120 -o "$EV_DIR/flush.json" -w '%{http_code}' -X POST "$EV_URL/v1/flush" \
		>"$EV_DIR/flush.code" 2>/dev/null &
	flush_pid=$!
	BG_PIDS+=("$flush_pid")
	if ! monitor flushing "$flush_pid"; then
		eventlogd_died
		return 0
	fi
	wait "$flush_pid" || true
	BG_PIDS=()
	show_progress flushed final
	if ! read_metrics "$EV_DIR/metrics.txt"; then
		echo "  ✗ GET /metrics did not answer"
		STREAM_FAILED=1
	fi

	echo "  generated events: $(sed 's/^evload: //' "$EV_DIR/evload-generated.out")"
	if [ -n "$wh_pid" ]; then
		awk '$1 == "evload:" {
			n++; ev += $2; req += $11
			for (i = 1; i <= NF; i++) if ($i ~ /^202:/) ok += substr($i, 5)
		} END { printf "  webhook events:   %d passes, %d events acked in %d requests (202: %d)\n", n, ev, req, ok }' \
			"$EV_DIR/evload-webhooks.out"
	fi
	if [ "$gen_rc" != 0 ]; then
		echo "  ✗ the load generator failed (exit $gen_rc)"
		STREAM_FAILED=1
	fi
	code=$(cat "$EV_DIR/flush.code" 2>/dev/null || true)
	echo "  POST /v1/flush: ${code:-no answer} $(cat "$EV_DIR/flush.json" 2>/dev/null || true)"
	if [ "$code" != 200 ]; then
		STREAM_FAILED=1
	fi

	kill -TERM "$EV_PID" 2>/dev/null || true
	wait "$EV_PID" || rc=$?
	EV_PID=""
	if [ "$rc" = 0 ]; then
		echo "  ✓ SIGTERM: eventlogd drained and exited with 0 ($(grep -o 'drained: [^;]*' "$EV_DIR/eventlogd.log" | tail -n 1))"
	else
		echo "  ✗ SIGTERM: eventlogd exited with $rc; its log:"
		tail -n 20 "$EV_DIR/eventlogd.log"
		STREAM_FAILED=1
	fi

	step "eventlogd: accepted events vs rows in $LOG_NAME"
	acked=$(cat "$EV_DIR"/evload-*.out | awk '$1 == "evload:" { s += $2 } END { printf "%.0f", s }')
	read -r rows distinct <<<"$(demo_psql -At -F ' ' -c "SELECT count(*), count(DISTINCT event_id) FROM $LOG_NAME WHERE $streamed")"
	sep "$acked"
	acked_s=$REPLY
	sep "$M_ACC"
	macc_s=$REPLY
	sep "$rows"
	rows_s=$REPLY
	sep "$distinct"
	distinct_s=$REPLY
	echo "  accepted:    $acked_s events acknowledged (202) to the clients; eventlogd_accepted_events_total $macc_s"
	echo "  in the log:  $rows_s rows with the streamed event_ids ($distinct_s distinct)"

	# per tenant: eventlogd_tenant_accepted_events_total{tenant} vs rows
	awk -F'"' '/^eventlogd_tenant_accepted_events_total\{tenant="/ {
		n = split($0, f, " "); printf "%s\t%s\n", $2, f[n] }' "$EV_DIR/metrics.txt" |
		sort >"$EV_DIR/accepted-per-tenant.tsv"
	demo_psql -At -F $'\t' -c "SELECT tenant_id, count(*) FROM $LOG_NAME WHERE $streamed GROUP BY 1" |
		sort >"$EV_DIR/rows-per-tenant.tsv"
	mismatch=0
	if ! cmp -s "$EV_DIR/accepted-per-tenant.tsv" "$EV_DIR/rows-per-tenant.tsv"; then
		mismatch=1
	fi
	if [ "$acked" -gt 0 ] && [ "$acked" = "$M_ACC" ] && [ "$rows" = "$M_ACC" ] &&
		[ "$distinct" = "$rows" ] && [ "$mismatch" = 0 ]; then
		echo "  ✓ every accepted event is in $LOG_NAME exactly once, for every tenant"
	else
		echo "  ✗ MISMATCH between the events eventlogd accepted and the rows in $LOG_NAME"
		STREAM_FAILED=1
	fi

	demo_psql -q <<-SQL
		CREATE TEMP TABLE demo_accepted (tenant_id text, accepted bigint);
		\\copy demo_accepted FROM '$EV_DIR/accepted-per-tenant.tsv'

		\\echo '-- streamed events per tenant: accepted by eventlogd (/metrics) vs rows in the log'
		SELECT tenant_id, coalesce(a.accepted, 0) AS accepted, coalesce(s.rows, 0) AS rows_in_log,
		       CASE WHEN a.accepted = s.rows THEN '✓' ELSE '✗' END AS equal
		FROM demo_accepted AS a
		FULL JOIN (SELECT tenant_id, count(*) AS rows FROM $LOG_NAME WHERE $streamed GROUP BY tenant_id) AS s
		     USING (tenant_id)
		ORDER BY rows_in_log DESC, tenant_id;

		SELECT (array_agg(tenant_id ORDER BY tenant_id))[1] AS gen_tenant,
		       (array_agg(first ORDER BY tenant_id))[1] AS gen_from
		FROM (SELECT tenant_id, min(received_at) AS first FROM $LOG_NAME
		      WHERE $streamed AND event_type = 'load.test' GROUP BY tenant_id) AS t \\gset
		\\if :{?gen_tenant}
		\\echo '-- eventlog.events(log, tenant, from, to): the first 3 streamed events of tenant' :gen_tenant
		SELECT received_at, event_id, event_type, subject, left(payload::text, 40) AS payload
		FROM eventlog.events('$LOG_NAME', :'gen_tenant', :'gen_from', now() + interval '1 minute',
		                     NULL, NULL, NULL, 3);
		\\endif

		SELECT (array_agg(tenant_id ORDER BY n DESC, tenant_id))[1] AS wh_tenant,
		       (array_agg(first ORDER BY n DESC, tenant_id))[1] AS wh_from
		FROM (SELECT tenant_id, count(*) AS n, min(received_at) AS first FROM $LOG_NAME
		      WHERE $streamed AND event_type LIKE 'github.%' GROUP BY tenant_id) AS t \\gset
		\\if :{?wh_tenant}
		\\echo '-- the same for the streamed webhook events of tenant' :wh_tenant
		SELECT received_at, event_id, event_type, subject, left(payload::text, 40) AS payload
		FROM eventlog.events('$LOG_NAME', :'wh_tenant', :'wh_from', now() + interval '1 minute',
		                     NULL, NULL, NULL, 3);
		\\endif
	SQL
}

show_results() {
	step "results"
	demo_psql -q <<-SQL
		\\echo '-- every log and its settings: SELECT * FROM eventlog.logs'
		SELECT * FROM eventlog.logs;

		\\echo '-- events per tenant (top 10 of the log)'
		SELECT tenant_id, count(*) AS events
		FROM $LOG_NAME GROUP BY tenant_id ORDER BY events DESC, tenant_id LIMIT 10;

		\\echo '-- every tenant, every event: rows in the log'
		SELECT count(DISTINCT tenant_id) AS tenants, count(*) AS events FROM $LOG_NAME;

		SELECT tenant_id AS top_tenant
		FROM $LOG_NAME GROUP BY tenant_id ORDER BY count(*) DESC, tenant_id LIMIT 1 \\gset

		\\echo '-- eventlog.events(log, tenant, from, to): the busiest tenant, last hour, first 5'
		SELECT received_at, event_id, event_type, subject, left(payload::text, 40) AS payload
		FROM eventlog.events('$LOG_NAME', :'top_tenant', now() - interval '1 hour', now() + interval '1 minute',
		                     NULL, NULL, NULL, 5);

		SELECT event_id AS some_event
		FROM eventlog.events('$LOG_NAME', :'top_tenant', now() - interval '1 hour', now() + interval '1 minute',
		                     NULL, NULL, NULL, 1) \\gset

		\\echo '-- eventlog.get_event(log, event_id)'
		SELECT event_id, tenant_id, event_type, subject, received_at, length(payload::text) AS payload_bytes
		FROM eventlog.get_event('$LOG_NAME', :'some_event');

		\\echo '-- eventlog.partitions(log): time ranges x tenant buckets, rows per partition'
		ANALYZE $LOG_NAME;
		SELECT * FROM eventlog.partitions('$LOG_NAME');

		\\echo '-- append-only: a DELETE fails with SQLSTATE LG001'
		\\set ON_ERROR_STOP 0
		\\set SHOW_CONTEXT never
		DELETE FROM $LOG_NAME WHERE tenant_id = :'top_tenant';
		\\echo 'SQLSTATE' :LAST_ERROR_SQLSTATE
	SQL
}

main() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	install_and_build
	if [ -z "$DSN" ]; then
		start_local_cluster
	else
		step "using the database at DSN"
	fi
	create_log
	ingest_events
	demo_eventlogd_stream
	show_results
	if [ "$STREAM_FAILED" = "1" ]; then
		step "FAILED: the eventlogd step did not check out (see the ✗ above)"
		exit 1
	fi
	step "done"
}

main "$@"
