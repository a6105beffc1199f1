# pg_eventlog: PGXS build of the extension, plus targets that delegate to the
# sidecar (sidecar/Makefile) and to the project's scripts (scripts/).

PG_CONFIG ?= pg_config

MODULE_big = pg_eventlog
OBJS = \
	extension/ev.o \
	extension/appendonly.o \
	extension/uuidv7.o \
	extension/ingest.o \
	extension/copyin.o \
	extension/maint.o \
	extension/bgworker.o

# The control file lives in extension/, so it is installed as DATA rather
# than through EXTENSION (which expects it next to this Makefile).
MODULEDIR = extension
DATA = extension/pg_eventlog.control $(wildcard extension/pg_eventlog--*.sql)

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --dbname=eventlog_regress
PG_CPPFLAGS = -I$(srcdir)/extension -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.PHONY: sidecar sidecar-check test demo bench check-sidecar deps

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
	$(MAKE) -C sidecar check PG_CONFIG=$(PG_CONFIG)

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

bench:
	bench/run.sh

bench-quick:
	BENCH_QUICK=1 bench/run.sh
