# kill -9 of eventlogd at random moments under load, $KILLS times in a row (5 short, 20 long).
# Clients retry the requests that got no answer with the same event ids.
next_run
load_start "$r" $((KILLS * 2 + 4))
for i in $(seq 1 "$KILLS"); do
	rsleep 0.3 1.8
	ev_kill9
	rsleep 0 0.5
	ev_start || not_ok "kill9: restart $i" "eventlogd did not start"
done
load_wait "$r"
fault_row kill9 "kill -9 of eventlogd x$KILLS at random moments" "$r"
