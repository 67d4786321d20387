# Calculus for ML. Every target creates .venv (installing from pyproject.toml with
# constraints.txt) if it is missing or older than those files. `make test` also installs
# MathJax for the rendering test (npm ci from tests/render/package-lock.json) and, as root,
# Debian's chromium for the browser test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_OUT ?=
QUICK ?=

.PHONY: verify test test-long bench figures notebooks curriculum readme venv render-deps browser-deps clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

RENDER := tests/render
RENDER_STAMP := $(RENDER)/node_modules/.installed
NOTEBOOKS := $(wildcard derivations/*/*.ipynb)

render-deps: $(RENDER_STAMP)

# node_modules is (re)installed when missing or older than the lock file
$(RENDER_STAMP): $(RENDER)/package.json $(RENDER)/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm not found; the rendering test needs Node.js 20 with npm (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
	cd $(RENDER) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's chromium for the browser test (never a browser download); installed as root
browser-deps:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "make: chromium not found and not root: run 'sudo apt-get update && sudo apt-get install -y chromium' (the browser test fails without it)" >&2; \
	  fi; }

verify: $(STAMP)
	$(PY) -m verify

test: $(STAMP) $(RENDER_STAMP) browser-deps
	$(PY) -m pytest -n auto

test-long: $(STAMP)
	$(PY) -m pytest -m slow --hypothesis-profile=long

bench: $(STAMP)
	$(PY) -m benchmarks.run $(if $(BENCH_OUT),--out $(BENCH_OUT),) $(if $(QUICK),--quick,) $(if $(DEVICE),--device $(DEVICE),) $(if $(BUSY),--busy-core,)

figures: $(STAMP)
	for script in derivations/*/figures.py; do $(PY) $$script || exit 1; done

# re-execute every chapter notebook top to bottom, in place, saving its outputs
notebooks: $(STAMP)
	$(PY) -m tests.notebook_tools $(NOTEBOOKS)

curriculum: $(STAMP)
	$(PY) derivations/update_readme.py

readme: $(STAMP)
	$(PY) -m verify.readme

clean:
	rm -rf $(VENV) .pytest_cache out $(RENDER)/node_modules
