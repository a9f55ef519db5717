"""A team's tracking server on one machine: a PostgreSQL cluster in a directory, ``mlflow server`` on it.

``scripts/team_server.py`` (``make team-up``/``team-down``) and the tests
(``tests/mlflow_server_util.py``, ``tests/test_mlflow_postgres.py``,
``tests/test_team_setup.py``) share these functions, so the commands the
tests prove are the ones a team runs. Failures raise :class:`TeamSetupError`
with the failing command's output and the server's log: the script prints
it, the tests fail (or skip) with it. Only the standard library is imported;
MLflow runs as ``python -m mlflow server``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

TOOLS = ("initdb", "pg_ctl", "psql", "createdb")
COMMAND_S = 90  # any set-up command; more than the 60 s that ``pg_ctl start -w`` waits itself
SERVER_START_S = 90  # a first start runs the store's schema migrations, slow on a busy CI box
STOP_S = 15  # SIGTERM's grace before SIGKILL
LOG_TAIL = 3000  # characters of a server log quoted in an error
# The server's job runner serves MLflow's GenAI features, which the pipeline does not use, with seven
# worker processes that slow the start on a small box and outlive SIGTERM.
MLFLOW_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


class TeamSetupError(RuntimeError):
    """A set-up step failed; the message carries the command's output and the server's log tail."""


def log_tail(log: Path | None) -> str:
    """The end of a server log, for error messages ('' when there is none yet)."""
    return log.read_text(errors="replace")[-LOG_TAIL:] if log is not None and log.exists() else ""


def run_command(command: list, log: Path | None = None) -> str:
    """Run a set-up command and return its stdout; raise with its output (and ``log``'s tail) when it fails."""
    command = [str(part) for part in command]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_S)
    except subprocess.TimeoutExpired:
        raise TeamSetupError(f"{' '.join(command)} did not finish in {COMMAND_S} s\n{log_tail(log)}") from None
    if result.returncode:
        raise TeamSetupError(f"{' '.join(command)} exited with {result.returncode}:\n"
                             f"{result.stdout}{result.stderr}\n{log_tail(log)}")
    return result.stdout


def postgres_bin_dir() -> Path:
    """The directory holding all of :data:`TOOLS`.

    Debian's ``postgresql`` package keeps the server tools in
    ``/usr/lib/postgresql/<major>/bin``, off ``PATH``; a ``pg_ctl`` on ``PATH``
    may be a link to there, so its resolved directory is tried first.
    """
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    found = next((d for d in candidates if all((d / tool).is_file() for tool in TOOLS)), None)
    if found is None:
        raise TeamSetupError(f"PostgreSQL server binaries ({', '.join(TOOLS)}) not found: apt-get install postgresql")
    return found


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
    raise TeamSetupError("running as root, and there is no postgres or nobody user to run initdb/pg_ctl as")


class Cluster:
    """A PostgreSQL cluster kept in one directory: ``data/``, ``postgres.log`` and the Unix socket.

    The socket lives in ``root`` rather than ``/var/run/postgresql`` so that
    no system directory is needed; ``root``'s path must stay short (Unix
    socket paths are limited to about 100 bytes). Local-socket connections
    are trusted (the set-up, like ``sudo -u postgres`` in the docs); TCP
    connections, MLflow's, need the password.
    """

    def __init__(self, root: Path, bin_dir: Path) -> None:
        """Create ``root`` if needed and hand it to the user the server runs as."""
        root.mkdir(parents=True, exist_ok=True)
        self.root, self.bin_dir = root.resolve(), bin_dir
        self.data, self.log = self.root / "data", self.root / "postgres.log"
        self.owner = cluster_owner(self.root)

    def exists(self) -> bool:
        """Whether ``initdb`` has completed here."""
        return (self.data / "PG_VERSION").is_file()

    def init(self) -> None:
        """``initdb`` a fresh cluster with the superuser ``postgres``."""
        run_command([*self.owner, self.bin_dir / "initdb", "-D", self.data, "-U", "postgres", "--auth-local=trust",
                     "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"])

    def start(self, port: int) -> None:
        """Start the server on 127.0.0.1:``port`` and wait until it accepts connections."""
        run_command([*self.owner, self.bin_dir / "pg_ctl", "start", "-D", self.data, "-l", self.log, "-w",
                     "-o", f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"], self.log)

    def running(self) -> bool:
        """Whether a server runs on the data directory (``pg_ctl status``)."""
        if not self.exists():
            return False
        status = subprocess.run([*self.owner, self.bin_dir / "pg_ctl", "status", "-D", self.data],
                                capture_output=True, timeout=COMMAND_S)
        return status.returncode == 0

    def stop(self) -> None:
        """Stop the server if it runs (fast mode: sessions are ended, nothing is lost)."""
        if self.running():
            run_command([*self.owner, self.bin_dir / "pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w"], self.log)

    def postmaster(self) -> tuple[int, int]:
        """The running server's PID and port, from the first and fourth lines of ``postmaster.pid``."""
        lines = (self.data / "postmaster.pid").read_text().splitlines()
        return int(lines[0]), int(lines[3])

    def create_mlflow_database(self, password: str) -> None:
        """The docs' ``mlflow`` role (with ``password``) and its ``mlflow`` database, made as the superuser."""
        _, port = self.postmaster()
        admin = ["-h", self.root, "-p", port, "-U", "postgres"]
        run_command([self.bin_dir / "psql", *admin, "-v", "ON_ERROR_STOP=1", "-c",
                     f"CREATE ROLE mlflow LOGIN PASSWORD '{password}'"], self.log)
        run_command([self.bin_dir / "createdb", *admin, "--owner", "mlflow", "mlflow"], self.log)

    def backend_store_uri(self, password: str) -> str:
        """MLflow's backend store URI for the ``mlflow`` database over TCP.

        The driver is named: SQLAlchemy 2.1 made psycopg 3, not psycopg2, the
        default for ``postgresql://``.
        """
        _, port = self.postmaster()
        return f"postgresql+psycopg2://mlflow:{password}@127.0.0.1:{port}/mlflow"


def local_url(host: str, port: int) -> str:
    """The server's URL from this machine: ``host`` itself, or 127.0.0.1 for a wildcard address."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


def free_port() -> int:
    """A localhost port nobody listens on (the OS picks it; closed again at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port``: checked before a start, so that another server
    answering on the port is not mistaken for the one just started.

    ``SO_REUSEADDR``, as the servers themselves bind: the closed connections
    of a server stopped a moment ago (TIME_WAIT) do not count.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 within 2 s."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = SERVER_START_S) -> None:
    """Poll ``url`` until it answers 200; raise with the server's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TeamSetupError(f"server exited with {process.returncode}:\n{log_tail(log)}")
        if answers(url):
            return
        time.sleep(0.5)
    raise TeamSetupError(f"{url} not up after {timeout} s:\n{log_tail(log)}")


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs: exists and, where ``/proc`` says so, is no zombie.

    A server started by an earlier ``team_server.py start`` is no child of
    the one that stops it; reparented to a container's PID 1 that never
    reaps, it would stay a zombie, which ``kill(pid, 0)`` still finds.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(done: Callable[[], bool], timeout: float) -> bool:
    """Poll ``done`` every 0.1 s for up to ``timeout`` seconds; whether it came true."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def stop_process_group(pid: int, exited: Callable[[], bool]) -> None:
    """SIGTERM the process group led by ``pid`` (a server plus its workers), SIGKILL it if it lingers.

    ``exited`` says when the leader is gone: ``Popen.poll`` for a child (which
    also reaps it), :func:`pid_alive` for a server started by another process.
    """
    os.killpg(pid, signal.SIGTERM)
    if wait_until(exited, STOP_S):
        return
    os.killpg(pid, signal.SIGKILL)
    if not wait_until(exited, STOP_S):
        raise TeamSetupError(f"process {pid} still runs {STOP_S} s after SIGKILL")


def stop(process: subprocess.Popen) -> None:
    """Stop a server started by :func:`start_server` in this process, and reap it."""
    if process.poll() is None:
        stop_process_group(process.pid, lambda: process.poll() is not None)
    process.wait()


def start_server(command: list[str], health_url: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``command`` in its own process group (so :func:`stop` reaches its workers) and wait until healthy.

    Its output goes to ``log``, not to this process's pipes: the server may
    outlive this process (``team_server.py start`` exits once it is up).
    """
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=env)
    try:
        wait_http(health_url, process, log)
    except BaseException:
        stop(process)
        raise
    return process


def start_mlflow_server(backend_store_uri: str, artifacts: Path, log: Path, port: int,
                        host: str = "127.0.0.1") -> subprocess.Popen:
    """``mlflow server`` on ``backend_store_uri``, artifacts proxied into ``artifacts``; waits for ``/health``.

    The command line is the one ``docs/mlflow.md`` gives for a team server,
    with one worker (training clients log a few requests per epoch) and the
    job runner off (:data:`MLFLOW_SERVER_ENV`).
    """
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_store_uri,
               "--artifacts-destination", str(artifacts), "--host", host, "--port", str(port), "--workers", "1"]
    return start_server(command, f"{local_url(host, port)}/health", log, env=os.environ | MLFLOW_SERVER_ENV)
