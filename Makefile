# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
HOST   ?= 127.0.0.1
export FLASK_APP := kiosk
# The address phones and the sandbox's notifications use (QR codes, notify URL); set it to this
# computer's network address to pay from a real phone. 0.0.0.0 is where to listen, not an address.
KIOSK_PUBLIC_BASE_URL ?= http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT)

# the adapters call the simulator on this machine even when phones use a LAN address
KIOSK_SIMULATOR_URL ?= http://127.0.0.1:$(PORT)/simulator
SIMULATOR_PORT ?= 5100

.PHONY: run test install install-test translations chromium db bench bench-poll bench-surge clean simulator

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations

# catalogs are compiled here, never committed as binaries
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d kiosk/translations -D messages >/dev/null

# without KIOSK_ENV the app is production and refuses the development keys: these targets are development
db run: export KIOSK_ENV := development
run: export KIOSK_PUBLIC_BASE_URL := $(KIOSK_PUBLIC_BASE_URL)
run: export KIOSK_SIMULATOR_URL := $(KIOSK_SIMULATOR_URL)

db: install
	mkdir -p instance
	$(BIN)/flask simulator-keys
	$(BIN)/flask init-db
	$(BIN)/flask seed-demo

# The sweeps (expiry, follow-ups, refunds, idle sessions) run beside the server, as cron runs
# them in production. A background job of this non-interactive shell ignores Ctrl-C, so the
# shell stops it when it exits, however it exits (Ctrl-C, the server failing to start).
SWEEP_EVERY ?= 30
run: db
	@echo "Kiosk on http://$(HOST):$(PORT)/  (demo ID numbers: see README.md)"
	@$(BIN)/flask sweep --every $(SWEEP_EVERY) & sweeper=$$!; \
	trap 'kill $$sweeper 2>/dev/null; wait $$sweeper 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM HUP; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

# the payment simulator as a process of its own, for several app instances (a benchmark): give
# each instance KIOSK_SIMULATOR_URL=http://127.0.0.1:$(SIMULATOR_PORT)/simulator. One worker:
# its trades are in memory; threads for the concurrent calls.
simulator: install
	$(BIN)/flask simulator-keys
	KIOSK_ENV=development KIOSK_PUBLIC_BASE_URL=http://$(HOST):$(SIMULATOR_PORT) \
	  $(BIN)/gunicorn -w 1 --threads 32 -b $(HOST):$(SIMULATOR_PORT) 'kiosk.web.simulator:create_simulator_app()'

# Debian's Chromium for the browser tests; installed when missing and we are root.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else \
	    echo "Chromium is missing: run 'sudo apt-get install chromium fonts-noto-cjk' (browser tests will be skipped, or fail under CI=true)"; \
	  fi; \
	fi

# two test processes (pytest-xdist), a file each at a time: the suite waits on PostgreSQL and Chromium
# as much as it computes, so two processes on two cores take about 11 minutes where one takes 20.
# TEST_WORKERS=0 runs it in this process (pytest's own -x, --pdb and -s work as usual then).
TEST_WORKERS ?= 2
test: install-test chromium
	$(BIN)/pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

bench: install
	$(BIN)/python bench/pages.py

# the QR screen's poll under gunicorn on PostgreSQL next to a bare primary-key read (needs wrk
# and the PostgreSQL of the tests; see docs/benchmarks.md). About two minutes.
bench-poll: install
	$(BIN)/python bench/poll.py

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]'
	touch $@

# the year-end surge: 200 kiosks running the whole journey through an nginx TLS proxy against two
# gunicorn instances on one fresh PostgreSQL database, next to the primary-key-read baseline (needs
# the PostgreSQL of the tests, openssl and nginx; redis-server if present; see docs/benchmarks.md).
# About four minutes. Options: make bench-surge SURGE_ARGS="--kiosks 50 --seconds 30 --pay sandbox"
bench-surge: $(VENV)/.installed-bench translations
	@if ! command -v nginx >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	  else \
	    echo "nginx is missing: run 'sudo apt-get install nginx-light'"; exit 1; \
	  fi; \
	fi
	$(BIN)/python bench/surge.py $(SURGE_ARGS)

clean:
	rm -rf $(VENV) instance test-artifacts
