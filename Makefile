# Calculus for ML. Every target creates .venv (installing from pyproject.toml with
# constraints.txt) if it is missing or older than those files.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_OUT ?= benchmarks/results
QUICK ?=

.PHONY: verify test test-long bench figures curriculum readme venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

verify: $(STAMP)
	$(PY) -m verify

test: $(STAMP)
	$(PY) -m pytest

test-long: $(STAMP)
	$(PY) -m pytest -m slow --hypothesis-profile=long

bench: $(STAMP)
	$(PY) -m benchmarks.run --out $(BENCH_OUT) $(if $(QUICK),--quick,) $(if $(DEVICE),--device $(DEVICE),)

figures: $(STAMP)
	for script in derivations/*/figures.py; do $(PY) $$script || exit 1; done

curriculum: $(STAMP)
	$(PY) derivations/update_readme.py

readme: $(STAMP)
	$(PY) -m verify.readme

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
