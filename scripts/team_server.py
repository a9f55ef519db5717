"""A team's MLflow tracking server on this machine: PostgreSQL backend store, local artifact root.

    python scripts/team_server.py start  [--state-dir .team] [--port 5000] [--pg-port 5433] [--host 127.0.0.1]
    python scripts/team_server.py status [--state-dir .team]
    python scripts/team_server.py stop   [--state-dir .team]

``make team-up`` / ``make team-down`` call it (docs/mlflow.md, "Team set-up").
Everything lives in the state directory: ``postgres/`` (the cluster: data,
log, socket), ``artifacts/`` (the artifact root the server proxies),
``mlflow.log``, ``db-password`` (the ``mlflow`` role's, generated with the
cluster) and ``team.json`` (PIDs and URI of the running pair). ``start``
prints the ``export MLFLOW_TRACKING_URI=…`` line for the shell; it is a no-op
when both servers already run. The cluster functions are
``pipeline/ops/team.py``'s, which the tests use too.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.atomic import write_json
from pipeline.ops import team


@dataclass(frozen=True)
class State:
    """The paths inside the state directory."""

    root: Path

    @property
    def cluster(self) -> Path:
        return self.root / "postgres"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def mlflow_log(self) -> Path:
        return self.root / "mlflow.log"

    @property
    def password(self) -> Path:
        """Written once the ``mlflow`` role and database exist: a cluster without it never finished its set-up."""
        return self.root / "db-password"

    @property
    def record(self) -> Path:
        return self.root / "team.json"

    def read_record(self) -> dict:
        """``team.json`` of the last successful start, or {}."""
        return json.loads(self.record.read_text()) if self.record.exists() else {}


def mlflow_pid(state: State) -> int | None:
    """The recorded ``mlflow server`` PID if that process still runs and is an MLflow server.

    The command line is checked (where ``/proc`` shows it) so that a PID
    reused after a reboot never gets signalled.
    """
    pid = state.read_record().get("mlflow_pid")
    if pid is None or not team.pid_alive(pid):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    return pid if not cmdline.exists() or b"mlflow" in cmdline.read_bytes() else None


def existing_cluster(state: State) -> team.Cluster | None:
    """The cluster of the state directory, or None before the first ``initdb``."""
    return team.Cluster(state.cluster, team.postgres_bin_dir()) if (state.cluster / "data").exists() else None


def mlflow_healthy(state: State) -> bool:
    """Whether the recorded ``mlflow server`` runs and answers ``/health``."""
    return mlflow_pid(state) is not None and team.answers(f"{state.read_record()['tracking_uri']}/health")


def provision(cluster: team.Cluster, state: State, pg_port: int) -> None:
    """Start the cluster; first make it (``initdb``, the ``mlflow`` role and database) if it was never finished."""
    if not state.password.exists():
        shutil.rmtree(cluster.data, ignore_errors=True)
        cluster.init()
    cluster.start(pg_port)
    if not state.password.exists():
        password = secrets.token_hex(16)
        cluster.create_mlflow_database(password)
        fd = os.open(state.password, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password)


def check_ports_free(args: argparse.Namespace) -> None:
    """Refuse ports another program holds, before anything starts."""
    for host, port in ((args.host, args.port), ("127.0.0.1", args.pg_port)):
        if team.port_in_use(host, port):
            raise team.TeamSetupError(f"{host}:{port} is in use: choose another port (--port / --pg-port)")


def start(args: argparse.Namespace) -> int:
    """Start PostgreSQL and ``mlflow server`` (first stopping what is left of a half-running pair); print the export."""
    state = State(args.state_dir.resolve())
    cluster = existing_cluster(state)
    if cluster is not None and cluster.running() and mlflow_healthy(state):
        print(f"already running (status: {sys.argv[0]} status --state-dir {args.state_dir})", file=sys.stderr)
        print(f"export MLFLOW_TRACKING_URI={state.read_record()['tracking_uri']}")
        return 0
    stop(args)
    check_ports_free(args)
    cluster = team.Cluster(state.cluster, team.postgres_bin_dir())
    try:
        provision(cluster, state, args.pg_port)
        process = team.start_mlflow_server(cluster.backend_store_uri(state.password.read_text()), state.artifacts,
                                           state.mlflow_log, args.port, args.host)
    except BaseException:
        cluster.stop()  # nothing half-started stays behind
        raise
    uri = team.local_url(args.host, args.port)
    postgres_pid, pg_port = cluster.postmaster()
    write_json(state.record, {"tracking_uri": uri, "mlflow_pid": process.pid, "postgres_pid": postgres_pid,
                              "postgres_port": pg_port})
    print(f"export MLFLOW_TRACKING_URI={uri}")
    return 0


def stop(args: argparse.Namespace) -> int:
    """Stop ``mlflow server`` (SIGTERM to its process group), then PostgreSQL (``pg_ctl stop -m fast``)."""
    state = State(args.state_dir.resolve())
    pid = mlflow_pid(state)
    if pid is not None:
        team.stop_process_group(pid, lambda: not team.pid_alive(pid))
    cluster = existing_cluster(state)
    if cluster is not None:
        cluster.stop()
    state.record.unlink(missing_ok=True)
    return 0


def status(args: argparse.Namespace) -> int:
    """Print one line per server; exit 0 when both run and MLflow answers ``/health``, else 3."""
    state = State(args.state_dir.resolve())
    cluster = existing_cluster(state)
    postgres_up = cluster is not None and cluster.running()
    if postgres_up:
        pid, port = cluster.postmaster()
        print(f"postgres: running (pid {pid}, 127.0.0.1:{port}, data {cluster.data})")
    else:
        print("postgres: stopped")
    healthy = mlflow_healthy(state)
    if healthy:
        print(f"mlflow: running (pid {mlflow_pid(state)}, {state.read_record()['tracking_uri']}, "
              f"artifacts {state.artifacts})")
    else:
        print("mlflow: stopped")
    return 0 if postgres_up and healthy else 3


def parse_args(argv: list[str]) -> argparse.Namespace:
    """``start``/``stop``/``status`` with the state directory, ports and bind address."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--state-dir", type=Path, default=Path(".team"),
                        help="cluster, artifacts, logs and PIDs (default: .team, git-ignored)")
    parser.add_argument("--port", type=int, default=5000, help="mlflow server port (default: 5000)")
    parser.add_argument("--pg-port", type=int, default=5433,
                        help="PostgreSQL port on 127.0.0.1 (default: 5433, beside a system server's 5432)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="mlflow server bind address (default: 127.0.0.1; 0.0.0.0 serves the team)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        return {"start": start, "stop": stop, "status": status}[args.command](args)
    except team.TeamSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
