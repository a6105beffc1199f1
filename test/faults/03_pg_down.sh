# PostgreSQL unreachable for $PGDOWN_SECONDS s (10 short, 60 long) under load: the spool absorbs.
next_run
load_start "$r" $((PGDOWN_SECONDS + 6))
sleep 2
pg_stop fast
sleep "$PGDOWN_SECONDS"
pending=$(curl -s "$U/metrics" | awk '/^eventlogd_spool_pending_events /{print $2}')
pg_start || not_ok "pg_down: start" "$(tail -5 "$WORK/pg.log")"
load_wait "$r"
echo "# pending in the spool before PostgreSQL came back: ${pending:-?} events"
fault_row pg_down "PostgreSQL stopped ${PGDOWN_SECONDS} s" "$r"
