#!/usr/bin/env bash
# Installs the Debian packages that build, test and demo pg_eventlog (idempotent).
#
# Fast no-op when every package is already installed: dpkg-query is asked
# first, and apt-get (update + install) runs only for what is missing.
# As root apt-get runs directly; otherwise through sudo.
#
# The postgresql-15 package may create and start a Debian "15 main" cluster on
# port 5432. This script leaves that cluster alone, and nothing in the project
# relies on it: scripts/pgcluster.sh starts throwaway clusters of its own.
#
# The log shippers that `make bench` compares with (rsyslog with ompgsql,
# syslog-ng with sql()) both provide system-log-daemon and conflict with each
# other and with the machine's own logger. So they are not installed: their
# .deb files are fetched with `apt-get download` and unpacked with `dpkg -x`
# into PEERS_DIR, where bench/run.sh runs them as plain processes with their
# own configs. Their shared libraries (and libdbd-pgsql, the libdbi driver
# syslog-ng's sql() loads from the system's dbd directory) do not conflict
# and are installed as usual.
#
# Environment:
#   EXTRA_PACKAGES   more packages to install, space separated
#   PEERS_DIR        where the bench's peers are unpacked (default /opt/pg_eventlog-peers)
#   SKIP_PEERS=1     do not unpack the peers
set -euo pipefail

# Every package the project needs, in one place: add new ones here.
PACKAGES="
	postgresql-15
	postgresql-server-dev-15
	postgresql-15-partman
	postgresql-15-pgtap
	libtap-parser-sourcehandler-pgtap-perl
	libpq-dev
	libevent-dev
	zlib1g-dev
	libjansson-dev
	pkg-config
	make
	gcc
	clang
	valgrind
	faketime
	gnuplot-nox
	linux-perf
	curl
	ca-certificates
	perl
	time
	postgresql-contrib
	libestr0
	libfastjson4
	liblognorm5
	libivykis0
	libnet1
	libwrap0
	libdbi1
	libdbd-pgsql
"

# The bench's peers, unpacked (not installed) into PEERS_DIR.
PEER_PACKAGES="rsyslog rsyslog-pgsql syslog-ng-core syslog-ng-mod-sql"
PEERS_DIR=${PEERS_DIR:-/opt/pg_eventlog-peers}

# Prints the packages of the list that are not installed, one per line.
missing_packages() {
	local pkg status
	for pkg in $PACKAGES ${EXTRA_PACKAGES:-}; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
		if [ "$status" != "installed" ]; then
			echo "$pkg"
		fi
	done
}

# Prints "package candidate-version" for each of PEER_PACKAGES (one apt-cache call).
peer_candidates() {
	# shellcheck disable=SC2086 # one word per package is intended
	apt-cache policy $PEER_PACKAGES 2>/dev/null |
		awk '/^[^ ].*:$/ {p = substr($1, 1, length($1) - 1)} /Candidate:/ {print p " " $2}'
}

# Fetches the peers' .deb files and unpacks them into PEERS_DIR; a no-op when
# PEERS_DIR/.unpacked lists every package of PEER_PACKAGES at its candidate version.
unpack_peers() {
	local want pkg tmp
	want=$(peer_candidates)
	if [ -f "$PEERS_DIR/.unpacked" ] && [ "$(cat "$PEERS_DIR/.unpacked")" = "$want" ]; then
		echo "install-deps: peers already unpacked in $PEERS_DIR"
		return 0
	fi
	# no package lists yet (a fresh machine): fetch them first
	if [ "$(grep -c ' [0-9]' <<<"$want")" -ne "$(wc -w <<<"$PEER_PACKAGES")" ]; then
		"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
		want=$(peer_candidates)
	fi
	echo "install-deps: unpacking $PEER_PACKAGES into $PEERS_DIR"
	tmp=$(mktemp -d)
	# apt-get download writes into the current directory as the _apt user when it can
	chmod 0777 "$tmp"
	# shellcheck disable=SC2086 # one word per package is intended
	(cd "$tmp" && "${SUDO[@]}" apt-get download -q $PEER_PACKAGES) || {
		rm -rf "$tmp"
		echo "install-deps: apt-get download $PEER_PACKAGES failed" >&2
		return 1
	}
	"${SUDO[@]}" rm -rf "$PEERS_DIR"
	"${SUDO[@]}" mkdir -p "$PEERS_DIR"
	for pkg in "$tmp"/*.deb; do
		"${SUDO[@]}" dpkg -x "$pkg" "$PEERS_DIR"
	done
	rm -rf "$tmp"
	for pkg in usr/sbin/rsyslogd usr/lib/x86_64-linux-gnu/rsyslog/ompgsql.so usr/sbin/syslog-ng \
		usr/lib/syslog-ng/3.38/libafsql.so; do
		if [ ! -e "$PEERS_DIR/$pkg" ]; then
			echo "install-deps: $PEERS_DIR/$pkg missing after unpacking" >&2
			return 1
		fi
	done
	# the stamp is written last: an interrupted unpack is redone next time
	echo "$want" | "${SUDO[@]}" tee "$PEERS_DIR/.unpacked" >/dev/null
	echo "install-deps: peers unpacked"
}

main() {
	local missing sudo=()

	if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
		echo "install-deps: this script needs a Debian-like system (dpkg, apt-get)" >&2
		exit 1
	fi

	SUDO=()
	if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	fi

	missing=$(missing_packages)
	if [ -z "$missing" ]; then
		echo "install-deps: all packages already installed"
		peers
		exit 0
	fi

	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "install-deps: missing packages and not root, and sudo is not available:" >&2
			echo "  ${missing//$'\n'/ }" >&2
			exit 1
		fi
		sudo=(sudo)
	fi

	echo "install-deps: installing: ${missing//$'\n'/ }"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086 # one word per package is intended
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing

	missing=$(missing_packages)
	if [ -n "$missing" ]; then
		echo "install-deps: still missing after apt-get install: ${missing//$'\n'/ }" >&2
		exit 1
	fi
	echo "install-deps: done"
	peers
}

# Unpacks the bench's peers unless SKIP_PEERS=1.
peers() {
	[ "${SKIP_PEERS:-0}" = "1" ] || unpack_peers
}

main "$@"
