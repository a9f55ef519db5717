# The two set-up commands of the README: `make run` and `make test`.
# Both create .venv if needed and install the project (torch pinned to the CPU wheel).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(abspath $(VENV))/.installed

.PHONY: run test install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## run: the main job, `dvc repro` on the embedded sample
run: $(STAMP)
	PATH="$(BIN):$$PATH" dvc repro
	PATH="$(BIN):$$PATH" dvc metrics show

## test: the safe-loading check (no unpickling loads), then the whole test suite, including `dvc repro` end to end
test: $(STAMP)
	$(BIN)/python scripts/check_safe_loading.py
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest -q

clean:
	rm -rf outputs metrics dvclive plots .dvc/cache .dvc/tmp
