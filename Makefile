# The two set-up commands: `make run` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench clean catalogs

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	bash scripts/run.sh

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/ussd_bench.py
	$(BIN)/python bench/sms_bench.py
	$(BIN)/python bench/simulator_bench.py
	$(BIN)/python bench/cli_bench.py
	$(BIN)/python bench/digests_bench.py
	$(BIN)/python bench/reconcile_bench.py
	$(BIN)/python bench/restore_bench.py
	$(BIN)/python bench/shedding_bench.py

clean:
	rm -rf var build *.egg-info

# Re-extract messages; tests/ussd/test_catalogs.py fails when the committed .pot is stale.
# `update` keeps each catalog's header (the Arabic Plural-Forms order lives there) and does
# not fuzzy-match: a fuzzy guess looks translated but is never used at run time.
catalogs: install
	$(BIN)/pybabel extract -F babel.cfg -k _ -k t -k plural:1,2 --no-location --sort-output \
	  --omit-header -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales --ignore-obsolete --no-wrap \
	  --no-fuzzy-matching
