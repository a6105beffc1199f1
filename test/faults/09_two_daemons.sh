# A second eventlogd pointed at the same spool directory, under load, must refuse to start
# with a clear error (flock on spool_dir/eventlogd.lock, unit-tested in spool_test.c), and
# the first one keeps serving.
next_run
load_start "$r" 5
sleep 1
refused=0
for i in 1 2 3; do
	timeout 10 "$EVENTLOGD" -c "$WORK/eventlogd.conf" --listen=127.0.0.1:$((HTTP + 1)) --unix_socket= >"$WORK/second.log" 2>&1
	rc=$?
	if [ $rc != 0 ] && [ $rc != 124 ] && grep -q "in use by another eventlogd" "$WORK/second.log"; then
		refused=$((refused + 1))
	fi
done
load_wait "$r"
expect_eq "two_daemons: the second eventlogd refused to start 3 times out of 3" "$refused" 3
echo "# $(head -1 "$WORK/second.log")"
fault_row two_daemons "a second eventlogd on the same spool x3" "$r"
