# transfergraph: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.transfergraph-installed
TESTS ?= tests notebooks
PYTEST_ARGS ?=
# Ray traffic of the demo and the tests stays on 127.0.0.1 where a loopback-only network namespace can be
# made (root + iproute2); elsewhere the commands run as they are. LOOPBACK=0 turns it off (scripts/loopback.sh).
LOOPBACK ?= auto
IN_LOOPBACK := LOOPBACK=$(LOOPBACK) bash scripts/loopback.sh

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml setup.py scripts/install.sh
	VENV=$(VENV) PYTHON=$(PYTHON) bash scripts/install.sh
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(IN_LOOPBACK) $(VENV)/bin/transfergraph run configs/demo.yaml --out runs/demo

test: $(STAMP)
	$(IN_LOOPBACK) $(PY) -m pytest $(TESTS) --nbmake --timeout=900 $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/metrics.py

clean:
	rm -rf runs .pytest_cache build dist *.egg-info
