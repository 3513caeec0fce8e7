# OneOnOne: `make run` serves the site with a demo account; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
FLASK = $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test test-fast lint db-upgrade seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

db-upgrade: install
	$(FLASK) db upgrade

seed: db-upgrade
	$(FLASK) seed-demo

run: seed
	@echo "OneOnOne on http://$(HOST):$(PORT)  (demo: demo@example.com / demo-password)"
	$(FLASK) run --host $(HOST) --port $(PORT)

# Browser tests (tests/e2e) drive Debian's Chromium; without it they are skipped, except in CI (CI=true),
# where a missing browser fails the run.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

test: install
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "Chromium not found: browser tests skipped; install with apt-get install chromium"; \
	  if [ "$$CI" = "true" ]; then echo "CI=true: the browser tests are required, so they will fail." >&2; fi; \
	fi
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance/oneonone.sqlite
