# The spool's disk fills up: eventlogd on a 6 MB tmpfs of the test's own, PostgreSQL stopped
# so nothing drains, load until writes fail with ENOSPC. Those requests must get 503 (never a
# 202), the daemon keeps running, and once PostgreSQL is back everything acknowledged arrives.
if [ "$(id -u)" != 0 ]; then
	fault_not_run spool_full "ENOSPC on a 6 MB tmpfs" "needs root to mount a tmpfs"
elif ! mkdir -p "$WORK/spoolfs" || ! mount -t tmpfs -o size=6m,mode=0700 eventlogd-faults "$WORK/spoolfs"; then
	fault_not_run spool_full "ENOSPC on a 6 MB tmpfs" "mount -t tmpfs failed"
else
	ev_term
	ev_start --spool_dir="$WORK/spoolfs" --spool_max_bytes=1G --spool_segment_bytes=1M
	next_run
	pg_stop fast
	load_start "$r" 12 "-s 1000"
	sleep 10
	df -k "$WORK/spoolfs" | sed 's/^/# /' | tail -1
	kill -0 "$EVPID" 2>/dev/null && ok "spool_full: eventlogd still running with its disk full" ||
		not_ok "spool_full: eventlogd still running" "$(tail -3 "$WORK/eventlogd.log")"
	pg_start || not_ok "spool_full: start PostgreSQL" "$(tail -5 "$WORK/pg.log")"
	load_wait "$r"
	n503=$(sed -n 's/.*503:\([0-9]*\).*/\1/p' "$WORK/load.$r")
	[ "${n503:-0}" -gt 0 ] && ok "spool_full: $n503 requests answered 503" || not_ok "spool_full: 503 while full" "none"
	log_contains "No space left on device" && ok "spool_full: the write failure is logged" ||
		not_ok "spool_full: write failure logged" "no line"
	fault_row spool_full "spool on a full 6 MB tmpfs (ENOSPC), PostgreSQL stopped" "$r"
	ev_term
	umount "$WORK/spoolfs"
	ev_start
fi
