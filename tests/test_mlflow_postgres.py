"""The team set-up of ``docs/mlflow.md``: ``mlflow server`` backed by PostgreSQL, tested like the SQLite one.

A throwaway cluster (``initdb`` in a temporary directory, a free localhost
port) gets the ``mlflow`` role and database with the docs' SQL, and the docs'
``mlflow server`` command runs on it. This module then re-runs, unchanged,
the tracking and registry tests written for the SQLite-backed server: its
``mlflow_server`` fixture overrides theirs, so only the backend store differs.
Skipped where the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from mlflow_server_util import free_port, start_mlflow_server, stop
from test_mlflow_registry import test_promote_keeps_a_better_champion_and_moves_to_a_better_challenger  # noqa: F401
from test_mlflow_tracking import (  # noqa: F401 (fixtures, and the tests re-run here against PostgreSQL)
    sentiment_model_dir,
    test_a_failing_stage_marks_its_run_failed,
    test_training_run_logs_params_metrics_tags_and_artifacts,
    tracking,
)

pytestmark = pytest.mark.slow  # a database cluster and a tracking server start in subprocesses

TOOLS = ("initdb", "pg_ctl", "psql", "createdb")
PASSWORD = "mlflow-test"  # the role's password; MLflow connects over TCP with it, as a team server does
COMMAND_S = 90  # any set-up command; more than the 60 s that ``pg_ctl start -w`` waits itself


def postgres_bin_dir() -> Path | None:
    """The directory holding all of :data:`TOOLS`, or None.

    Debian's ``postgresql`` package keeps the server tools in
    ``/usr/lib/postgresql/<major>/bin``, off ``PATH``; a ``pg_ctl`` on ``PATH``
    may be a link to there, so its resolved directory is tried first.
    """
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    return next((d for d in candidates if all((d / tool).is_file() for tool in TOOLS)), None)


def cluster_owner(root: Path) -> list[str]:
    """The prefix that runs ``initdb``/``pg_ctl`` as a user they accept, made owner of ``root``.

    Both refuse to run as root, and CI runs as root: root hands ``root`` to
    the ``postgres`` system user (or ``nobody``) and runs them through
    ``runuser``. Anyone else runs them as themselves.
    """
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        os.chown(root, user.pw_uid, user.pw_gid)
        return ["runuser", "-u", name, "--"]
    pytest.skip("running as root, and there is no postgres or nobody user to run initdb/pg_ctl as")


def run(command: list, log: Path | None = None) -> None:
    """Run a set-up command; fail with its output (and ``log``, the server's, if given) when it fails."""
    command = [str(part) for part in command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_S)
    if result.returncode:
        server_log = log.read_text()[-3000:] if log is not None and log.exists() else ""
        pytest.fail(f"{' '.join(command)} exited with {result.returncode}:\n"
                    f"{result.stdout}{result.stderr}\n{server_log}")


@pytest.fixture(scope="module")
def postgres_uri() -> Iterator[str]:
    """A throwaway PostgreSQL cluster with the docs' ``mlflow`` role and database; MLflow's backend store URI.

    The temporary directory (not pytest's, which other users cannot enter,
    and whose long path would overflow the socket path limit) holds the data
    directory, the server log and the Unix socket. Local-socket connections
    are trusted (the set-up, like ``sudo -u postgres`` in the docs); TCP
    connections need the password. The cluster is stopped and the directory
    removed however far the set-up got.
    """
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, psql, createdb) not found: "
                    "apt-get install postgresql")
    with ExitStack() as cleanup:
        root = Path(tempfile.mkdtemp(prefix="mlflow-pg-"))
        cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        owner, data, log, port = cluster_owner(root), root / "data", root / "postgres.log", free_port()
        run([*owner, bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth-local=trust",
             "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"])
        # Registered before the start, so that a postmaster that came up after pg_ctl gave up is stopped too.
        cleanup.callback(subprocess.run, [*owner, bin_dir / "pg_ctl", "stop", "-D", data, "-m", "fast"],
                         capture_output=True, timeout=COMMAND_S)
        run([*owner, bin_dir / "pg_ctl", "start", "-D", data, "-l", log, "-w",
             "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"], log)
        admin = ["-h", root, "-p", port, "-U", "postgres"]
        run([bin_dir / "psql", *admin, "-v", "ON_ERROR_STOP=1", "-c",
             f"CREATE ROLE mlflow LOGIN PASSWORD '{PASSWORD}'"], log)
        run([bin_dir / "createdb", *admin, "--owner", "mlflow", "mlflow"], log)
        # The driver is named: SQLAlchemy 2.1 made psycopg 3, not psycopg2, the default for postgresql://.
        yield f"postgresql+psycopg2://mlflow:{PASSWORD}@127.0.0.1:{port}/mlflow"


@pytest.fixture(scope="module")
def mlflow_server(postgres_uri: str, tmp_path_factory) -> Iterator[str]:
    """The tracking server on PostgreSQL; its URI. Overrides the SQLite one for the imported ``tracking`` fixture."""
    process, uri = start_mlflow_server(postgres_uri, tmp_path_factory.mktemp("mlflow_postgres"))
    yield uri
    stop(process)
