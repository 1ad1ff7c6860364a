# Two commands do all the set-up on a fresh Debian 12 box (see README.md):
#   make demo   — install, create a demo site in ./demo-site and run the hotline in the foreground
#   make test   — install and run the whole test suite (what .ci/run runs)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SITE   ?= demo-site
# Debian packages the daemon, its tests and benchmarks use; installed when run as root.
DEBS   := espeak-ng sox sip-tester tmux kamailio systemd

.PHONY: demo test deps venv lint bench bench-api bench-acd bench-history bench-sip bench-surge bench-wallboard bench-agent clean

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

$(BIN)/ccd: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]' -c constraints.txt
	@touch $@

venv: $(BIN)/ccd

lint: venv
	$(BIN)/ruff check ccd hw db tui tests bench
	$(BIN)/mypy

test: deps venv
	$(BIN)/ruff check ccd hw db tui tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider

demo: deps venv
	@[ -f $(SITE)/ccd.toml ] || $(BIN)/ccd init --dir $(SITE) --demo
	$(BIN)/ccd --config $(SITE)/ccd.toml prompts build
	exec $(BIN)/ccd --config $(SITE)/ccd.toml run

# Benchmarks print figures (and write JSON to bench/out/); they never pass or fail on speed.
bench: bench-api bench-acd bench-history bench-sip bench-wallboard bench-agent

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

# Callers against the full `ccd run` (edge, workers, demo IVR): RTP gaps, CPU, RSS, idle cost.
SURGE_ARGS ?= --levels 60,120,240,480,540 --overload
bench-surge: deps venv
	$(BIN)/python bench/sip/surge.py $(SURGE_ARGS)

clean:
	rm -rf $(VENV) $(SITE) var .pytest_cache .mypy_cache .ruff_cache

bench-wallboard: venv
	bench/wallboard/run.sh

# Offer -> screen pop painted (p50/p99) and the console's memory after many calls.
bench-agent: venv
	$(BIN)/python -m bench.agent_console.bench_screen_pop
