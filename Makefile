# The two set-up commands of the README: `make run` and `make test`.
# Both create .venv if needed and install the project (torch pinned to the CPU wheel).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(abspath $(VENV))/.installed

.PHONY: run test install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --quiet --upgrade pip
	$(BIN)/pip install --quiet --quiet torch==2.13.0
	$(BIN)/pip install --quiet --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## run: the main job, `dvc repro` on the embedded sample, then the one-screen summary
run: $(STAMP)
	PATH="$(BIN):$$PATH" dvc repro
	PATH="$(BIN):$$PATH" w2vp summary

## test: the safe-loading check (no unpickling loads), then the whole test suite, including `dvc repro` end to end
test: $(STAMP)
	$(BIN)/python scripts/check_safe_loading.py
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest -q -m "not scale"

clean:
	rm -rf outputs metrics dvclive plots .dvc/cache .dvc/tmp

# Team set-up (docs/mlflow.md, "Team set-up"): one MLflow server on PostgreSQL for everyone, a shared DVC remote.
TEAM_DIR ?= .team
TEAM_PORT ?= 5000
TEAM_PG_PORT ?= 5433
TEAM_HOST ?= 127.0.0.1
DVC_REMOTE ?= $(TEAM_DIR)/dvc-remote
TEAM_SERVER := $(BIN)/python scripts/team_server.py

.PHONY: team-up team-down dvc-remote

## team-up: PostgreSQL + `mlflow server` (artifacts in $(TEAM_DIR)/artifacts); prints the MLFLOW_TRACKING_URI export
team-up: $(STAMP)
	$(TEAM_SERVER) start --state-dir $(TEAM_DIR) --port $(TEAM_PORT) --pg-port $(TEAM_PG_PORT) --host $(TEAM_HOST)

## team-down: stops both servers; the runs, models and artifacts stay in $(TEAM_DIR)
team-down: $(STAMP)
	$(TEAM_SERVER) stop --state-dir $(TEAM_DIR)

## dvc-remote: the default DVC remote `team`, a directory (DVC_REMOTE=...; an s3:// URL works too, see the docs)
dvc-remote: $(STAMP)
	PATH="$(BIN):$$PATH" dvc remote add -d -f team $(DVC_REMOTE)

## spark: the optional Spark extra (pyspark) in the venv, plus a JDK from Debian packages where `java` is missing
.PHONY: spark
spark: $(STAMP)
	$(BIN)/pip install --quiet --quiet -e ".[spark]"
	command -v java >/dev/null || { apt-get update && apt-get install -y default-jdk-headless; }

## test-scale: the scale-out tests CI leaves out for time (Spark in local[2], the team server + DVC remote round trip)
.PHONY: test-scale
test-scale: spark
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest -q -m scale
