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

# Python keeps compiled bytecode (a clean clone compiles each module once, not once per
# process: the tests start the bot and the CLI hundreds of times), even where the caller's
# environment says PYTHONDONTWRITEBYTECODE.
unexport PYTHONDONTWRITEBYTECODE

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
# bot): scripts/shifted-clock.sh. SHIFT=-30d works too. Four suites run once, in the
# first pass, to keep `make test` near 15 minutes on two cores: the SIGKILL crash test
# (40 s; it passes shifted since Dovecot keeps the shifted clock, tests/support/servers.py),
# the docs' shell examples (they check the docs against the code; a bot per page), the
# hostile corpus (fixed bytes through the parser, 74 cases per path) and the browser
# scenarios (the pages, on an injected desk clock); the code's dates are the rest's. Nor
# do the evaluations over fixed corpora that run on a fixed clock and read no date
# (DATELESS: routing sets, read-ahead, facts bounds, kind model, languages, the real-world
# corpus, the peer bench's install failure): about 140 s of CPU, which kept `make test`
# over 15 minutes (2026-12-01: 10:56 + 5:08 and lint).
# This run is two plain pytest processes side by side, each on every other test
# (scripts/in-shards.sh, TICKETBOT_TEST_SHARD): under libfaketime, a pytest-xdist worker
# once died of a segmentation fault in execnet's threads as it started (2026-11-30).
SHIFT ?= +400d
DATELESS = tests/desk/test_routing_holdout.py tests/desk/test_routing_eval.py tests/core/test_read_ahead.py \
	tests/core/test_facts_bounds.py tests/core/test_kind_model.py tests/core/test_language_per_language.py \
	tests/core/test_realworld_corpus.py tests/test_bench_peer.py
test-shifted: $(TESTSTAMP) test-deps
	bash scripts/shifted-clock.sh $(SHIFT) bash scripts/in-shards.sh 2 $(BIN)/pytest -q -p no:cacheprovider $(addprefix --ignore=,$(DATELESS)) -k "not postgres and not sigkill and not test_shell_examples_run and not test_hostile_mail and not browser"

bench: $(TESTSTAMP) test-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var build *.egg-info
