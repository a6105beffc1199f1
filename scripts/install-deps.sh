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
# Environment:
#   EXTRA_PACKAGES   more packages to install, space separated
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
"

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

main() {
	local missing sudo=()

	if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
		echo "install-deps: this script needs a Debian-like system (dpkg, apt-get)" >&2
		exit 1
	fi

	missing=$(missing_packages)
	if [ -z "$missing" ]; then
		echo "install-deps: all packages already installed"
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
}

main "$@"
