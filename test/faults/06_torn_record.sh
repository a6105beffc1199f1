# A torn spool record written by hand: with PostgreSQL stopped (so the spool holds pending
# events), eventlogd is killed (-9) after load, and a record is appended to the newest
# segment whose header claims 4096 bytes (with a CRC that matches nothing) but which has
# only 100 (a write cut by a crash). On restart the tail is truncated with a log line, and
# everything before it (every acknowledged event) is committed exactly once.
next_run
pg_stop fast
load_start "$r" 4
load_wait "$r"
ev_kill9
seg=$(ls "$WORK/spool"/*.seg | sort | tail -1)
before=$(stat -c %s "$seg")
python3 - "$seg" <<'PY'
import os, struct, sys
with open(sys.argv[1], "ab") as f:
    f.write(struct.pack("<IIIQ", 0x524c5645, 4096, 0xdeadbeef, 1 << 40) + os.urandom(100))
    f.flush()
    os.fsync(f.fileno())
PY
echo "# appended a torn record to $(basename "$seg") at offset $before"
ev_start || not_ok "torn_record: restart" "$(tail -5 "$WORK/eventlogd.log")"
pg_start || not_ok "torn_record: start PostgreSQL" "$(tail -5 "$WORK/pg.log")"
log_contains "truncating $(basename "$seg") at offset $before" && ok "torn_record: truncated at offset $before, logged" ||
	not_ok "torn_record: truncation logged" "$(grep -i trunc "$WORK/eventlogd.log" | tail -2)"
fault_row torn_record "torn record appended to the newest segment, kill -9, restart" "$r"
