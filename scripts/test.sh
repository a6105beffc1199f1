#!/usr/bin/env bash
# The README's test command (`make test`): installs what is missing, builds,
# installs, and runs every suite against a throwaway cluster.
#
# Suites, in order:
#   meta     META.json is valid PGXN metadata and its version is the control
#            file's default_version
#   regress  pg_regress through `make installcheck` (sql/, expected/)
#   pgtap    pg_prove over test/pgtap/*.sql, each file in a fresh database
#            with pg_partman, pgtap and pg_eventlog created
#   sidecar  `make -C sidecar check`, whose last line is "N passed, N failed"
#   e2e      every executable test/e2e/*.sh; exit 0 = pass
#   faults   the short form of the fault, fuzz and abuse suite
#            (scripts/test-faults.sh, test/faults/README.md), one result per
#            scenario; it runs clusters of its own
#   bench    `make bench-quick` (bench/run.sh with BENCH_QUICK=1): every write
#            path and the peers (rsyslog, syslog-ng) on the same events, on a
#            cluster of its own; its figures are printed, never asserted; one
#            result per contender, which fails when the contender's table does
#            not hold exactly the events sent to it (count, lost, duplicated,
#            checksum)
# A suite without files yet is reported as such, never as a pass. The run
# ends with a table per suite and then the line "N passed, N failed"; the
# exit status is non-zero when anything failed or when no test ran.
#
# Environment:
#   PG_CONFIG         pg_config to build and run against (default: pg_config)
#   KEEP=1            keep the scratch directory (logs, cluster data) afterwards
#   JOBS              parallel make jobs (default: number of CPUs)
#   REGRESS_TIMEOUT   seconds for make installcheck (default 900)
#   PGTAP_TIMEOUT     seconds per pgTAP file (default 300)
#   SIDECAR_TIMEOUT   seconds for make -C sidecar check (default 600)
#   E2E_TIMEOUT       seconds per e2e script (default 300)
#   FAULTS_TIMEOUT    seconds for the faults suite (default 900)
#   BENCH_TIMEOUT     seconds for the bench suite (default 600)
#   PGC_TCP=1 etc.    passed on to scripts/pgcluster.sh
#   TEST_PORT         port of the shared cluster (default: the first free one
#                     from 55432 up, as scripts/pgcluster.sh picks it)
#   BENCH_PORT etc.   passed on to bench/run.sh (the bench suite)
# For a partial run while developing (the README's command runs everything):
#   TEST_ONLY         suites to run, e.g. "regress pgtap" (default: all)
#   REGRESS           pg_regress tests to run, e.g. "setup forget"
#   PGTAP_FILES       pgTAP files to run (default: test/pgtap/*.sql)
#   E2E_FILES         e2e scripts to run (default: test/e2e/*.sh)
#
# Each e2e script runs from the repository root with the cluster's PGHOST,
# PGPORT, PGUSER, PGDATABASE exported, plus:
#   EVENTLOGD         path of the built sidecar binary (sidecar/eventlogd)
#   PGCLUSTER         path of scripts/pgcluster.sh (to start clusters of its own)
#   PG_CONFIG         as above
#   E2E_TMPDIR        an empty scratch directory for this script alone
#   PGC_DIR, PGC_LOG  the shared cluster's directory and server log
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# The shared real-world events (sql/webhooks.sql): an absolute path, because
# the server reads the file itself.
if [ -z "${EVENTLOG_DATA_DIR:-}" ] && [ -d "$ROOT/../shared/data" ]; then
	EVENTLOG_DATA_DIR=$(cd "$ROOT/../shared/data" && pwd -P)
	export EVENTLOG_DATA_DIR
fi
cd "$ROOT" || exit 1

export PG_CONFIG=${PG_CONFIG:-pg_config}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
REGRESS_TIMEOUT=${REGRESS_TIMEOUT:-900}
PGTAP_TIMEOUT=${PGTAP_TIMEOUT:-300}
SIDECAR_TIMEOUT=${SIDECAR_TIMEOUT:-600}
E2E_TIMEOUT=${E2E_TIMEOUT:-300}
FAULTS_TIMEOUT=${FAULTS_TIMEOUT:-900}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-600}
PGCLUSTER=$ROOT/scripts/pgcluster.sh
EVENTLOGD=$ROOT/sidecar/eventlogd

WORK=""
CLUSTER_DIR=""
CHILD=""
RC=0
SUITES=()
declare -A S_PASS=() S_FAIL=() S_NOTE=()

# Records one suite's result: record NAME PASSED FAILED [NOTE].
record() {
	SUITES+=("$1")
	S_PASS[$1]=$2
	S_FAIL[$1]=$3
	S_NOTE[$1]=${4:-}
}

section() {
	printf '\n==== %s ====\n' "$*"
}

# Runs a command as root: directly when root, else through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

# Runs a command under timeout, output to LOG (and to the terminal unless
# QUIET=1); sets RC (124: timed out). The command runs in the background so
# that a signal to this script interrupts the wait and can stop it.
#   run_timed SECONDS LOG COMMAND...
run_timed() {
	local secs=$1 log=$2 tailpid=""
	shift 2
	: >"$log"
	timeout -k 10 "$secs" "$@" </dev/null >"$log" 2>&1 &
	CHILD=$!
	if [ "${QUIET:-0}" != "1" ]; then
		tail --pid="$CHILD" -n +1 -f "$log" &
		tailpid=$!
	fi
	wait "$CHILD"
	RC=$?
	CHILD=""
	if [ -n "$tailpid" ]; then
		wait "$tailpid"
	fi
}

# On SIGINT/SIGTERM: stop the running suite (timeout passes the signal on to
# its whole process group), then exit through the EXIT trap.
# shellcheck disable=SC2317 # invoked from a trap
on_signal() {
	if [ -n "$CHILD" ]; then
		kill -TERM "$CHILD" 2>/dev/null
		wait "$CHILD" 2>/dev/null
	fi
	echo "test: interrupted" >&2
	exit "$1"
}

# Stops the cluster and removes the scratch directory (unless KEEP=1); runs once.
cleanup() {
	if [ -n "$CLUSTER_DIR" ]; then
		"$PGCLUSTER" stop "$CLUSTER_DIR" 2>&1 || true
		CLUSTER_DIR=""
	fi
	if [ -n "$WORK" ]; then
		if [ "${KEEP:-0}" = "1" ]; then
			echo "test: kept $WORK (logs/, cluster data in pg/)"
		else
			rm -rf "$WORK"
		fi
		WORK=""
	fi
}

# Suite meta: META.json against the PGXN meta spec 1.0 basics and the control file.
suite_meta() {
	local out rc pass fail
	section "meta: META.json"
	if [ ! -f META.json ]; then
		record meta 0 1 "META.json is missing"
		return
	fi
	out=$(perl -MJSON::PP -e '
		use strict; use warnings;
		my ($metafile, $control) = @ARGV;
		my $n = 0;
		sub check { my ($ok, $name, @why) = @_; $n++;
			print(($ok ? "ok" : "not ok"), " $n - $name\n");
			print "#   $_\n" for ($ok ? () : @why); }
		my $meta = eval {
			open my $fh, "<", $metafile or die "$!\n";
			local $/; JSON::PP->new->decode(<$fh>) };
		my @why;
		if (!$meta) { push @why, "not valid JSON: $@" }
		else {
			for my $k (qw(name abstract version maintainer license provides meta-spec)) {
				push @why, "missing key \"$k\"" unless defined $meta->{$k};
			}
			my $spec = ref $meta->{"meta-spec"} eq "HASH" ? $meta->{"meta-spec"}{version} // "" : "";
			push @why, "meta-spec version is not 1.0.x" unless $spec =~ /^1\.0\.\d+$/;
			push @why, "name is not pg_eventlog" unless ($meta->{name} // "") eq "pg_eventlog";
			push @why, "version is not semver" unless ($meta->{version} // "") =~ /^\d+\.\d+\.\d+/;
			my $prov = ref $meta->{provides} eq "HASH" ? $meta->{provides} : {};
			push @why, "provides has no pg_eventlog" unless $prov->{pg_eventlog};
			for my $e (sort keys %$prov) {
				for my $k (qw(file version)) {
					push @why, "provides.$e has no $k" unless defined $prov->{$e}{$k};
				}
			}
		}
		check(!@why, "META.json is valid PGXN 1.0 metadata", @why);

		my $default = "";
		if (open my $fh, "<", $control) {
			while (<$fh>) { $default = $1 if /^\s*default_version\s*=\s*\x27([^\x27]*)\x27/ }
		}
		@why = ();
		push @why, "no default_version in $control" if $default eq "";
		my $v = $meta ? $meta->{version} // "" : "";
		my $pv = $meta && ref $meta->{provides} eq "HASH" && $meta->{provides}{pg_eventlog}
			? $meta->{provides}{pg_eventlog}{version} // "" : "";
		push @why, "META.json version \"$v\" is not default_version \"$default\"" if $v ne $default;
		push @why, "provides.pg_eventlog.version \"$pv\" is not default_version \"$default\"" if $pv ne $default;
		check(!@why, "META.json version equals default_version in $control", @why);

		@why = ();
		my $prov = $meta && ref $meta->{provides} eq "HASH" ? $meta->{provides} : {};
		for my $e (sort keys %$prov) {
			my $f = $prov->{$e}{file} // "";
			push @why, "provides.$e.file \"$f\" does not exist" unless $f ne "" && -f $f;
		}
		check((!@why && scalar(%$prov)) ? 1 : 0, "files named in provides exist", @why);
	' META.json extension/pg_eventlog.control 2>&1)
	rc=$?
	echo "$out"
	pass=$(grep -c '^ok ' <<<"$out")
	fail=$(grep -c '^not ok ' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
	fi
	record meta "$pass" "$fail"
}

# Builds and installs the extension and the sidecar; exit 0 on success.
build_and_install() {
	section "build: make, make install"
	if ! make -j"$JOBS" PG_CONFIG="$PG_CONFIG"; then
		record build 0 1 "make failed"
		return 1
	fi
	if ! as_root make install PG_CONFIG="$PG_CONFIG"; then
		record build 0 1 "make install failed"
		return 1
	fi
	return 0
}

# Starts the shared throwaway cluster and exports its environment.
start_cluster() {
	local envtext
	section "cluster: start"
	CLUSTER_DIR=$WORK/pg
	# shellcheck disable=SC2086 # no port: pgcluster.sh picks one
	if ! envtext=$("$PGCLUSTER" start "$CLUSTER_DIR" ${TEST_PORT:-}); then
		CLUSTER_DIR=""
		record cluster 0 1 "could not start a cluster"
		return 1
	fi
	eval "$envtext"
	echo "$envtext"
	return 0
}

# Suite regress: pg_regress over sql/*.sql through make installcheck.
suite_regress() {
	local log=$WORK/logs/regress.log rc pass fail note=""
	section "regress: make installcheck"
	if ! compgen -G "sql/*.sql" >/dev/null; then
		echo "no tests yet (sql/*.sql)"
		record regress 0 0 "no tests yet (sql/*.sql)"
		return
	fi
	rm -f regression.diffs regression.out
	run_timed "$REGRESS_TIMEOUT" "$log" make installcheck PG_CONFIG="$PG_CONFIG" \
		${REGRESS:+REGRESS="$REGRESS"}
	rc=$RC
	# PostgreSQL 15: "test name ... ok 12 ms" (parallel groups indent the name);
	# 16 and later print TAP: "ok 1 - name", "not ok 2 - name".
	pass=$(grep -cE '^(test +| +)?[^ ]+ +\.\.\. +ok( |$)|^ok [0-9]+ ' "$log")
	fail=$(grep -cE '\.\.\. +(FAILED|failed)( |$)|^not ok [0-9]+ ' "$log")
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
		note="make installcheck exited with $rc"
		[ "$rc" -eq 124 ] && note="timed out after ${REGRESS_TIMEOUT}s"
	fi
	if [ "$fail" -gt 0 ] && [ -f regression.diffs ]; then
		section "regress: regression.diffs"
		cat regression.diffs
	fi
	record regress "$pass" "$fail" "$note"
}

# Suite pgtap: pg_prove over each test/pgtap/*.sql in a fresh database.
suite_pgtap() {
	local files=() f i=0 db log rc ok notok pass=0 fail=0 notes=()
	section "pgtap: pg_prove"
	if ! compgen -G "test/pgtap/*.sql" >/dev/null; then
		echo "no tests yet (test/pgtap/*.sql)"
		record pgtap 0 0 "no tests yet (test/pgtap/*.sql)"
		return
	fi
	if ! command -v pg_prove >/dev/null 2>&1; then
		record pgtap 0 1 "pg_prove not found"
		return
	fi
	# shellcheck disable=SC2206 # a list of paths, split on purpose
	files=(${PGTAP_FILES:-test/pgtap/*.sql})
	for f in "${files[@]}"; do
		i=$((i + 1))
		db=eventlog_tap_$i
		log=$WORK/logs/pgtap_$i.log
		dropdb --if-exists --force "$db" >/dev/null 2>&1
		if ! createdb "$db" ||
			! psql -X -q -v ON_ERROR_STOP=1 -d "$db" >"$log" 2>&1 <<-'SQL'; then
				CREATE SCHEMA partman;
				CREATE EXTENSION pg_partman SCHEMA partman;
				CREATE EXTENSION pgtap;
				CREATE EXTENSION pg_eventlog;
			SQL
			cat "$log"
			echo "not ok - $f: could not set up database $db"
			fail=$((fail + 1))
			notes+=("$(basename "$f"): setup failed")
			continue
		fi
		run_timed "$PGTAP_TIMEOUT" "$log" pg_prove --verbose -d "$db" "$f"
		rc=$RC
		# Top-level TAP lines only (subtests are indented); the first may follow
		# the "file.sql .. " header. "not ok ... # TODO" passes, as in TAP.
		ok=$(sed -E 's/^[^ ]+\.sql \.+ ?//' "$log" |
			grep -cE '^ok [0-9]+|^not ok [0-9]+.*# *TODO')
		notok=$(sed -E 's/^[^ ]+\.sql \.+ ?//' "$log" |
			grep -E '^not ok [0-9]+' | grep -cvE '# *TODO')
		if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
			notok=1
			if [ "$rc" -eq 124 ]; then
				notes+=("$(basename "$f"): timed out")
			else
				notes+=("$(basename "$f"): bad plan or error")
			fi
		fi
		pass=$((pass + ok))
		fail=$((fail + notok))
		[ "${KEEP:-0}" = "1" ] || dropdb --if-exists --force "$db" >/dev/null 2>&1
	done
	record pgtap "$pass" "$fail" "${#files[@]} files${notes:+; ${notes[*]}}"
}

# Suite sidecar: make -C sidecar check; its last "N passed, N failed" line counts.
suite_sidecar() {
	if [ ! -f sidecar/Makefile ]; then
		section "sidecar: make -C sidecar check"
		echo "no tests yet (sidecar/Makefile)"
		record sidecar 0 0 "no tests yet (sidecar/Makefile)"
		return
	fi
	# The unit tests twice: under AddressSanitizer + UndefinedBehaviorSanitizer,
	# and under valgrind --leak-check=full (no leaks, no invalid accesses).
	sidecar_target check sidecar
	sidecar_target valgrind sidecar-vg
}

# Runs `make -C sidecar TARGET` and records its "N passed, N failed" line as NAME.
sidecar_target() {
	section "$2: make -C sidecar $1"
	run_counted "$2" "$SIDECAR_TIMEOUT" "make -C sidecar $1" make -C sidecar "$1" PG_CONFIG="$PG_CONFIG"
}

# Runs COMMAND... under timeout SECONDS and records the last "N passed, N failed" line of
# its output as NAME (DESC names the command in notes).
#   run_counted NAME SECONDS DESC COMMAND...
run_counted() {
	local name=$1 secs=$2 desc=$3 log=$WORK/logs/$1.log rc line pass=0 fail=0 note=""
	shift 3
	run_timed "$secs" "$log" "$@"
	rc=$RC
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		pass=${line%% passed*}
		fail=${line#*passed, }
		fail=${fail%% failed}
	fi
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
		note="$desc exited with $rc"
		[ "$rc" -eq 124 ] && note="timed out after ${secs}s"
	elif [ -z "$line" ]; then
		pass=1
		note="no 'N passed, N failed' line; counted as one test"
	fi
	record "$name" "$pass" "$fail" "$note"
}

# Suite e2e: each executable test/e2e/*.sh with the cluster's environment.
suite_e2e() {
	local f name log rc start secs pass=0 fail=0 n=0 notes=()
	section "e2e: test/e2e/*.sh"
	# shellcheck disable=SC2206 # a list of paths, split on purpose
	local list=(${E2E_FILES:-test/e2e/*.sh})
	for f in "${list[@]}"; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .sh)
		if [ ! -x "$f" ]; then
			echo "skip - $f (not executable)"
			continue
		fi
		n=$((n + 1))
		log=$WORK/logs/e2e_$name.log
		mkdir -p "$WORK/e2e/$name"
		start=$SECONDS
		EVENTLOGD=$EVENTLOGD PGCLUSTER=$PGCLUSTER E2E_TMPDIR=$WORK/e2e/$name QUIET=1 \
			run_timed "$E2E_TIMEOUT" "$log" "./$f"
		rc=$RC
		secs=$((SECONDS - start))
		if [ "$rc" -eq 0 ]; then
			echo "ok - $name (${secs}s)"
			pass=$((pass + 1))
		else
			echo "FAILED - $name (exit $rc, ${secs}s); last lines of its output:"
			tail -n 100 "$log" | sed 's/^/    /'
			fail=$((fail + 1))
			if [ "$rc" -eq 124 ]; then
				notes+=("$name: timed out")
			else
				notes+=("$name")
			fi
		fi
	done
	if [ "$n" -eq 0 ]; then
		echo "no tests yet (executable test/e2e/*.sh)"
		record e2e 0 0 "no tests yet (test/e2e/*.sh)"
		return
	fi
	record e2e "$pass" "$fail" "${notes:+failed: ${notes[*]}}"
}

# Suite faults: the short form of scripts/test-faults.sh (kill -9, PostgreSQL crashes
# and outages, network faults, spool disk full, torn record, clock jumps, SIGHUP, a
# second daemon, HTTP abuse, a short fuzz run); its "N passed, N failed" counts scenarios.
suite_faults() {
	section "faults: scripts/test-faults.sh (short form)"
	FAULTS=short run_counted faults "$FAULTS_TIMEOUT" scripts/test-faults.sh scripts/test-faults.sh
}

# Suite bench: `make bench-quick`; its "N passed, N failed" counts contenders whose
# stored events were checked against what was sent. Timings are printed, never asserted.
suite_bench() {
	section "bench: make bench-quick (BENCH_QUICK=1 bench/run.sh)"
	BENCH_QUICK=1 run_counted bench "$BENCH_TIMEOUT" "make bench-quick" bench/run.sh
}

# Exit 0 when suite $1 is to run (TEST_ONLY unset, or it names the suite).
wanted() {
	[ -z "${TEST_ONLY:-}" ] && return 0
	case " $TEST_ONLY " in
	*" $1 "*) return 0 ;;
	esac
	echo "(suite $1 not run: TEST_ONLY=$TEST_ONLY)"
	return 1
}

# Exit 0 when some suite recorded a failure.
any_failed() {
	local s
	for s in "${SUITES[@]}"; do
		[ "${S_FAIL[$s]}" -eq 0 ] || return 0
	done
	return 1
}

# Prints the table and the closing line; returns the exit status.
summary() {
	local s total_pass=0 total_fail=0 note
	section "summary"
	printf '%-10s %7s %7s  %s\n' suite passed failed note
	for s in "${SUITES[@]}"; do
		note=${S_NOTE[$s]}
		printf '%-10s %7d %7d  %s\n' "$s" "${S_PASS[$s]}" "${S_FAIL[$s]}" "$note"
		total_pass=$((total_pass + S_PASS[$s]))
		total_fail=$((total_fail + S_FAIL[$s]))
	done
	echo
	if [ $((total_pass + total_fail)) -eq 0 ]; then
		echo "test: no test ran"
	fi
	echo "$total_pass passed, $total_fail failed"
	if [ "$total_fail" -gt 0 ] || [ $((total_pass + total_fail)) -eq 0 ]; then
		return 1
	fi
	return 0
}

main() {
	trap cleanup EXIT
	trap 'on_signal 130' INT
	trap 'on_signal 143' TERM

	section "deps: scripts/install-deps.sh"
	if ! "$ROOT/scripts/install-deps.sh"; then
		record deps 0 1 "scripts/install-deps.sh failed"
		summary
		exit 1
	fi

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/pg_eventlog-test.XXXXXX") || exit 1
	# The cluster runs as an unprivileged user when we are root: it must
	# be able to reach $WORK/pg.
	chmod 0755 "$WORK"
	mkdir -p "$WORK/logs" "$WORK/e2e"

	wanted meta && suite_meta
	if build_and_install && start_cluster; then
		wanted regress && suite_regress
		wanted pgtap && suite_pgtap
		wanted sidecar && suite_sidecar
		wanted e2e && suite_e2e
		wanted faults && suite_faults
		wanted bench && suite_bench
	else
		for s in regress pgtap sidecar e2e faults bench; do
			record "$s" 0 0 "skipped: build or cluster failed"
		done
	fi

	if [ -n "$CLUSTER_DIR" ] && [ -n "${PGC_LOG:-}" ] && any_failed; then
		section "server log (last 50 lines of $PGC_LOG)"
		tail -n 50 "$PGC_LOG"
	fi
	# Stop the cluster first: the closing line must be the last one printed.
	cleanup
	trap - EXIT
	summary
	exit $?
}

main "$@"
