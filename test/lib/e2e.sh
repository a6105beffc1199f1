# Shared helpers of the end-to-end and fault tests (test/e2e/eventlogd_e2e.sh,
# scripts/test-faults.sh): a throwaway PostgreSQL cluster with pg_eventlog, an eventlogd
# process, TAP lines, and the exactly-once reconciliation of acknowledged event ids.
#
# Source it after setting ROOT (repository root), WORK (scratch directory), PGPORT and HTTP
# (ports); it sets PG_CONFIG, PGBIN, EVENTLOGD, SOCK, U, PSQL. Every load loop it starts is
# bounded in time, and it talks to 127.0.0.1 and Unix sockets only.

PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=$($PG_CONFIG --bindir)
EVENTLOGD=${EVENTLOGD:-$ROOT/sidecar/eventlogd}
SOCK=$WORK/pgsock
U=http://127.0.0.1:$HTTP
PSQL="psql -X -q -h $SOCK -p $PGPORT -U postgres -d ev -v ON_ERROR_STOP=1"
EVPID=
pass=0
fail=0

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
sql() { $PSQL -Atc "$1"; }
ok() { echo "ok $((pass + fail + 1)) - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok $((pass + fail + 1)) - $1"; echo "#   $2"; fail=$((fail + 1)); }
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', expected '$3'"; fi; }
log_contains() { grep -Eq "$1" "$WORK/eventlogd.log"; }

pg_start() {
	as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -w -l "$WORK/pg.log" \
		-o "-p $PGPORT -k $SOCK -c listen_addresses='' -c shared_preload_libraries=pg_eventlog -c fsync=on" start >/dev/null
}
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m "${1:-fast}" stop >/dev/null 2>&1; }

# A fresh cluster in $WORK/pg with database ev, pg_partman, pg_eventlog and the log "audit".
e2e_setup_db() {
	mkdir -p "$SOCK" && chmod 777 "$WORK" "$SOCK"
	as_pg "$PGBIN/initdb" -D "$WORK/pg" -A trust -U postgres >/dev/null || return 1
	pg_start || { cat "$WORK/pg.log"; return 1; }
	psql -X -q -h "$SOCK" -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE ev" || return 1
	$PSQL -c "CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman; CREATE EXTENSION pg_eventlog;
	          GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin; SELECT eventlog.create_log('audit');" >/dev/null
}

# $WORK/eventlogd.conf for a daemon on $HTTP, its Unix socket, and spool $WORK/spool
# (EV_DSN: another dsn, e.g. through a proxy).
e2e_write_conf() {
	cat >"$WORK/eventlogd.conf" <<CONF
[eventlogd]
dsn = ${EV_DSN:-host=$SOCK port=$PGPORT dbname=ev user=postgres}
listen = 127.0.0.1:$HTTP
unix_socket = $WORK/eventlogd.sock
spool_dir = $WORK/spool
stats_period = 0
logs_refresh = 1s
retry_max_delay = 1s
pause_retry = 2s
CONF
}

# Start eventlogd (extra flags in "$@"; EV_ENV: environment assignments) and wait for /healthz.
ev_start() {
	env ${EV_ENV:-} "$EVENTLOGD" -c "$WORK/eventlogd.conf" "$@" >>"$WORK/eventlogd.log" 2>&1 &
	EVPID=$!
	for _ in $(seq 1 50); do
		curl -s -o /dev/null "$U/healthz" && return 0
		sleep 0.1
	done
	return 1
}
ev_kill9() { kill -9 "$EVPID" 2>/dev/null; wait "$EVPID" 2>/dev/null; }
ev_term() { kill -TERM "$EVPID"; wait "$EVPID"; }
flush() { curl -s -m "${FLUSH_TIMEOUT:-180}" -o /dev/null -w '%{http_code}' -X POST "$U/v1/flush"; }
post() { curl -s -o "$WORK/resp" -w '%{http_code}' -X POST --data-binary "$@"; }

# Build the load generator into $WORK/evload.
e2e_build_evload() { gcc -O2 -o "$WORK/evload" "$ROOT/test/e2e/evload.c" -lpthread; }

# Reconcile run $1 (evload -r $1 -o $WORK/acked.$1): sets ACKED (distinct acknowledged ids),
# STORED (rows of the run in the log), LOST (acknowledged, not stored) and DUP (rows beyond
# one per id).
reconcile() {
	local run=$1 prefix
	prefix=$(printf %08x "0x$run")
	touch "$WORK/acked.$run"
	sort -u "$WORK/acked.$run" >"$WORK/acked.sorted"
	sql "SELECT event_id FROM audit WHERE event_id::text LIKE '$prefix-%'" | sort >"$WORK/db.sorted"
	ACKED=$(wc -l <"$WORK/acked.sorted")
	STORED=$(wc -l <"$WORK/db.sorted")
	DUP=$((STORED - $(sort -u "$WORK/db.sorted" | wc -l)))
	LOST=$(comm -23 "$WORK/acked.sorted" <(sort -u "$WORK/db.sorted") | wc -l)
}

# exactly-once check: every acknowledged id of run $2 is in the log once, nothing twice
check_run() {
	local name=$1
	reconcile "$2"
	if [ "$ACKED" -gt 0 ] && [ "$LOST" = 0 ] && [ "$DUP" = 0 ]; then
		ok "$name: $ACKED acknowledged, all committed exactly once"
	else
		not_ok "$name" "acked $ACKED, rows $STORED, duplicated $DUP, missing $LOST"
	fi
}
