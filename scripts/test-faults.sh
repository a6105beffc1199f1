#!/usr/bin/env bash
# Fault, fuzz and abuse suite of pg_eventlog and eventlogd (`make test-faults`, issue 7).
#
#   scripts/test-faults.sh                 short form (the `faults` suite of `make test`, ~5 min)
#   FAULTS=long scripts/test-faults.sh     long form, by hand (20 kills, PostgreSQL away 60 s, ...)
#   FAULTS=soak scripts/test-faults.sh     soak: SOAK_SECONDS (1800) at half the peak rate;
#                                          RSS, open fds and spool size must stay flat
#   FAULT_SCENARIOS="kill9 sighup" ...     only the scenarios whose file name contains a word
#   FUZZ_SECONDS=20                        seconds per fuzz target (0: no fuzzing)
#
# A throwaway cluster and one eventlogd; each scenario file test/faults/NN_name.sh is sourced
# in turn: it puts load on eventlogd from several clients (evload: every event id is known and
# each acknowledged one is written down), injects its faults, and ends with fault_row, which
# flushes and reconciles the acknowledged ids with the rows in PostgreSQL. Output: TAP lines,
# then one table row per scenario (scenario, faults injected, acked, stored, lost, duplicated,
# result), then "N passed, N failed" counted per scenario. Exit 0 only if all passed.
# Environment: PG_CONFIG; FAULTS_PGPORT (56310) and FAULTS_HTTP_PORT (56311; +1 and +2 are
# used too); FAULTS_KEEP=1 keeps the scratch directory. The spool-disk-full scenario mounts
# a tmpfs of its own: it needs root, and is reported as "not run" without.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
FAULTS=${FAULTS:-short}
PGPORT=${FAULTS_PGPORT:-56310}
HTTP=${FAULTS_HTTP_PORT:-56311}
WORK=$(mktemp -d /tmp/eventlogd-faults.XXXXXX)
# shellcheck source=../test/lib/e2e.sh
. "$ROOT/test/lib/e2e.sh"

case $FAULTS in
	short) KILLS=5; PGDOWN_SECONDS=10; PGCRASHES=2; NETSTEP=4; FUZZ_SECONDS=${FUZZ_SECONDS:-20} ;;
	long) KILLS=20; PGDOWN_SECONDS=60; PGCRASHES=5; NETSTEP=10; FUZZ_SECONDS=${FUZZ_SECONDS:-60} ;;
	soak) FUZZ_SECONDS=0; FAULT_SCENARIOS=${FAULT_SCENARIOS:-soak} ;;
	*) echo "FAULTS must be short, long or soak" >&2; exit 2 ;;
esac
FAULT_SCENARIOS=${FAULT_SCENARIOS:-}
CLIENTS=6
TABLE=$WORK/table
scen_pass=0
scen_fail=0
SCEN_FAIL0=0
RUN=0
PROXY_PID=

cleanup() {
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	[ -n "$EVPID" ] && kill -9 "$EVPID" 2>/dev/null
	mountpoint -q "$WORK/spoolfs" 2>/dev/null && umount "$WORK/spoolfs"
	pg_stop immediate
	[ -z "${FAULTS_KEEP:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT

# Next run id into r (hex digits for evload -r; the prefix of the run's event ids).
next_run() { RUN=$((RUN + 1)); r=$(printf '7%03x' "$RUN"); }

# Load in the background: evload with $CLIENTS clients for $2 seconds, run id $1, extra
# evload flags in $3. Sets LP (its pid).
load_start() {
	# shellcheck disable=SC2086
	"$WORK/evload" -a "127.0.0.1:$HTTP" -l audit -c "$CLIENTS" -b 20 -d "$2" -s 200 -T 16 -r "$1" \
		-o "$WORK/acked.$1" ${3:-} >"$WORK/load.$1" 2>&1 &
	LP=$!
}
load_wait() { wait "$LP"; echo "# $(cat "$WORK/load.$1")"; }

# Sleep a random time between $1 and $2 seconds.
rsleep() { sleep "$(awk -v a="$1" -v b="$2" -v r="$RANDOM" 'BEGIN { printf "%.1f", a + (b - a) * r / 32767 }')"; }

# A table row for a scenario that cannot run here: "not run", counted as failed.
fault_not_run() {
	printf '| %s | %s | - | - | - | - | not run: %s |\n' "$1" "$2" "$3" >>"$TABLE"
	not_ok "$1: not run" "$3"
	scen_fail=$((scen_fail + 1))
}

# End of a scenario: flush, reconcile run $3, one table row. $1 scenario, $2 faults injected,
# $4 (optional) a failure found by the scenario's own checks; its failed checks count too.
fault_row() {
	local name=$1 faults=$2 run=$3 extra=${4:-} code result
	[ "$fail" -gt "$SCEN_FAIL0" ] && extra="${extra:+$extra; }$((fail - SCEN_FAIL0)) checks failed"
	code=$(flush)
	reconcile "$run"
	result=pass
	[ "$code" = 200 ] || extra="${extra:+$extra; }flush answered $code"
	[ "$ACKED" = 0 ] && extra="${extra:+$extra; }nothing acknowledged"
	if [ "$LOST" != 0 ] || [ "$DUP" != 0 ] || [ -n "$extra" ]; then result="FAIL${extra:+: $extra}"; fi
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$faults" "$ACKED" "$STORED" "$LOST" "$DUP" "$result" >>"$TABLE"
	if [ "$result" = pass ]; then
		ok "$name: $faults; $ACKED acknowledged, $STORED stored, 0 lost, 0 duplicated"
		scen_pass=$((scen_pass + 1))
	else
		not_ok "$name" "acked $ACKED, stored $STORED, lost $LOST, duplicated $DUP; $result"
		scen_fail=$((scen_fail + 1))
	fi
}

# End of a scenario checked by its own assertions, not by a reconciliation (abuse, fuzz).
fault_check_row() {
	local name=$1 faults=$2 failures=$(($3 + fail - SCEN_FAIL0))
	if [ "$failures" = 0 ]; then
		printf '| %s | %s | - | - | - | - | pass |\n' "$name" "$faults" >>"$TABLE"
		scen_pass=$((scen_pass + 1))
	else
		printf '| %s | %s | - | - | - | - | FAIL: %s failed checks |\n' "$name" "$faults" "$failures" >>"$TABLE"
		scen_fail=$((scen_fail + 1))
	fi
}

# Scenarios leave eventlogd running with the standard config; start it if one did not.
ensure_daemon() {
	if [ -z "$EVPID" ] || ! kill -0 "$EVPID" 2>/dev/null; then
		echo "# eventlogd was not running: started again"
		ev_start || { echo "# eventlogd does not start"; tail -20 "$WORK/eventlogd.log"; return 1; }
	fi
}

echo "# faults: $FAULTS form, work dir $WORK"
[ -x "$EVENTLOGD" ] || { echo "# build eventlogd first: make -C sidecar"; echo "0 passed, 1 failed"; exit 1; }
e2e_build_evload || exit 1
e2e_setup_db || { echo "0 passed, 1 failed"; exit 1; }
e2e_write_conf
ev_start || { echo "# eventlogd did not start"; cat "$WORK/eventlogd.log"; echo "0 passed, 1 failed"; exit 1; }
for _ in $(seq 1 50); do log_contains "1 logs known" && break; sleep 0.1; done

printf '| scenario | faults injected | acked | stored | lost | duplicated | result |\n| --- | --- | ---: | ---: | ---: | ---: | --- |\n' >"$TABLE"
T0=$(date +%s)
for f in "$ROOT"/test/faults/[0-9]*.sh; do
	base=$(basename "$f" .sh)
	if [ -n "$FAULT_SCENARIOS" ]; then
		want=0
		for w in $FAULT_SCENARIOS; do case $base in *"$w"*) want=1 ;; esac; done
		[ $want = 1 ] || continue
	elif [ "$base" != "${base%soak}" ] && [ "$FAULTS" != soak ]; then
		continue				# the soak runs only as FAULTS=soak
	fi
	echo "# --- $base ($(($(date +%s) - T0)) s)"
	ensure_daemon || break
	SCEN_FAIL0=$fail
	# shellcheck source=/dev/null
	. "$f"
done

echo "#"
echo "# faults ($FAULTS form, $(($(date +%s) - T0)) s):"
sed 's/^/# /' "$TABLE"
[ -n "${FAULTS_TABLE:-}" ] && cp "$TABLE" "$FAULTS_TABLE"
echo "$scen_pass passed, $scen_fail failed"
[ "$scen_fail" = 0 ] && [ "$scen_pass" -gt 0 ]
