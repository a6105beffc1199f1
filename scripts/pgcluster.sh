#!/usr/bin/env bash
# Throwaway PostgreSQL cluster in a scratch directory: start, stop, print its environment.
#
# Usage:
#   scripts/pgcluster.sh start DIR [PORT]   initdb (first time) and start; prints exports
#   scripts/pgcluster.sh stop DIR           fast shutdown (immediate if that fails)
#   scripts/pgcluster.sh env DIR            prints the exports of a started cluster
#   scripts/pgcluster.sh status DIR         exit 0 when the cluster is running
#   scripts/pgcluster.sh can-host DIR       exit 0 when the server user could use DIR
#
#   eval "$(scripts/pgcluster.sh start /tmp/pgx)"; psql -c 'select 1'; scripts/pgcluster.sh stop /tmp/pgx
#
# Layout of DIR: data/ (PGDATA), log (the server log), .s.PGSQL.PORT (the
# socket), pgcluster.env (the exports). Authentication is trust, the superuser
# is the role "postgres" (initdb -U postgres).
#
# The cluster listens on its Unix socket in DIR only; it never uses port 5432.
# Without PORT, the first port from 55432 up that is free on 127.0.0.1 is
# taken (55433 is skipped: another harness uses it).
#
# As root, DIR is given to an unprivileged user and the server runs through
# runuser (PostgreSQL refuses to run as root): "postgres" when it exists (the
# Debian package creates it), else "eventlog", created on demand.
#
# Environment:
#   PG_CONFIG        pg_config to use (default: pg_config); its --bindir has initdb, pg_ctl
#   PGC_TCP=1        also listen on TCP 127.0.0.1:PORT (e.g. for eventlogd tests)
#   PGC_PRELOAD=0    do not put pg_eventlog in shared_preload_libraries even
#                    when $(pg_config --pkglibdir)/pg_eventlog.so exists
#   PGC_PRELOAD_LIBS more libraries for shared_preload_libraries, comma separated
#   PGC_SETTINGS     more postgresql.conf lines, appended last (newline separated)
#   PGC_USER         the unprivileged user that runs the server when called as root
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
FIRST_PORT=55432

die() {
	echo "pgcluster: $*" >&2
	exit 1
}

usage() {
	sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

is_root() {
	[ "$(id -u)" -eq 0 ]
}

# Sets RUN_USER: the user that owns DIR and runs the server (empty: the caller).
pick_user() {
	RUN_USER=""
	if ! is_root; then
		return
	fi
	if [ -n "${PGC_USER:-}" ]; then
		RUN_USER=$PGC_USER
	elif id -u postgres >/dev/null 2>&1; then
		RUN_USER=postgres
	else
		RUN_USER=eventlog
	fi
	if ! id -u "$RUN_USER" >/dev/null 2>&1; then
		useradd --system --user-group --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin "$RUN_USER" ||
			die "cannot create user $RUN_USER"
	fi
}

# Runs a command as RUN_USER (directly when not root).
as_user() {
	if [ -n "$RUN_USER" ]; then
		runuser -u "$RUN_USER" -- "$@"
	else
		"$@"
	fi
}

# Sets BINDIR and PKGLIBDIR from pg_config.
find_pg() {
	command -v "$PG_CONFIG" >/dev/null 2>&1 ||
		die "$PG_CONFIG not found (run scripts/install-deps.sh)"
	BINDIR=$("$PG_CONFIG" --bindir)
	PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
	[ -x "$BINDIR/initdb" ] || die "no initdb in $BINDIR (is postgresql-15 installed?)"
}

# Exit 0 when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints the first free port from FIRST_PORT up, never 5432 or 55433.
free_port() {
	local port
	for ((port = FIRST_PORT; port < FIRST_PORT + 200; port++)); do
		if [ "$port" -eq 55433 ] || [ "$port" -eq 5432 ]; then
			continue
		fi
		if ! port_in_use "$port"; then
			echo "$port"
			return 0
		fi
	done
	die "no free port in $FIRST_PORT..$((FIRST_PORT + 199))"
}

# Makes DIR absolute (creating it) and sets the paths inside it.
set_dir() {
	[ -n "${1:-}" ] || usage
	mkdir -p "$1"
	DIR=$(cd "$1" && pwd -P)
	DATA=$DIR/data
	LOGFILE=$DIR/log
	ENVFILE=$DIR/pgcluster.env
	# sun_path holds 107 bytes; the socket is DIR/.s.PGSQL.NNNNN
	if [ "${#DIR}" -gt 90 ]; then
		die "directory path too long for a Unix socket: $DIR"
	fi
}

# Exit 0 when RUN_USER can create files in DIR (every parent must be searchable).
can_host() {
	if [ -z "$RUN_USER" ]; then
		[ -w "$DIR" ] && [ -x "$DIR" ]
		return
	fi
	chown "$RUN_USER:" "$DIR"
	runuser -u "$RUN_USER" -- test -w "$DIR" -a -x "$DIR"
}

is_running() {
	[ -f "$DATA/PG_VERSION" ] && as_user "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# Prints the settings the harness and the extension need (pgcluster.conf).
cluster_conf() {
	local port=$1 listen="" preload=""

	if [ "${PGC_TCP:-0}" = "1" ]; then
		listen=127.0.0.1
	fi
	if [ "${PGC_PRELOAD:-1}" != "0" ] && [ -f "$PKGLIBDIR/pg_eventlog.so" ]; then
		preload=pg_eventlog
	fi
	if [ -n "${PGC_PRELOAD_LIBS:-}" ]; then
		preload=${preload:+$preload,}$PGC_PRELOAD_LIBS
	fi

	cat <<EOF
# Written by scripts/pgcluster.sh at every start; do not edit.
port = $port
listen_addresses = '$listen'
unix_socket_directories = '$DIR'
shared_preload_libraries = '$preload'
fsync = on
wal_level = replica
max_connections = 200
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d '
lc_messages = 'C'
timezone = 'UTC'
EOF
	if [ -n "${PGC_SETTINGS:-}" ]; then
		printf '%s\n' "$PGC_SETTINGS"
	fi
}

write_env() {
	local port=$1
	cat >"$ENVFILE" <<EOF
export PGHOST='$DIR'
export PGPORT='$port'
export PGUSER='postgres'
export PGDATABASE='postgres'
export PGC_DIR='$DIR'
export PGC_DATA='$DATA'
export PGC_LOG='$LOGFILE'
EOF
}

cmd_start() {
	local port=${2:-}
	set_dir "${1:-}"
	find_pg
	pick_user

	if is_running; then
		[ -f "$ENVFILE" ] || die "a server runs in $DATA but $ENVFILE is missing"
		echo "pgcluster: already running in $DIR" >&2
		cat "$ENVFILE"
		return 0
	fi

	can_host || die "user ${RUN_USER:-$(id -un)} cannot write to $DIR (check the permissions of its parents)"

	if [ -z "$port" ]; then
		port=$(free_port)
	fi
	case $port in
	'' | *[!0-9]*) die "bad port: $port" ;;
	esac
	[ "$port" -ne 5432 ] || die "refusing port 5432 (the system cluster's port)"
	if [ "${PGC_TCP:-0}" = "1" ] && port_in_use "$port"; then
		die "port $port is in use on 127.0.0.1"
	fi

	if [ ! -f "$DATA/PG_VERSION" ]; then
		echo "pgcluster: initdb in $DATA" >&2
		if ! (cd "$DIR" && as_user "$BINDIR/initdb" -D "$DATA" -U postgres \
			--auth=trust -E UTF8 --locale=C --no-sync) >"$DIR/initdb.log" 2>&1; then
			cat "$DIR/initdb.log" >&2
			die "initdb failed"
		fi
		echo "include_if_exists = 'pgcluster.conf'" >>"$DATA/postgresql.conf"
	fi
	cluster_conf "$port" >"$DATA/pgcluster.conf"
	if [ -n "$RUN_USER" ]; then
		chown "$RUN_USER:" "$DATA/pgcluster.conf"
		touch "$LOGFILE"
		chown "$RUN_USER:" "$LOGFILE"
	fi

	echo "pgcluster: starting on port $port, socket in $DIR" >&2
	if ! (cd "$DIR" && as_user "$BINDIR/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 start) >/dev/null 2>&1; then
		tail -n 30 "$LOGFILE" >&2 || true
		die "server did not start (log: $LOGFILE)"
	fi
	write_env "$port"
	cat "$ENVFILE"
}

cmd_stop() {
	set_dir "${1:-}"
	find_pg
	pick_user
	if ! is_running; then
		echo "pgcluster: not running in $DIR" >&2
		return 0
	fi
	if ! (cd "$DIR" && as_user "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 60 stop) >/dev/null 2>&1; then
		echo "pgcluster: fast shutdown failed, trying immediate" >&2
		(cd "$DIR" && as_user "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w -t 60 stop) >/dev/null 2>&1 ||
			die "cannot stop the server in $DATA"
	fi
	echo "pgcluster: stopped $DIR" >&2
}

cmd_env() {
	set_dir "${1:-}"
	[ -f "$ENVFILE" ] || die "no cluster started in $DIR"
	cat "$ENVFILE"
}

cmd_status() {
	set_dir "${1:-}"
	find_pg
	pick_user
	is_running
}

cmd_can_host() {
	set_dir "${1:-}"
	pick_user
	can_host
}

main() {
	local cmd=${1:-}
	[ $# -gt 0 ] && shift
	case $cmd in
	start) cmd_start "$@" ;;
	stop) cmd_stop "$@" ;;
	env) cmd_env "$@" ;;
	status) cmd_status "$@" ;;
	can-host) cmd_can_host "$@" ;;
	*) usage ;;
	esac
}

main "$@"
