# pg_eventlog: PGXS build of the extension, plus targets that delegate to the
# sidecar (sidecar/Makefile) and to the project's scripts (scripts/).

PG_CONFIG ?= pg_config

MODULE_big = pg_eventlog
OBJS = \
	extension/ev.o \
	extension/appendonly.o \
	extension/uuidv7.o \
	extension/dedup.o \
	extension/ingest.o \
	extension/copyin.o \
	extension/maint.o \
	extension/bgworker.o \
	extension/streams.o \
	extension/archive.o

# The control file lives in extension/, so it is installed as DATA rather
# than through EXTENSION (which expects it next to this Makefile).
# The install script of the current version is built from one part per
# feature (extension/sql/NN_feature.sql, in name order); released versions'
# scripts and upgrade scripts are committed as they are.
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" extension/pg_eventlog.control)
MODULEDIR = extension
DATA_built = extension/pg_eventlog--$(EXTVERSION).sql
DATA = extension/pg_eventlog.control $(filter-out $(DATA_built),$(wildcard extension/pg_eventlog--*.sql))

extension/pg_eventlog--$(EXTVERSION).sql: $(sort $(wildcard extension/sql/*.sql))
	{ echo "-- pg_eventlog $(EXTVERSION). Built from extension/sql/*.sql: edit those, not this file."; \
	  printf '%s\n' '\echo Use "CREATE EXTENSION pg_eventlog" to load this file. \quit'; \
	  for f in $^; do echo; echo "-- ===== $$f"; cat $$f; done; } > $@

REGRESS = setup uuidv7 create_log append_only ingest append copy_in queries pruning rls privileges abuse maintenance webhooks streams forget seals tiers archive
CONTRIB_TESTDB = eventlog_regress
# zlib: archive files (extension/archive.c)
SHLIB_LINK = -lz
PG_CPPFLAGS = -I$(srcdir)/extension -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare

# Guarded so that `make test` and `make demo` can start on a fresh machine
# that has no pg_config yet (their scripts install it first).
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

.PHONY: sidecar sidecar-check test demo bench bench-quick check-sidecar deps test-faults fuzz curves curves-quick profile

all: sidecar

# The sidecar builds only once its Makefile exists (it is developed alongside).
SIDECAR := $(wildcard sidecar/Makefile)

sidecar:
ifneq ($(SIDECAR),)
	$(MAKE) -C sidecar PG_CONFIG=$(PG_CONFIG)
endif

install: install-sidecar
install-sidecar: sidecar
ifneq ($(SIDECAR),)
	$(MAKE) -C sidecar install PG_CONFIG=$(PG_CONFIG)
endif

sidecar-check:
	$(MAKE) --no-print-directory -C sidecar check PG_CONFIG=$(PG_CONFIG)

clean: clean-sidecar
clean-sidecar:
ifneq ($(SIDECAR),)
	$(MAKE) -C sidecar clean
endif

# Installs missing Debian packages (idempotent).
deps:
	scripts/install-deps.sh

# The README's test command: every suite against a throwaway cluster.
test:
	scripts/test.sh

# The README's main job: local PostgreSQL, extension, eventlogd, events, results.
demo:
	scripts/demo.sh

# Every write path and the peers (rsyslog, syslog-ng) on the same events (bench/README.md).
bench:
	PG_CONFIG=$(PG_CONFIG) bench/run.sh

# The same, scaled down to under 3 minutes; also the `bench` suite of `make test`.
bench-quick:
	BENCH_QUICK=1 PG_CONFIG=$(PG_CONFIG) bench/run.sh

# Cost curves and profiles (bench/CURVES.md): the log grown to 50M rows, sweeps, eventlogd's RSS.
curves:
	PG_CONFIG=$(PG_CONFIG) bench/curves.sh

curves-quick:
	CURVES_QUICK=1 PG_CONFIG=$(PG_CONFIG) bench/curves.sh

profile:
	PG_CONFIG=$(PG_CONFIG) bench/profile.sh

# Fault, fuzz and abuse suite (test/faults/README.md): FAULTS=short (the default, also run by
# `make test`), FAULTS=long by hand, FAULTS=soak (SOAK_SECONDS, default 1800).
FAULTS ?= short
test-faults: sidecar
	FAULTS=$(FAULTS) PG_CONFIG=$(PG_CONFIG) scripts/test-faults.sh

# libFuzzer targets of eventlogd, FUZZ_SECONDS (default 600) each.
FUZZ_SECONDS ?= 600
fuzz:
	$(MAKE) -C test/fuzz run PG_CONFIG=$(PG_CONFIG) FUZZ_SECONDS=$(FUZZ_SECONDS)
