"""Real servers for the MLflow tests: start one on a free localhost port, wait until it answers, stop it.

Shared by the SQLite-backed tracking server (``test_mlflow_tracking.py``), the
PostgreSQL-backed one (``test_mlflow_postgres.py``) and the REST scoring server
(``test_mlflow_server.py``): only the command and the health URL differ. The
work is done by ``pipeline/ops/team.py``, which ``scripts/team_server.py``
uses too; here its errors become test failures carrying the server's log.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.ops import team
from pipeline.ops.team import free_port, stop  # noqa: F401 (re-exported for the tests)


@contextmanager
def setup_step() -> Iterator[None]:
    """Fail the test with the message (command output, server log) of a :class:`team.TeamSetupError`."""
    try:
        yield
    except team.TeamSetupError as error:
        pytest.fail(str(error))


def start_server(command: list[str], health_url: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``command`` in its own process group (so :func:`stop` reaches its workers) and wait until healthy."""
    with setup_step():
        return team.start_server(command, health_url, log, env)


def start_mlflow_server(backend_store_uri: str, root: Path) -> tuple[subprocess.Popen, str]:
    """``mlflow server`` on ``backend_store_uri``, artifacts proxied into ``root/artifacts``; the process and its URI.

    The command line is the one ``docs/mlflow.md`` gives for a team server,
    bound to localhost with one worker and the job runner off;
    ``root/server.log`` holds its output.
    """
    port = free_port()
    with setup_step():
        process = team.start_mlflow_server(backend_store_uri, root / "artifacts", root / "server.log", port)
    return process, team.local_url("127.0.0.1", port)
