# Two commands do all the set-up on a fresh Debian 12 box (see README.md):
#   make demo   — install, create a demo site in ./demo-site and run the hotline in the foreground
#   make test   — install and run the whole test suite (what .ci/run runs)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SITE   ?= demo-site
# Debian packages the daemon, its tests and benchmarks use; installed when run as root.
DEBS   := espeak-ng sox sip-tester tmux kamailio systemd gcc

.PHONY: demo test deps venv lock lint bench bench-api bench-acd bench-history bench-sip bench-surge bench-wallboard bench-agent bench-db bench-modem clean

deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)"; \
	  fi; \
	fi

# Every distribution the venv holds comes from requirements.lock (runtime, test and build, with
# their dependencies), pinned by pip-compile from pyproject.toml; ccd itself goes in without
# dependencies and without build isolation, so nothing unpinned is ever fetched.
$(BIN)/ccd: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

venv: $(BIN)/ccd

# Re-pin: `make lock` keeps every pin that still satisfies pyproject.toml and adds what is new;
# `make lock UPGRADE=textual` raises one distribution (UPGRADE=--all raises them all).
PIP_TOOLS := pip-tools==7.7.0
LOCK_FLAGS := --extra test --all-build-deps --allow-unsafe --strip-extras --no-emit-index-url \
              --no-emit-find-links --no-emit-trusted-host --output-file requirements.lock
lock:
	@[ -x $(VENV)-lock/bin/pip-compile ] || { $(PYTHON) -m venv $(VENV)-lock && \
	  $(VENV)-lock/bin/pip install -q --disable-pip-version-check '$(PIP_TOOLS)'; }
	$(VENV)-lock/bin/pip-compile -q $(LOCK_FLAGS) \
	  $(if $(filter --all,$(UPGRADE)),--upgrade,$(if $(UPGRADE),--upgrade-package $(UPGRADE))) \
	  pyproject.toml

lint: venv
	$(BIN)/ruff check ccd hw db tui tests bench
	$(BIN)/mypy

test: deps venv
	$(BIN)/ruff check ccd hw db tui tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider

demo: deps venv
	@[ -f $(SITE)/ccd.toml ] || $(BIN)/ccd init --dir $(SITE) --demo
	exec $(BIN)/ccd --config $(SITE)/ccd.toml run

# Benchmarks print figures (and write JSON to bench/out/); they never pass or fail on speed.
bench: bench-api bench-acd bench-history bench-sip bench-wallboard bench-agent bench-db bench-modem

bench-db: venv
	$(BIN)/python bench/db/writer_bench.py

bench-api: venv
	$(BIN)/python bench/api_bench.py

bench-acd: venv
	$(BIN)/python bench/acd/bench_routing.py
	$(BIN)/python bench/acd/bench_simulate.py

# Full size is 1 million customers and 10 million calls (about 3 GB, a few minutes to build).
HISTORY_ARGS ?= --customers 1000000 --calls 10000000
bench-history: venv
	$(BIN)/python bench/history/run.py $(HISTORY_ARGS)

SIP_ARGS ?= --workers 1
bench-sip: deps venv
	$(BIN)/python bench/sip/ramp.py $(SIP_ARGS)

# CPU per active modem line (play + DTMF) and the worst audio gap at 8 kHz, against pty emulators.
MODEM_ARGS ?= --lines 4 --seconds 120
bench-modem: venv
	$(BIN)/python bench/modem/bench_lines.py $(MODEM_ARGS)

# Callers against the full `ccd run` (edge, workers, demo IVR): RTP gaps, CPU, RSS, idle cost.
SURGE_ARGS ?= --levels 60,120,240,480,540 --overload
bench-surge: deps venv
	$(BIN)/python bench/sip/surge.py $(SURGE_ARGS)

clean:
	rm -rf $(VENV) $(VENV)-lock $(SITE) var .pytest_cache .mypy_cache .ruff_cache

bench-wallboard: venv
	bench/wallboard/run.sh

# Offer -> screen pop painted (p50/p99) and the console's memory after many calls.
bench-agent: venv
	$(BIN)/python -m bench.agent_console.bench_screen_pop
