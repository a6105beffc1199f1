#!/usr/bin/env bash
# Where the time goes (issue 6): perf profiles of eventlogd during an
# end-to-end load (evload -> eventlogd -> PostgreSQL) and of the PostgreSQL
# backend during a large COPY into a log, on a throwaway cluster. Prints, and
# writes under bench/results/profile-<UTC start time>/:
#   - the top 25 symbols by self time (perf report --no-children) of each;
#   - the same samples grouped by subsystem (bench/profile.sh's own table of
#     symbol patterns: JSON, COPY encoding, spool, HTTP, libpq, btree, ...);
#   - CPU by process during the end-to-end load (system-wide, both cores);
#   - folded stacks (*.folded: "frame;frame;... count"), the input format of
#     flame graph tools; no Debian package draws them, so no SVG is made here.
# See bench/CURVES.md.
#
# Usage: bench/profile.sh
#
# Environment:
#   PROFILE_SECONDS    seconds of end-to-end load (default 20)
#   PROFILE_ROWS       rows of the profiled COPY (default 2000000)
#   PROFILE_FREQ       samples per second (default 499)
#   PROFILE_CALLGRAPH  perf --call-graph mode (default dwarf: PostgreSQL is built
#                      without frame pointers, and eventlogd with -O2)
#   PROFILE_PORT       PostgreSQL port (default 55482)
#   PROFILE_KEEP=1     keep the scratch directory (perf.data files) and the cluster
#   PG_CONFIG          pg_config of the PostgreSQL to run (default: pg_config)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH_DIR=$ROOT/bench
export PG_CONFIG=${PG_CONFIG:-pg_config}
SECONDS_LOAD=${PROFILE_SECONDS:-20}
ROWS=${PROFILE_ROWS:-2000000}
FREQ=${PROFILE_FREQ:-499}
CALLGRAPH=${PROFILE_CALLGRAPH:-dwarf}
PORT=${PROFILE_PORT:-55482}
EVENTLOGD=$ROOT/sidecar/eventlogd

WORK=""
CLUSTER_DIR=""
EV_PID=""
CHILD_PIDS=()

say() {
	printf '==> %s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

die() {
	printf 'profile: %s\n' "$*" >&2
	exit 1
}

# EXIT trap: ends what the script started, stops the cluster, removes the scratch.
cleanup() {
	local pid
	for pid in "${CHILD_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	if [ -n "$EV_PID" ]; then
		kill -INT "$EV_PID" 2>/dev/null || true
		sleep 0.5
		kill -KILL "$EV_PID" 2>/dev/null || true
	fi
	if [ "${PROFILE_KEEP:-0}" = 1 ] && [ -n "$WORK" ]; then
		say "PROFILE_KEEP=1: $WORK kept, cluster left running"
		return
	fi
	if [ -n "$CLUSTER_DIR" ] && [ -d "$CLUSTER_DIR/data" ]; then
		"$ROOT/scripts/pgcluster.sh" stop "$CLUSTER_DIR" >/dev/null 2>&1 || true
	fi
	[ -z "$WORK" ] || rm -rf "$WORK"
}

pq() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d profile "$@"
}

ev_curl() {
	local path=$1
	shift
	curl -s --unix-socket "$EV_SOCK" "$@" "http://localhost$path"
}

# Checks that perf can sample here; sets PERF_EVENT (cycles when the PMU is
# usable, else the cpu-clock software timer, as in most containers and VMs).
check_perf() {
	command -v perf >/dev/null || die "perf is not installed (apt-get install linux-perf)"
	if perf record -q -e cycles -o "$WORK/probe.data" -- true >/dev/null 2>&1 &&
		perf report -i "$WORK/probe.data" --stdio >/dev/null 2>&1; then
		PERF_EVENT=cycles
	elif perf record -q -e cpu-clock -o "$WORK/probe.data" -- true >/dev/null 2>&1; then
		PERF_EVENT=cpu-clock
		say "note: no hardware PMU here; sampling with the cpu-clock software event"
	else
		die "perf cannot sample in this container (kernel.perf_event_paranoid = $(cat /proc/sys/kernel/perf_event_paranoid)); try valgrind --tool=callgrind on a short run"
	fi
	rm -f "$WORK/probe.data"
}

# top_symbols DATA: the top 25 symbols by self time (share, shared object, symbol).
top_symbols() {
	perf report -i "$1" --no-children --stdio --sort dso,symbol -g none --percent-limit 0.3 2>/dev/null |
		grep -E '^ +[0-9.]+%' | awk 'NR <= 25' |
		awk '{printf "| %s | %s | %s |\n", $1, $4, $2}'
}

# by_dso DATA: self time by shared object (the kernel, libc, postgres, ...).
by_dso() {
	perf report -i "$1" --no-children --stdio --sort dso -g none --percent-limit 1 2>/dev/null |
		grep -E '^ +[0-9.]+%' | awk '{printf "| %s | %s |\n", $1, $2}'
}

# fold DATA OUT: folded stacks ("root;...;leaf count", one line a stack), with
# kernel frames marked _[k] (as flame graph tools expect) and frames of libc
# and the dynamic loader marked _[l].
fold() {
	perf script -i "$1" -F comm,ip,sym,dso 2>/dev/null | awk '
		# frames arrive leaf first; an inlined frame takes the object of the
		# real frame that follows it at the same address; perf also marks
		# some libc entry points "(inlined)" with no such frame (libc has no
		# debug info here): those count as libc
		function emit(   s, i, d) {
			s = comm
			for (i = n; i >= 1; i--) {
				if (ds[i] == "(inlined)") ds[i] = (i < n && ip[i] == ip[i + 1] ? ds[i + 1] : "(libc.so)")
				d = ds[i]
				if (d ~ /kernel|vmlinux/) s = s ";" st[i] "_[k]"
				else if (d ~ /(libc[.-]|ld-linux|libpthread|libm[.-])/) s = s ";" st[i] "_[l]"
				else s = s ";" st[i]
			}
			cnt[s]++
			n = 0
		}
		/^[^ \t]/ { if (n) emit(); comm = $1; n = 0; next }
		/^[ \t]*$/ { if (n) emit(); next }
		{
			sym = $2
			sub(/\+0x[0-9a-f]+$/, "", sym)
			st[++n] = sym
			ip[n] = $1
			ds[n] = $NF
		}
		END { if (n) emit(); for (k in cnt) print k, cnt[k] }' | sort -k2,2 -rn >"$2"
}

# attribute FOLDED: each sample goes to the deepest named function on its
# stack that is not in libc or the kernel: time in the kernel, in libc and in
# PostgreSQL's unnamed static functions (the Debian binary is stripped of
# them) counts for the function that called into it. Prints
# "share|kernel share|libc share|function", largest first.
attribute() {
	awk '
		{
			c = $NF; $NF = ""; sub(/ +$/, "")
			nf = split($0, f, ";")
			lab = ""; k = 0; l = 0
			for (i = nf; i >= 2; i--) {
				if (f[i] ~ /_\[k\]$/) { if (lab == "") k = 1; continue }
				if (f[i] ~ /_\[l\]$/) { if (lab == "") l = 1; continue }
				if (f[i] ~ /^\[unknown\]$|^0x[0-9a-f]+$/) continue
				lab = f[i]; break
			}
			if (lab == "") lab = "(no named frame: " f[nf] ")"
			sub(/\.(part|isra|constprop|cold)\.[0-9]+.*$/, "", lab)
			tot[lab] += c; all += c
			if (k) ker[lab] += c
			else if (l) lib[lab] += c
		}
		END {
			for (x in tot)
				printf "%.2f|%.2f|%.2f|%s\n", 100 * tot[x] / all, 100 * ker[x] / all, 100 * lib[x] / all, x
		}' "$1" | sort -t'|' -k1,1 -rn
}

# top_attributed FOLDED: the top 25 of attribute as a Markdown table.
top_attributed() {
	attribute "$1" | awk -F'|' 'NR <= 25 {printf "| %s%% | %s | %s%% | %s%% |\n", $1, $4, $2, $3}'
}

# groups FOLDED KIND: the attributed samples grouped by subsystem. eventlogd's
# functions are grouped by their source file; the
# backend's by name patterns (PostgreSQL's source layout). Prints
# "| share | kernel share below | subsystem |".
groups() {
	local map=/dev/null
	if [ "$2" = eventlogd ]; then
		# function name -> source file, from the definitions in sidecar/*.c (the
		# house style puts a function's name at the start of its line)
		map=$WORK/eventlogd.map
		awk 'match($0, /^[a-z_][a-z_0-9]*\(/) {n = split(FILENAME, p, "/"); print substr($0, 1, RLENGTH - 1), p[n]}' \
			"$ROOT"/sidecar/*.c >"$map"
	fi
	attribute "$1" | awk -F'|' -v kind="$2" -v map="$map" '
		BEGIN { while ((getline line < map) > 0) { split(line, a, " "); file[a[1]] = a[2] } }
		function add(g) { share[g] += $1; kshare[g] += $2; if (!(g in seen)) { seen[g] = 1; order[++n] = g } }
		{
			sym = $4
			if (kind == "eventlogd") {
				if (sym in file) add(file[sym])
				else if (sym ~ /^\(no named frame/) add("threads outside eventlogd code (libc, kernel)")
				else if (sym ~ /^(ev|bufferevent|event_)/) add("libevent: socket I/O, buffers, event loop")
				else if (sym ~ /^(PQ|pq)/) add("libpq")
				else add("other: " sym)
				next
			}
			if (sym ~ /^_bt|^bt|index_form_tuple|ExecInsertIndexTuples|index_insert|qsort|nocache_index_getattr/) add("btree index inserts (qsort: page splits)")
			else if (sym ~ /^(mdextend|smgrextend|FileWrite|FileFallocate|RelationAddExtraBlocks|mdnblocks|smgrnblocks|FileSize|__lseek64|__libc_pwrite64|__libc_open64|PathNameOpenFile)$/) add("relation extension and size checks (PG 15: one pwrite of zeros per new 8 kB page, lseek)")
			else if (sym ~ /hash_search|hash_bytes|LWLock|ReadBuffer|BufTable|PinBuffer|UnpinBuffer|LockBuffer|StrategyGetBuffer|BufferAlloc|MarkBufferDirty|ReleaseBuffer|BufferGetBlockNumber|RelationGetBufferForTuple|ConditionalLockBuffer/) add("buffer manager and LWLocks")
			else if (sym ~ /^(XLogWrite|XLogFlush|issue_xlog_fsync|XLogBackgroundFlush|AdvanceXLInsertBuffer|WaitXLogInsertionsToFinish)$/) add("WAL write and flush")
			else if (sym ~ /^(XLog|pg_comp_crc32c|ReserveXLog|CopyXLog|GetXLogBuffer|log_heap|log_newpage)/) add("WAL insert and CRC")
			else if (sym ~ /^(json|jsonb|Jsonb|pushJsonbValue|convertJsonb|fillJsonbValue|uniqueifyJsonbObject|parse_|pg_parse_json|report_json|reserveFromBuffer|appendToBuffer|copyToBuffer|convertToJsonb|lengthCompareJsonb)/) add("jsonb input (json_lex, jsonb building)")
			else if (sym ~ /^(CopyFrom|CopyRead|CopyGet|NextCopyFrom|CopyLoad|CopyConvert|CopyMulti|ReceiveCopy|BeginCopy|pq_|secure_read|InputFunctionCall|uuid_in|timestamptz_in|int4in|numeric_in|textin|DecodeDateTime|ParseDateTime|ParseDate|tm2timestamp|date2j|DecodeTime|DecodeNumber|DecodeTimezone|pg_strncasecmp|pg_tolower|datebsearch|pg_verify|pg_utf|pg_mb|string_to_uuid|cstring_to_text|appendBinaryStringInfo|appendStringInfo|enlargeStringInfo|__GI_____strto|strtoint|pg_strtoint)/) add("COPY receive, parsing and input functions (uuid, timestamptz, numeric, text)")
			else if (sym ~ /^(heap_|RelationPutHeapTuple|toast_|PageAdd|PageGet|CheckForSerializableConflictIn|ExecMaterializeSlot|tts_|slot_|ExecStoreVirtualTuple|ExecCopySlot|ExecFetchSlot|pg_detoast)/) add("heap insert and tuple forming")
			else if (sym ~ /^(ExecFindPartition|get_partition_for_tuple|FormPartitionKeyDatum|compute_partition_hash_value|hash_any|hash_bytes|hashtext|hash_uint32|partition_|ExecPrepareTupleRouting|ExecInitPartitionInfo|ExecGetRootToChildMap|execute_attr_map_slot|ExecGetChildToRootMap)/) add("partition routing (tenant hash, time range)")
			else if (sym ~ /^(ExecConstraints|ExecCheck|ExecEvalExpr|ExecInterpExpr|ExecJust|ExecRelCheck|octet_length|textoctetlen|jsonb_typeof|ExecQual|toast_raw_datum_size|ExecComputeStoredGenerated)/) add("CHECK constraints and expressions")
			else if (sym ~ /^(varstr_cmp|texteq|text_cmp|bttext|uuid_cmp|timestamp_cmp|btint8cmp|FunctionCall2Coll|varstrfastcmp|uuid_internal_cmp|timestamptz_cmp|__memcmp|__strcoll|strcoll)/) add("comparators (text, uuid, timestamptz) in btree descents")
			else if (sym ~ /(palloc|pfree|AllocSet|MemoryContext|repalloc|pstrdup|__memcpy|__memmove|malloc)/) add("palloc, memory contexts and memcpy")
			else if (sym ~ /^\(no named frame/) add("no named frame")
			else add("other")
		}
		END { for (i = 1; i <= n; i++) printf "%.1f|%.1f|%s\n", share[order[i]], kshare[order[i]], order[i] }' |
		sort -t'|' -k1,1 -rn | awk -F'|' '{printf "| %s%% | %s%% | %s |\n", $1, $2, $3}'
}

# by_comm DATA: CPU share by process name (system-wide profile).
by_comm() {
	perf report -i "$1" --no-children --stdio --sort comm -g none --percent-limit 1 2>/dev/null |
		grep -E '^ +[0-9.]+%' | awk '{printf "| %s | %s |\n", $1, $2}'
}

# report_section TITLE DATA FOLDED KIND: the Markdown of one profile.
report_section() {
	local samples
	samples=$(perf report -i "$2" --stdio --no-children -g none 2>/dev/null | awk '/^# Samples:/ && !s {print $3; s = 1}')
	cat <<EOF

## $1

$samples samples ($PERF_EVENT, $FREQ Hz, call graph $CALLGRAPH).

By subsystem. Each sample counts for the deepest named function on its stack outside libc and
the kernel (so kernel, libc and unnamed static callees are included; the kernel column is the part
spent in the kernel). $([ "$4" = eventlogd ] && echo "Grouped by the function's source file." || echo "Grouped by name patterns (bench/profile.sh).")

| share | in the kernel | subsystem |
| ---: | ---: | --- |
$(groups "$3" "$4")

Top 25 functions, attributed the same way:

| share | function | in the kernel | in libc |
| ---: | --- | ---: | ---: |
$(top_attributed "$3")

Top 25 symbols by self time, as perf reports them (perf report --no-children; in a VM, kernel
samples pile up where interrupts are re-enabled, e.g. pvm_irq_enable):

| share | symbol | shared object |
| ---: | --- | --- |
$(top_symbols "$2")

By shared object:

| share | shared object |
| ---: | --- |
$(by_dso "$2")
EOF
}

main() {
	local env_out i code ev_log perf_pid sys_pid copy_pid be_pid="" t0 t1 line
	[ -x "$ROOT/scripts/pgcluster.sh" ] || die "scripts/pgcluster.sh is missing"
	[ -f "$("$PG_CONFIG" --pkglibdir)/pg_eventlog.so" ] || die "pg_eventlog is not installed for $PG_CONFIG (make install)"
	STAMP=$(date -u +%Y%m%dT%H%M%SZ)
	OUT=$BENCH_DIR/results/profile-$STAMP
	mkdir -p "$OUT"
	WORK=$(mktemp -d /tmp/pgel-profile.XXXXXX)
	chmod 711 "$WORK"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	check_perf

	say "building eventlogd, evload, curvegen"
	make -C "$ROOT/sidecar" -s PG_CONFIG="$PG_CONFIG" >&2 || die "make -C sidecar failed"
	cc -O2 -o "$WORK/evload" "$ROOT/test/e2e/evload.c" -lpthread || die "could not compile test/e2e/evload.c"
	cc -O2 -Wall -Wextra -Werror -o "$WORK/curvegen" "$BENCH_DIR/curvegen.c" || die "could not compile bench/curvegen.c"

	CLUSTER_DIR=$WORK/pg
	env_out=$(PGC_SETTINGS="$(printf '%s\n' "shared_buffers = '1GB'" "max_wal_size = '4GB'" \
		"checkpoint_timeout = '30min'" "autovacuum = off")" "$ROOT/scripts/pgcluster.sh" start "$CLUSTER_DIR" "$PORT") ||
		die "could not start a cluster"
	eval "$env_out"
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE profile" >/dev/null
	pq <<'EOF'
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE EXTENSION pg_eventlog;
GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;
SELECT eventlog.create_log('prof_ev');
SELECT eventlog.create_log('prof_copy');
EOF
	# the events: ~490-byte NDJSON envelopes for evload, ~395-byte COPY rows stamped today
	"$WORK/curvegen" -n 100000 -F ndjson >"$WORK/events.ndjson"
	"$WORK/curvegen" -n "$ROWS" -b $(($(date -u -d "$(date -u +%F)" +%s) * 1000000)) -s 10 >"$WORK/events.copy"

	# 1. eventlogd end to end: 16 clients x 100 events a request, durability fsync
	say "end to end: evload -> eventlogd -> PostgreSQL for $SECONDS_LOAD s, perf on eventlogd and system-wide"
	EV_SOCK=$WORK/ev.sock
	ev_log=$WORK/eventlogd.log
	"$EVENTLOGD" --dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=profile" --listen= \
		--unix_socket="$EV_SOCK" --spool_dir="$WORK/spool" --durability=fsync --stats_period=0 \
		--flush_timeout=600s >"$ev_log" 2>&1 &
	EV_PID=$!
	for ((i = 0; i < 150; i++)); do
		code=$(ev_curl /readyz -m 1 || true)
		case $code in *'"logs_known":true'*) break ;; esac
		sleep 0.1
	done
	case $code in *'"logs_known":true'*) ;; *) die "eventlogd did not become ready: $(tail -n1 "$ev_log")" ;; esac
	t0=$(date +%s.%N)
	"$WORK/evload" -U "$EV_SOCK" -l prof_ev -c 16 -b 100 -d "$SECONDS_LOAD" -f "$WORK/events.ndjson" \
		>"$WORK/evload.out" 2>&1 &
	CHILD_PIDS+=($!)
	# skip the first 2 s (connections, first segment), stop 2 s before the end
	sleep 2
	perf record -q -e "$PERF_EVENT" -F "$FREQ" --call-graph "$CALLGRAPH" -p "$EV_PID" -o "$WORK/eventlogd.data" \
		-- sleep $((SECONDS_LOAD - 4)) >/dev/null 2>&1 &
	perf_pid=$!
	perf record -q -e "$PERF_EVENT" -F "$FREQ" -a -o "$WORK/system.data" -- sleep $((SECONDS_LOAD - 4)) >/dev/null 2>&1 &
	sys_pid=$!
	wait "$perf_pid" || die "perf record on eventlogd failed"
	wait "$sys_pid" || die "perf record -a failed"
	wait "${CHILD_PIDS[0]}" || true
	ev_curl /v1/flush -m 600 -X POST -o /dev/null
	t1=$(date +%s.%N)
	line=$(grep -m1 '^evload:' "$WORK/evload.out" || true)
	E2E_ROWS=$(pq -c "SELECT count(*) FROM prof_ev")
	E2E_LINE="$line; $E2E_ROWS rows committed, $(awk -v r="$E2E_ROWS" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", r / (b - a)}') events/s to the end of the flush"
	kill -TERM "$EV_PID"
	wait "$EV_PID" || say "note: eventlogd exited $? after SIGTERM"
	EV_PID=""
	say "$E2E_LINE"

	# 2. the COPY backend: psql \copy of ROWS rows into a fresh log
	say "COPY of $ROWS rows into a log, perf on its backend"
	# One session: an untimed warm-up COPY first, because a backend's first touch of
	# each shared_buffers page is a page fault (clear_page on a fresh cluster) that
	# eventlogd's long-lived connections pay once; then the profiled COPY. (COPY
	# cycles a small ring of buffers for the heap, so some faults remain: ~4%.)
	pq -c 'CHECKPOINT'
	PGAPPNAME=profile-copy psql -X -q -v ON_ERROR_STOP=1 -d profile \
		-c "CREATE UNLOGGED TABLE warmup (LIKE prof_copy)" -c "\\copy warmup FROM '$WORK/events.copy'" \
		-c "DROP TABLE warmup" -c "CHECKPOINT" -c "\\copy prof_copy FROM '$WORK/events.copy'" >"$WORK/copy.out" 2>&1 &
	copy_pid=$!
	CHILD_PIDS+=("$copy_pid")
	for ((i = 0; i < 3000; i++)); do
		be_pid=$(pq -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'profile-copy' AND query LIKE 'COPY%prof_copy%'")
		[ -z "$be_pid" ] || break
		kill -0 "$copy_pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$be_pid" ] || die "the COPY backend was not found"
	t0=$(date +%s.%N)
	# perf stops when the backend exits, that is when psql disconnects after the COPY
	perf record -q -e "$PERF_EVENT" -F "$FREQ" --call-graph "$CALLGRAPH" -p "$be_pid" -o "$WORK/copy.data" \
		>/dev/null 2>&1 || die "perf record on the COPY backend failed"
	wait "$copy_pid" || die "the COPY failed: $(cat "$WORK/copy.out")"
	t1=$(date +%s.%N)
	COPY_LINE="$(pq -c "SELECT count(*) FROM prof_copy") rows in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s (under perf)"
	say "COPY: $COPY_LINE"

	say "summarising (perf report)"
	fold "$WORK/eventlogd.data" "$OUT/eventlogd.folded"
	fold "$WORK/copy.data" "$OUT/copy_backend.folded"
	{
		cat <<EOF
# Where the time goes, $STAMP

- Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo); load average $(cut -d' ' -f1-3 /proc/loadavg); $("$PG_CONFIG" --version); perf $(perf version 2>/dev/null | awk '{print $3}')
- End to end: test/e2e/evload, 16 clients x 100 events a request (bench/curvegen NDJSON, ~490 bytes), for $SECONDS_LOAD s into eventlogd (durability fsync, defaults otherwise) and a log made by eventlog.create_log defaults; perf on eventlogd's threads for the middle $((SECONDS_LOAD - 4)) s.
  $E2E_LINE
- COPY: psql \\copy of $ROWS COPY text rows (~395 bytes) into a fresh log; perf on its backend: $COPY_LINE.

## End to end: CPU by process (system-wide, both cores)

| share | process |
| ---: | --- |
$(by_comm "$WORK/system.data")
EOF
		report_section "eventlogd during the end-to-end load" "$WORK/eventlogd.data" "$OUT/eventlogd.folded" eventlogd
		report_section "PostgreSQL backend during COPY into a log" "$WORK/copy.data" "$OUT/copy_backend.folded" backend
		cat <<EOF

Folded stacks: eventlogd.folded, copy_backend.folded (frame;frame;... count; any flame graph tool reads them).
EOF
	} >"$OUT/profile.md"
	cat "$OUT/profile.md"
	say "written to $OUT"
}

main "$@"
