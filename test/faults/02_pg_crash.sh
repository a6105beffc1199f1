# PostgreSQL under load: immediate shutdown (pg_ctl -m immediate) and a crash mid-COPY
# (kill -9 of the backend running eventlog.copy_in, which makes the postmaster reset every
# backend and run crash recovery), $PGCRASHES times each (2 short, 5 long).
next_run
load_start "$r" $((PGCRASHES * 8 + 4))
crashes=0
for i in $(seq 1 "$PGCRASHES"); do
	rsleep 1 2.5
	pg_stop immediate
	sleep 2
	pg_start || not_ok "pg_crash: start after immediate stop" "$(tail -5 "$WORK/pg.log")"
	rsleep 1 2.5
	# a backend inside COPY: poll briefly for one (batches are short)
	pid=
	for _ in $(seq 1 100); do
		pid=$(sql "SELECT pid FROM pg_stat_activity WHERE query LIKE '%eventlog.copy_in%' AND state = 'active' AND pid <> pg_backend_pid() LIMIT 1" 2>/dev/null)
		[ -n "$pid" ] && break
		sleep 0.02
	done
	if [ -n "$pid" ]; then kill -9 "$pid" && crashes=$((crashes + 1)); fi
	sleep 1
	for _ in $(seq 1 100); do sql "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
done
load_wait "$r"
[ "$crashes" -gt 0 ] || not_ok "pg_crash: a backend was caught inside COPY" "none found in $PGCRASHES tries"
fault_row pg_crash "pg_ctl -m immediate x$PGCRASHES; kill -9 of a backend inside COPY x$crashes" "$r"
