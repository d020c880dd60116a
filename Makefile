# Two commands do everything on a fresh machine:
#   make demo   - run the main job (the screen flow) on the bundled Tyk2 demo data
#   make test   - run the test suite
# Both create .venv on first use and reuse it afterwards (reinstalls only when
# pyproject.toml or requirements/constraints.txt change).
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
PY := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: demo test test-slow test-first-run bench env clean browser postgres screenshots

env: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip==26.3"
	$(PY) -m pip install -q -c requirements/constraints.txt -e ".[test]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/moltwin demo

test: $(STAMP) browser postgres
	$(PY) -m pytest -q

# Headless Chromium for the end-to-end page tests (web upload page, report rendering).
# Installed from Debian's packages when missing and we are root; otherwise those tests skip.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium + chromium-driver for browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "could not install chromium: browser tests will be skipped"; \
	else echo "chromium not installed and not root: browser tests will be skipped"; fi

# PostgreSQL server binaries for the store tests: each store/ingestion/ledger test runs on SQLite and
# on a throw-away PostgreSQL cluster (tests/pg_cluster.py: initdb in a temp dir, loopback, free port).
# Installed from Debian's packages when missing and we are root; otherwise the PostgreSQL cases skip.
postgres:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing postgresql for the store tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	  || echo "could not install postgresql: the PostgreSQL store tests will be skipped"; \
	else echo "postgresql not installed and not root: the PostgreSQL store tests will be skipped"; fi

test-slow: $(STAMP) browser postgres
	$(PY) -m pytest -q --runslow

# The first Prefect run on a fresh machine (empty PREFECT_HOME): Prefect's database is created
# before its temporary server starts, and the server start does not time out (~1.5 min).
test-first-run: $(STAMP)
	$(PY) -m pytest -q --runslow tests/integration/test_first_run.py

# Screenshots of the twin's web pages and of the static report in docs/screenshots/ (headless Chromium over
# a small real Tyk2 twin and a Tyk2 report).
screenshots: $(STAMP) browser
	MOLTWIN_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q tests/browser/test_twin_pages.py tests/browser/test_upload_page.py tests/browser/test_report_page.py

clean:
	rm -rf $(VENV) moltwin.db results/*/ .pytest_cache
