# Two commands set up a fresh machine: `make demo` and `make test`.
# Both create .venv when missing and (re)install only when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test parity bench-train bench-detect clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[reference,test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/anomale-jax run --out runs/demo

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

parity: $(STAMP)
	$(PY) -m pytest parity_tests $(PYTEST_ARGS)

bench-train: $(STAMP)
	$(PY) scripts/bench_train.py --framework both

bench-detect: $(STAMP)
	$(PY) scripts/bench_detect.py

clean-venv:
	rm -rf $(VENV)
