"""The REST model server (``w2vp mlflow serve``) under load and faults, on 127.0.0.1.

A short run of the benchmark's load generator (``benchmarks/serving.py``) at 1, 4 and 16 clients against both
models, hostile payloads, a SIGKILL under load and a restart, and an alias that moves while a server runs. The
models are the tiny session models, registered in the session's tracking server; every answer is compared with
the same registered model called in this process.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pytest
from conftest import ROOT, SAMPLE, register
from mlflow_server_util import setup_step

from pipeline.ops import team
from pipeline.tracking.registry import promote

LEVEL_S = 1.5  # seconds per load level: the benchmark's 60 s, shortened
TEXTS = 64  # real texts from the committed sample, per model
CONNECTION_ERRORS = {"ConnectionRefusedError", "ConnectionResetError", "RemoteDisconnected", "BrokenPipeError",
                     "IncompleteRead", "BadStatusLine"}


def load_benchmark():
    """``benchmarks/serving.py``, the load generator the benchmark runs (a script beside ``common.py``)."""
    spec = importlib.util.spec_from_file_location("serving_benchmark", ROOT / "benchmarks" / "serving.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = load_benchmark()


@dataclass
class Served:
    """One ``w2vp mlflow serve`` process for a registered model, restartable on its port."""

    name: str
    kind: str
    port: int
    logs: Path
    payloads: list[list[str]]
    expected: list[list[dict]] = field(default_factory=list)  # in-process predictions of each payload
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.logs / f"{self.kind}-{self.starts}.log"

    def launch(self) -> None:
        self.starts += 1
        command = [sys.executable, "-m", "pipeline.cli", "mlflow", "serve", self.name, "--port", str(self.port)]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True, env=os.environ.copy())

    def wait(self) -> None:
        with setup_step():
            team.wait_http(f"{self.url}/ping", self.process, self.log)

    def start(self) -> None:
        self.launch()
        self.wait()

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        team.stop(self.process)

    def served_uri(self) -> str:
        """The ``models:/NAME/VERSION`` the current process said it serves (its first output line)."""
        first = self.log.read_text(errors="replace").splitlines()[0]
        assert first.startswith("serving models:/"), first
        return first.split()[1]

    def sizes(self) -> list[int]:
        return [len(p) for p in self.payloads]


def same(answer: list[dict], expected: list[dict]) -> bool:
    """The JSON predictions equal the in-process ones (floats to 1e-6)."""
    if len(answer) != len(expected):
        return False
    for got, want in zip(answer, expected):
        if got.keys() != want.keys():
            return False
        for key, value in want.items():
            if isinstance(value, float) and not math.isclose(got[key], value, rel_tol=1e-6, abs_tol=1e-6):
                return False
            if not isinstance(value, float) and got[key] != value:
                return False
    return True


def expected_predictions(uri: str, payloads: list[list[str]]) -> list[list[dict]]:
    """What the registered model answers in this process, as the REST server's JSON would carry it."""
    model = mlflow.pyfunc.load_model(uri)
    return [json.loads(model.predict(texts).to_json(orient="records")) for texts in payloads]


@pytest.fixture(scope="module")
def served(mlflow_server, ner_model_dir, sentiment_model_dir, tmp_path_factory) -> Iterator[dict[str, Served]]:
    """Both tiny models registered as champions of their own names and served, each on a free port."""
    logs = tmp_path_factory.mktemp("serving")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_URI", mlflow_server)
        env.delenv("PIPELINE_MLFLOW_OPTIONAL", raising=False)
        mlflow.set_tracking_uri(mlflow_server)
        texts = {"ner": bench.conll_sentences(SAMPLE / "conll2003" / "eng.testb.gz", TEXTS),
                 "sentiment": bench.imdb_reviews(SAMPLE / "aclimdb" / "test.jsonl.gz", TEXTS)}
        servers = {}
        for kind, model_dir, metric in (("ner", ner_model_dir, "dev_f1"),
                                        ("sentiment", sentiment_model_dir, "dev_accuracy")):
            name = f"test-serving-{kind}"
            version = register(kind, model_dir, {metric: 0.5}, name)
            assert promote(name, version.version, metric).promoted
            payloads = [[text] for text in texts[kind]] + [texts[kind][:32], texts[kind][32:]]  # ones and 32s
            servers[kind] = Served(name, kind, team.free_port(), logs, payloads)
            servers[kind].expected = expected_predictions(f"models:/{name}/{version.version}", payloads)
        for server in servers.values():  # both start at once: most of a start is imports
            server.launch()
        try:
            for server in servers.values():
                server.wait()
            yield servers
        finally:
            for server in servers.values():
                if server.process is not None:
                    server.stop()


def rest_call(server: Served, clients: int, keep_answers: bool = True):
    call = bench.rest_call(server.url, server.payloads, clients, per_text=server.kind == "sentiment")

    def checked(n: int, index: int) -> object:
        answer = call(n, index)
        if not same(answer, server.expected[index]):
            raise bench.StatusError(f"payload {index}: answered {answer!r:.200}, "
                                    f"expected {server.expected[index]!r:.200}")
        return answer

    return checked


@pytest.mark.parametrize("kind", ["ner", "sentiment"])
def test_load_at_1_4_and_16_clients_has_no_errors(served, kind):
    server = served[kind]
    for clients in (1, 4, 16):
        level = bench.drive(rest_call(server, clients), server.sizes(), clients, LEVEL_S)
        assert level.error_count == 0, level.errors
        assert level.requests >= clients and level.p99_ms is not None
    assert_clean_log(server.log)


def assert_clean_log(log: Path) -> None:
    """Nothing in the server's log reads as an unhandled exception."""
    text = log.read_text(errors="replace")
    for sign in ("Traceback", "Exception in ASGI application", "ERROR"):
        assert sign not in text, f"{sign!r} in {log}:\n{text[-3000:]}"


TEN_THOUSAND = json.dumps({"inputs": ["a short text"] * 10_000}).encode()
HOSTILE = {  # name: (body, content type, status, what the message says)
    "malformed JSON": (b'{"inputs": ["a text"', "application/json", 400, "not valid JSON"),
    "wrong top-level key": (b'{"texts": ["a text"]}', "application/json", 400, "got the keys ['texts']"),
    "empty list": (b'{"inputs": []}', "application/json", 400, "expected at least one text"),
    "numbers": (b'{"inputs": [1, 2]}', "application/json", 400, "input 0 is a number (1)"),
    "null": (b'{"inputs": ["a text", null]}', "application/json", 400, "input 1 is null"),
    "nested lists": (b'{"inputs": [["a", "b"]]}', "application/json", 400, "input 0 is a list"),
    "not a list": (b'{"inputs": "a text"}', "application/json", 400, '"inputs" is a string, not a list'),
    "a 1 MB text": (json.dumps({"inputs": ["x" * 2**20]}).encode(), "application/json", 413,
                    "at most 100000 characters (max_text_chars); input 0 has 1048576"),
    "10,000 texts": (TEN_THOUSAND, "application/json", 413, "at most 1000 texts in one request (max_texts), got 10000"),
    "a 12 MB body": (b'{"inputs": ["' + b"x" * (12 * 2**20) + b'"]}', "application/json", 413,
                     "at most 10485760 bytes"),
    "invalid UTF-8": (b'{"inputs": ["\xff\xfe text"]}', "application/json", 400, "not valid UTF-8 (byte 13)"),
    "wrong content type": (b'{"inputs": ["a text"]}', "text/plain", 415, "only supports the following content types"),
    "no content type": (b'{"inputs": ["a text"]}', None, 415, "expected a Content-Type header: application/json"),
    "dataframe_split of numbers": (b'{"dataframe_split": {"columns": ["text"], "data": [[3]]}}', "application/json",
                                   400, "input 0 is a number (3)"),
}


@pytest.mark.parametrize("kind", ["ner", "sentiment"])
def test_hostile_payloads_get_a_4xx_saying_what_was_expected_and_the_server_stays_up(served, kind):
    server = served[kind]
    client = bench.RestClient(server.url)
    valid = json.dumps({"inputs": server.payloads[0]}).encode()
    for case, (body, content_type, status, message) in HOSTILE.items():
        answer_status, answer = client.post(body, content_type)
        assert (case, answer_status) == (case, status), answer[:300]
        said = json.loads(answer)["message"] if answer.startswith(b"{") else answer.decode("utf-8", "replace")
        assert message in said, (case, said[:300])
        assert same(client.predict(valid), server.expected[0]), f"wrong answer after {case}"
    assert server.process.poll() is None
    assert_clean_log(server.log)


def test_a_server_killed_under_load_comes_back_with_the_same_version_and_answers(served):
    server = served["sentiment"]
    uri = server.served_uri()
    stop, result = threading.Event(), {}
    load = threading.Thread(target=lambda: result.update(level=bench.drive(
        rest_call(server, 4), server.sizes(), 4, 120, keep=True, stop=stop)))
    load.start()
    time.sleep(1.0)
    killed = time.monotonic()
    server.kill()
    server.start()
    back = time.monotonic()
    time.sleep(2.0)
    stop.set()
    load.join()
    events = result["level"].events
    failed = [e for e in events if e.outcome != "ok"]
    assert {e.outcome for e in failed} <= CONNECTION_ERRORS, {e.outcome for e in failed}
    assert all(e.end >= killed and e.start <= back for e in failed), "a connection error outside the restart gap"
    assert any(e.end < killed for e in events if e.outcome == "ok")
    assert any(e.start > killed for e in events if e.outcome == "ok")  # answered by the new process
    assert server.served_uri() == uri  # the alias resolved to the same version again
    assert_clean_log(server.log)


def test_a_running_server_keeps_its_version_when_the_alias_moves_until_restarted(served, sentiment_model_dir):
    server = served["sentiment"]
    before = server.served_uri()
    newer = register("sentiment", sentiment_model_dir, {"dev_accuracy": 0.9}, server.name)
    assert promote(server.name, newer.version, "dev_accuracy").promoted
    client = bench.RestClient(server.url)
    valid = json.dumps({"inputs": server.payloads[0]}).encode()
    assert same(client.predict(valid), server.expected[0])
    assert client.last_headers["x-model-uri"] == before  # still the version it resolved at start
    server.stop()
    server.start()  # the roll-out: restart
    after = f"models:/{server.name}/{newer.version}"
    assert server.served_uri() == after
    client = bench.RestClient(server.url)  # the old connection died with the old process
    assert same(client.predict(valid), server.expected[0])
    assert client.last_headers["x-model-uri"] == after
