# Two commands on a fresh Debian machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Local settings (never committed): exported to the bot's environment when present.
ifneq (,$(wildcard .env))
include .env
export
endif

.PHONY: run test bench install test-deps clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3-venv missing: installing it"; apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ticketbot db upgrade
	$(BIN)/ticketbot run

test-deps:
	bash scripts/install-test-deps.sh

test: $(STAMP) test-deps
	$(BIN)/pytest -q -p no:cacheprovider

bench: $(STAMP) test-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var build *.egg-info
