"""Real servers for the MLflow tests: start one on a free localhost port, wait until it answers, stop it.

Shared by the SQLite-backed tracking server (``test_mlflow_tracking.py``), the
PostgreSQL-backed one (``test_mlflow_postgres.py``) and the REST scoring server
(``test_mlflow_server.py``): only the command and the health URL differ.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

SERVER_START_S = 90  # a first start runs the store's schema migrations, slow on a busy CI box


def free_port() -> int:
    """A localhost port nobody listens on (the OS picks it; closed again at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = SERVER_START_S) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} not up after {timeout} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group (server plus its workers), SIGKILL it if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_server(command: list[str], health_url: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``command`` in its own process group (so :func:`stop` reaches its workers) and wait until healthy."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        wait_http(health_url, process, log)
    except BaseException:
        stop(process)
        raise
    return process


def start_mlflow_server(backend_store_uri: str, root: Path) -> tuple[subprocess.Popen, str]:
    """``mlflow server`` on ``backend_store_uri``, artifacts proxied into ``root/artifacts``; the process and its URI.

    The command line is the one ``docs/mlflow.md`` gives for a team server,
    bound to localhost with one worker; ``root/server.log`` holds its output.
    The server's job runner is switched off: it serves MLflow's GenAI features,
    which the pipeline does not use, with seven worker processes that slow the
    start on a small CI box and outlive SIGTERM (so :func:`stop` waited 15 s).
    """
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_store_uri,
               "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]
    env = os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    uri = f"http://127.0.0.1:{port}"
    return start_server(command, f"{uri}/health", root / "server.log", env=env), uri
