# Two set-up commands (see README): `make demo` runs the dry-run simulation on the bundled
# synthetic sample market; `make test` runs the whole test suite. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench install clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m bot simulate

# the dashboard's browser test needs Debian's chromium and chromedriver: installed here when
# missing and the machine allows (root, apt-get); any failure is tolerated and the test skips
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium and chromium-driver for the dashboard's browser test"; \
	  (DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 || \
	  echo "could not install chromium: the dashboard's browser test will skip"; \
	else echo "no chromium/chromedriver (and not root with apt-get): the dashboard's browser test will skip"; fi

test: $(STAMP) browser
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
