# Wall-clock jumps under load: eventlogd runs under libfaketime (package faketime) with its
# realtime clock stepped back 2 hours, then forward 3 hours, while CLOCK_MONOTONIC runs on
# (as in a real clock step). Timed waits use CLOCK_MONOTONIC (sidecar/monotime.c, unit-tested
# in test/sidecar/monotime_test.c); this checks that nothing acknowledged is lost or doubled
# and that a flush right after the backward jump (with PostgreSQL down across it) completes.
FT=$(ls /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 2>/dev/null | head -1)
if [ -z "$FT" ]; then
	fault_not_run clock_jump "wall clock -2 h, +3 h" "libfaketime is not installed (scripts/install-deps.sh installs faketime)"
else
	echo "+0" >"$WORK/faketime.rc"
	ev_term
	EV_ENV="LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE=$WORK/faketime.rc FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1" ev_start ||
		not_ok "clock_jump: start under libfaketime" "$(tail -5 "$WORK/eventlogd.log")"
	next_run
	load_start "$r" 10
	sleep 2
	pg_stop fast
	echo "-2h" >"$WORK/faketime.rc"
	sleep 2
	pg_start
	t0=$(date +%s)
	expect_eq "clock_jump: flush after a 2 h backward jump within 30 s" "$(FLUSH_TIMEOUT=30 flush)" 200
	echo "# flush after the backward jump took $(($(date +%s) - t0)) s"
	echo "+3h" >"$WORK/faketime.rc"
	load_wait "$r"
	fault_row clock_jump "wall clock -2 h (PostgreSQL down meanwhile), then +3 h" "$r"
	ev_term
	ev_start
fi
