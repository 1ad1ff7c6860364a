#!/bin/sh
# The wallboard benchmark (see run.py): 1,000 agents, about 200 events a second.
cd "$(dirname "$0")/../.." && exec .venv/bin/python bench/wallboard/run.py --tmux "$@"
