# The two entry points a newcomer needs: `make demo` and `make test`.
# Both create .venv when missing and (re)install the project when pyproject.toml changes;
# `make demo` installs only what the demo runs, `make test` adds the dev tools and the
# Debian packages the tests run against (scripts/system-packages).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-cluster system-packages lint typecheck pytest bench clean

# A .venv that no longer works here (the checkout moved, the Python that made it changed
# or was removed: scripts/venv-works) is removed, so the rules below make it again. Only
# a virtual environment (its pyvenv.cfg) is removed, and not on a dry run (make -n).
ifneq ($(shell scripts/venv-works $(VENV) && echo works),works)
ifneq ($(wildcard $(VENV)/pyvenv.cfg),)
ifeq ($(findstring n,$(firstword -$(MAKEFLAGS))),)
$(info $(VENV) no longer works here (the checkout moved, or its Python changed): making it again)
$(shell rm -rf $(VENV))
else
$(info $(VENV) no longer works here: make would remove it and make it again)
endif
endif
endif

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# py-oepl 0.8.0 says Python >= 3.12 but runs on 3.11 unmodified (its tests here prove it).
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python py-oepl==0.8.0
	touch $(RUN_STAMP) $(DEV_STAMP)

demo: $(RUN_STAMP)
	$(BIN)/esl demo

system-packages:
	scripts/system-packages

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

# Temporary files (each test's SQLite copy, brokers' state) and the throwaway PostgreSQL
# cluster live in memory where /dev/shm has room (scripts/with-memory-tmp, with-postgres).
pytest: $(DEV_STAMP) system-packages
	scripts/with-memory-tmp scripts/with-postgres $(BIN)/pytest -q -n 2 --dist loadgroup --durations=20

# The Debian packages first: without them (and without root) it stops at once with the
# apt-get line to run, before minutes of lint and strict mypy.
test: system-packages lint typecheck pytest

# Only the chain on a three-node RabbitMQ cluster (docs/clustered-broker.md); `make test`
# runs these too.
test-cluster: $(DEV_STAMP) system-packages
	$(BIN)/pytest -q -p no:cacheprovider tests/brokers

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
