"""The team set-up of ``docs/mlflow.md``: ``mlflow server`` backed by PostgreSQL, tested like the SQLite one.

A throwaway cluster (``initdb`` in a temporary directory, a free localhost
port) gets the ``mlflow`` role and database with the docs' SQL, and the docs'
``mlflow server`` command runs on it. This module then re-runs, unchanged,
the tracking and registry tests written for the SQLite-backed server: its
``mlflow_server`` fixture overrides the one of ``conftest.py`` (which the
``tracking`` fixture there requests), so only the backend store differs.
Skipped where the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from mlflow_server_util import free_port, setup_step, start_mlflow_server, stop
from test_mlflow_registry import (
    test_promote_keeps_a_better_champion_and_moves_to_a_better_challenger,  # noqa: F401
)
from test_mlflow_tracking import (  # noqa: F401 (the tests re-run here against PostgreSQL)
    test_a_failing_stage_marks_its_run_failed,
    test_training_run_logs_params_metrics_tags_and_artifacts,
)

from pipeline.ops.team import Cluster, TeamSetupError, postgres_bin_dir

pytestmark = pytest.mark.slow  # a database cluster and a tracking server start in subprocesses

PASSWORD = "mlflow-test"  # the role's password; MLflow connects over TCP with it, as a team server does


@pytest.fixture(scope="module")
def postgres_uri() -> Iterator[str]:
    """A throwaway PostgreSQL cluster with the docs' ``mlflow`` role and database; MLflow's backend store URI.

    The cluster is the one ``scripts/team_server.py`` makes
    (``pipeline/ops/team.py``), in a temporary directory (not pytest's,
    which other users cannot enter, and whose long path would overflow the
    socket path limit). It is stopped and the directory removed however far
    the set-up got; missing binaries, or root without a user to run them as,
    skip.
    """
    with ExitStack() as cleanup:
        root = Path(tempfile.mkdtemp(prefix="mlflow-pg-"))
        cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        try:
            cluster = Cluster(root, postgres_bin_dir())
        except TeamSetupError as missing:
            pytest.skip(str(missing))
        with setup_step():
            cluster.init()
            # Registered before the start, so that a postmaster that came up after pg_ctl gave up is stopped too.
            cleanup.callback(cluster.stop)
            cluster.start(free_port())
            cluster.create_mlflow_database(PASSWORD)
            uri = cluster.backend_store_uri(PASSWORD)
        yield uri


@pytest.fixture(scope="module")
def mlflow_server(postgres_uri: str, tmp_path_factory) -> Iterator[str]:
    """The tracking server on PostgreSQL; its URI. Overrides conftest's SQLite one for its ``tracking`` fixture."""
    process, uri = start_mlflow_server(postgres_uri, tmp_path_factory.mktemp("mlflow_postgres"))
    yield uri
    stop(process)
