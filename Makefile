# Two commands set up everything on a fresh machine: `make demo` and `make test`.
# Both create the virtualenv, install the kit, make sure a Docker engine answers and the
# base images exist, then do their job.
SHELL   := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV    ?= .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

.PHONY: setup engine engines browser base-images demo test test-unit bench lab reset clean

# QUIET drops pip's notices about unused local package indexes on our machines; pipefail
# keeps pip's own exit status.
QUIET   := 2>&1 | { grep -v "^WARNING: Location" || true; }

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip $(QUIET)
	$(PYTHON) -m pip install -q -e '.[test,go]' $(QUIET)
	touch $@

engine:
	scripts/ensure-engine.sh

browser:
	scripts/ensure-browser.sh

# The side engines the integration tests also run on (Docker 26 with the containerd image
# store, Podman 4.3): installed here, started and stopped by the tests themselves.
engines:
	scripts/side-engines.sh install

# golang:1.22 and gcr.io/distroless/static-debian12: kept when pulled, else pulled, else built
# offline as layered stand-ins (a few minutes the first time; a stand-in of an older version
# is rebuilt). See scripts/base-images.sh.
base-images: engine $(STAMP)
	PYTHON=$(PYTHON) scripts/base-images.sh ensure

setup: $(STAMP) engine base-images

demo: setup
	$(PYTHON) -m helpers demo

test: setup browser engines
	$(PYTHON) -m pytest

test-unit: $(STAMP)
	$(PYTHON) -m pytest tests/unit

# Benchmarks print tables and write JSON under out/; they are not part of `make test`.
bench: setup engines
	$(PYTHON) benchmarks/bench_breakdown.py --engines current,docker26-containerd,podman \
	    --json out/bench-breakdown.json
	$(PYTHON) benchmarks/bench_notebooks.py --json out/bench-notebooks.json
	$(PYTHON) benchmarks/bench_cache.py --json out/bench-cache.json
	$(PYTHON) benchmarks/bench_check.py --json out/bench-check.json
	$(PYTHON) benchmarks/bench_classroom.py --json out/bench-classroom.json

# LAB_ARGS goes to JupyterLab, e.g. `make lab LAB_ARGS="--ip=0.0.0.0 --port=8888"` on a remote
# machine; scripts/lab.sh adds --allow-root for root.
LAB_ARGS ?=
lab: $(STAMP) engine
	JUPYTER=$(VENV)/bin/jupyter LAB_ARGS='$(LAB_ARGS)' scripts/lab.sh

reset: $(STAMP)
	$(PYTHON) -m helpers reset

clean: reset
	rm -rf $(VENV) out
