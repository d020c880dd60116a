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

.PHONY: demo test test-slow bench env clean browser screenshots

env: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip==26.3"
	$(PY) -m pip install -q -c requirements/constraints.txt -e ".[test]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/moltwin demo

test: $(STAMP) browser
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

test-slow: $(STAMP) browser
	$(PY) -m pytest -q --runslow

# Screenshots of the twin's web pages in docs/screenshots/ (headless Chromium over a small real Tyk2 twin).
screenshots: $(STAMP) browser
	MOLTWIN_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q tests/browser/test_twin_pages.py

clean:
	rm -rf $(VENV) moltwin.db results/*/ .pytest_cache
