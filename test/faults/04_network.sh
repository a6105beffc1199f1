# The network between eventlogd and PostgreSQL, through test/faults/netproxy.py: cut (RST),
# blackholed, slowed, and disturbed as by packet loss, $NETSTEP s each (4 short, 10 long),
# under load. eventlogd is restarted with its dsn pointing at the proxy, and back afterwards.
PROXY_PORT=$((HTTP + 2))
echo pass >"$WORK/netmode"
python3 "$ROOT/test/faults/netproxy.py" "$PROXY_PORT" "$SOCK/.s.PGSQL.$PGPORT" "$WORK/netmode" 2>>"$WORK/proxy.log" &
PROXY_PID=$!
sleep 0.5
ev_term
EV_DSN="host=127.0.0.1 port=$PROXY_PORT dbname=ev user=postgres connect_timeout=5 keepalives_idle=2 keepalives_interval=1 keepalives_count=3" e2e_write_conf
ev_start || not_ok "network: start through the proxy" "$(tail -5 "$WORK/eventlogd.log")"
next_run
load_start "$r" $((NETSTEP * 4 + 8))
for m in cut pass stall pass slow drop pass; do
	echo "$m" >"$WORK/netmode"
	case $m in pass) sleep 2 ;; *) sleep "$NETSTEP" ;; esac
done
load_wait "$r"
fault_row network "proxy: cut ${NETSTEP} s, blackhole ${NETSTEP} s, slow ${NETSTEP} s, loss-like stalls and resets ${NETSTEP} s" "$r"
ev_term
kill "$PROXY_PID" 2>/dev/null
wait "$PROXY_PID" 2>/dev/null
PROXY_PID=
e2e_write_conf
ev_start
