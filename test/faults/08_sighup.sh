# SIGHUP every half second under load, alternating batch_max_events 50/1000 and
# batch_max_ms 20/100 in the config file: reloads must not lose or double anything.
next_run
load_start "$r" 8
for i in $(seq 1 14); do
	if [ $((i % 2)) = 0 ]; then b=1000 ms=100; else b=50 ms=20; fi
	sed -i '/^batch_max_events\|^batch_max_ms/d' "$WORK/eventlogd.conf"
	printf 'batch_max_events = %s\nbatch_max_ms = %s\n' "$b" "$ms" >>"$WORK/eventlogd.conf"
	kill -HUP "$EVPID"
	sleep 0.5
done
load_wait "$r"
kill -0 "$EVPID" 2>/dev/null && ok "sighup: still running after 14 reloads" || not_ok "sighup: running" "exited"
sed -i '/^batch_max_events\|^batch_max_ms/d' "$WORK/eventlogd.conf"
kill -HUP "$EVPID"
fault_row sighup "SIGHUP x14 (batch settings changed each time)" "$r"
