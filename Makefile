# transfergraph: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.transfergraph-installed
PYTEST_ARGS ?=

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml scripts/install.sh
	VENV=$(VENV) PYTHON=$(PYTHON) bash scripts/install.sh
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/transfergraph run configs/demo.yaml --out runs/demo

test: $(STAMP)
	$(PY) -m pytest tests notebooks --nbmake --timeout=900 $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/metrics.py

clean:
	rm -rf runs .pytest_cache build dist *.egg-info
