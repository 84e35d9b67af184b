# Two commands on a fresh Debian machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test

# Local settings (never committed): exported to the bot's environment when present.
ifneq (,$(wildcard .env))
include .env
export
endif

.PHONY: run test lint test-shifted bench install test-deps clean

# `make run` installs what running needs; `make test` adds the test tools.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3-venv missing: installing it"; apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --quiet --disable-pip-version-check -e .
	@touch $(STAMP)

$(TESTSTAMP): $(STAMP)
	$(BIN)/pip install --quiet --quiet --disable-pip-version-check -e '.[test]'
	@touch $(TESTSTAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ticketbot db upgrade
	$(BIN)/ticketbot run

test-deps:
	bash scripts/install-test-deps.sh

# Lint, types and the import contract, the whole suite (SQLite and PostgreSQL), then the
# suite again on SQLite with the wall clock 400 days ahead: no test may depend on today.
test: $(TESTSTAMP) test-deps lint
	$(BIN)/pytest -q -p no:cacheprovider -n 2
	$(MAKE) --no-print-directory test-shifted SHIFT=+400d

lint: $(TESTSTAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The real-time clock shifted for the tests and every process they start (Dovecot, the
# bot): scripts/shifted-clock.sh. SHIFT=-30d works too. The SIGKILL crash test is left
# out: under libfaketime, Dovecot stops answering the test's own IMAP login right after
# a client is killed (seen 2026-11-30), which says nothing about the bot's dates. The
# docs' shell examples run once, in the first pass: they check the docs against the code,
# and they cost minutes (a bot per page); the code's dates are the rest of the suite's.
SHIFT ?= +400d
test-shifted: $(TESTSTAMP) test-deps
	bash scripts/shifted-clock.sh $(SHIFT) $(BIN)/pytest -q -p no:cacheprovider -n 2 -k "not postgres and not sigkill and not test_shell_examples_run"

bench: $(TESTSTAMP) test-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var build *.egg-info
