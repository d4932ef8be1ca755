# encyclo: the two set-up commands of the README, and their parts.
#   make site   set up everything, build the site and serve it on http://127.0.0.1:8000/
#   make test   set up everything and run the full test suite (site build and browser test included)
# TORCH: the torch requirement installed first. The default is the CPU wheel, so no CUDA packages are
# pulled on CPU machines; on a GPU machine use e.g. `make test TORCH=torch` (or install your CUDA build
# into .venv first: an installed torch >= 2.4 is kept).

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
TORCH  ?= torch==2.13.0
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: setup site build serve test check bench-cpu chromium clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[site,test]"
	touch $@

build: setup
	DISABLE_MKDOCS_2_WARNING=true NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

site: build
	@echo "encyclo site: http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind $(HOST) --directory site

serve: setup
	DISABLE_MKDOCS_2_WARNING=true NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a $(HOST):$(PORT)

# Debian's chromium for the real-browser test (skipped with a reason where it cannot be installed).
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "chromium not installed: the browser test will be skipped"

test: setup chromium
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

check: setup
	$(BIN)/encyclo check

bench-cpu: setup
	$(BIN)/encyclo bench --all --device cpu

clean:
	rm -rf site .cache build dist test-artifacts
