"""The REST model server under load: throughput, latency percentiles and errors at 1, 4 and 16 clients.

Serves ``models:/w2v-ner@champion`` and ``models:/w2v-sentiment@champion``
with ``w2vp mlflow serve`` on 127.0.0.1 (free ports, ``--workers`` as given)
and drives each with a closed-loop load generator: N client threads, each
with one keep-alive HTTP connection, sending its next request as soon as the
last one is answered, for ``--duration`` seconds per level. Requests are
real texts from the committed sample (or ``--conll``/``--imdb``):

* ``ner/sentence``: one CoNLL-2003 test sentence (tokens joined by spaces),
* ``ner/batch32``: 32 consecutive sentences,
* ``sentiment/review``: one IMDB test review,
* ``sentiment/batch32``: 32 reviews.

Then the same payloads through the pyfunc model loaded in this process
(``mlflow.pyfunc.load_model`` of the same version), with as many threads as
clients, so the server's overhead (HTTP, JSON, MLflow's parsing and the
payload check) shows beside it. A request counts as an error unless it is
answered 200 with one prediction per text (NER: a JSON list); each level
records throughput (requests/s and texts/s), p50/p90/p99 latency in ms and
the error count by kind. Last, each workload again at the most clients
with ``--compare-workers`` worker processes (2 by default), server only, and
each server's resident memory. Writes ``benchmarks/results/serving.json`` and
prints a table.

    python benchmarks/serving.py [--duration 60] [--clients 1 4 16] [--workers 1] [--compare-workers 2]
                                 [--workloads ner/sentence ...] [--note "what else ran"]

The tracking store is the project's (``$MLFLOW_TRACKING_URI`` or ``mlflow.db``), as for ``w2vp mlflow``. The
load generator (:func:`drive`, :class:`RestClient`) is also what ``tests/test_serving.py`` runs for a few seconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
CLIENT_TIMEOUT_S = 120.0
CONNECTION_ERRORS = (OSError, http.client.HTTPException)  # refused, reset, timed out, cut mid-answer


class StatusError(Exception):
    """The server answered, but not 200 with one prediction per text."""


class RestClient:
    """One keep-alive connection to ``url`` (``http://host:port``): ``call(body)`` POSTs to ``/invocations``.

    A broken connection is dropped and opened again on the next call, so a
    client outlives a server restart.
    """

    def __init__(self, url: str, timeout: float = CLIENT_TIMEOUT_S) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.connection: http.client.HTTPConnection | None = None
        self.last_headers: dict[str, str] = {}

    def post(self, body: bytes, content_type: str | None = "application/json") -> tuple[int, bytes]:
        """Status and body of one ``/invocations`` request (no Content-Type header for None); connection errors
        propagate (and reset the connection)."""
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            self.connection.request("POST", "/invocations", body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except CONNECTION_ERRORS:
            self.close()
            raise
        self.last_headers = {k.lower(): v for k, v in response.getheaders()}
        if response.will_close:
            self.close()
        return response.status, data

    def predict(self, body: bytes, texts: int | None = None) -> list:
        """The predictions of a JSON request; :class:`StatusError` unless 200 with a list of them (of ``texts``
        items, when given: one per text)."""
        status, data = self.post(body)
        if status != 200:
            raise StatusError(f"HTTP {status}: {data[:200]!r}")
        try:
            predictions = json.loads(data)["predictions"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StatusError(f"not a predictions answer ({exc}): {data[:200]!r}") from None
        if not isinstance(predictions, list) or (texts is not None and len(predictions) != texts):
            raise StatusError(f"expected a list of {texts or 'some'} predictions, got {data[:200]!r}")
        return predictions

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class Event:
    """One request of a load run: when it started and ended (``time.monotonic``), and how."""

    start: float
    end: float
    outcome: str  # "ok", or the exception's class name
    index: int  # which payload
    result: object = None  # the predictions, when asked to keep them


@dataclass
class Level:
    """What one load level measured."""

    clients: int
    seconds: float
    requests: int
    texts: int
    error_count: int
    errors: dict[str, int]
    requests_per_s: float
    texts_per_s: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    events: list[Event] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "events"}


def drive(call: Callable[[int, int], object], sizes: Sequence[int], clients: int, duration: float,
          keep: bool = False, stop: threading.Event | None = None) -> Level:
    """Run ``clients`` threads for ``duration`` seconds (or until ``stop`` is set), each calling
    ``call(thread, payload index)`` in a loop.

    ``sizes[i]`` is the number of texts of payload ``i`` (for texts/s).
    :class:`StatusError` and connection errors count as errors by class
    name; any other exception propagates (after the other threads stop).
    ``keep`` keeps every request's :class:`Event` with its result.
    """
    deadline = time.monotonic() + duration
    events: list[list[Event]] = [[] for _ in range(clients)]
    crashed: list[BaseException] = []
    stop = stop or threading.Event()

    def client(n: int) -> None:
        k = 0
        while time.monotonic() < deadline and not crashed and not stop.is_set():
            index = (n + k * clients) % len(sizes)
            k += 1
            start = time.monotonic()
            try:
                result, outcome = call(n, index), "ok"
            except (StatusError, *CONNECTION_ERRORS) as exc:
                result, outcome = None, type(exc).__name__
                time.sleep(0.01)  # a refused connection fails at once: do not spin
            except BaseException as exc:
                crashed.append(exc)
                raise
            events[n].append(Event(start, time.monotonic(), outcome, index, result if keep else None))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if crashed:
        raise crashed[0]
    seconds = time.monotonic() - began
    flat = sorted((e for per in events for e in per), key=lambda e: e.start)
    ok = [e for e in flat if e.outcome == "ok"]
    latencies = np.array([(e.end - e.start) * 1000 for e in ok])
    errors = Counter(e.outcome for e in flat if e.outcome != "ok")

    def pct(q: float) -> float | None:
        return round(float(np.percentile(latencies, q)), 2) if len(latencies) else None

    texts = sum(sizes[e.index] for e in ok)
    return Level(clients, round(seconds, 2), len(ok), texts, sum(errors.values()), dict(errors),
                 round(len(ok) / seconds, 2), round(texts / seconds, 2), pct(50), pct(90), pct(99),
                 flat if keep else [])


# --- workloads --------------------------------------------------------------------------------------------------


def conll_sentences(path: Path, limit: int) -> list[str]:
    """Test sentences as plain text (tokens joined by spaces), ``-DOCSTART-`` lines left out."""
    from pipeline.data.conll import read_conll

    return [" ".join(s.words) for s in read_conll(path) if s.words][:limit]


def imdb_reviews(path: Path, limit: int) -> list[str]:
    from pipeline.data.imdb import read_imdb

    return [review.text for _, review in zip(range(limit), read_imdb(path))]


def workloads(conll: Path, imdb: Path, limit: int = 2048) -> dict[str, tuple[str, list[list[str]]]]:
    """``{name: (model kind, payloads)}``; each payload a list of texts."""
    sentences, reviews = conll_sentences(conll, limit), imdb_reviews(imdb, limit)

    def batches(texts: list[str]) -> list[list[str]]:
        return [texts[i:i + 32] for i in range(0, len(texts) - 31, 32)]

    return {
        "ner/sentence": ("ner", [[s] for s in sentences]),
        "ner/batch32": ("ner", batches(sentences)),
        "sentiment/review": ("sentiment", [[r] for r in reviews]),
        "sentiment/batch32": ("sentiment", batches(reviews)),
    }


def rest_call(url: str, payloads: list[list[str]], clients: int, per_text: bool) -> Callable[[int, int], object]:
    """``call`` for :func:`drive`: thread ``n`` posts payload ``i`` on its own connection; ``per_text``: the answer
    must hold one prediction per text (sentiment; NER answers one row per entity)."""
    bodies = [json.dumps({"inputs": texts}).encode("utf-8") for texts in payloads]
    connections = [RestClient(url) for _ in range(clients)]

    def call(n: int, index: int) -> object:
        return connections[n].predict(bodies[index], len(payloads[index]) if per_text else None)

    return call


def inprocess_call(model, payloads: list[list[str]]) -> Callable[[int, int], object]:
    def call(n: int, index: int) -> object:
        return model.predict(payloads[index])

    return call


# --- the benchmark ----------------------------------------------------------------------------------------------


def serve(name: str, workers: int, log: Path):
    """``w2vp mlflow serve NAME`` on a free port; the process and its URL, once ``/ping`` answers."""
    from pipeline.ops.team import free_port, start_server

    port = free_port()
    command = [sys.executable, "-m", "pipeline.cli", "mlflow", "serve", name, "--port", str(port),
               "--workers", str(workers)]
    return start_server(command, f"http://127.0.0.1:{port}/ping", log, env=os.environ.copy()), \
        f"http://127.0.0.1:{port}"


def print_table(results: dict, workers: dict) -> None:
    print(f"{'workload':<18} {'clients':>7} | {'server req/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} | "
          f"{'in-process req/s':>16} {'p50 ms':>8} {'p99 ms':>8}")
    for name, levels in results.items():
        for row in levels:
            s, p = row["server"], row["in_process"]
            print(f"{name:<18} {row['clients']:>7} | {s['requests_per_s']:>12} {s['p50_ms']!s:>8} {s['p99_ms']!s:>8} "
                  f"{s['error_count']:>6} | {p['requests_per_s']:>16} {p['p50_ms']!s:>8} {p['p99_ms']!s:>8}")
    for count, levels in workers.items():
        for name, s in levels.items():
            print(f"{name:<18} {s['clients']:>7} | {s['requests_per_s']:>12} {s['p50_ms']!s:>8} {s['p99_ms']!s:>8} "
                  f"{s['error_count']:>6} | {count} workers")


def server_levels(names: dict, chosen: dict, workers: int, clients: list[int], duration: float,
                  log_dir: Path) -> tuple[dict[str, list[dict]], dict[str, float]]:
    """Serve each model with ``workers`` workers and drive every chosen workload at each client count; the levels
    by workload, and each server's resident memory (MB) at the end."""
    from pipeline.ops.team import stop

    kinds = sorted({kind for kind, _ in chosen.values()})
    servers = {kind: serve(names[kind], workers, log_dir / f"{kind}-{workers}w.log") for kind in kinds}
    results: dict[str, list[dict]] = {}
    try:
        for name, (kind, payloads) in chosen.items():
            url = servers[kind][1]
            sizes = [len(p) for p in payloads]
            drive(rest_call(url, payloads, 1, kind == "sentiment"), sizes, 1, 2.0)  # warm-up
            results[name] = []
            for n in clients:
                level = drive(rest_call(url, payloads, n, kind == "sentiment"), sizes, n, duration)
                results[name].append({"clients": n, "server": level.summary()})
                print(f"{name}, {workers} worker(s), {n} clients:", level.summary(), flush=True)
        memory = {kind: rss_mb(process.pid) for kind, (process, _) in servers.items()}
    finally:
        for process, _ in servers.values():
            stop(process)
    return results, memory


def rss_mb(pid: int) -> float:
    """Resident memory of a server: the process and its children (the workers), in MB."""
    import psutil

    process = psutil.Process(pid)
    return round(sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per load level [60]")
    parser.add_argument("--inprocess-duration", type=float, help="seconds per in-process level [--duration]")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--workers", type=int, default=1, help="w2vp mlflow serve --workers [1]")
    parser.add_argument("--compare-workers", type=int, nargs="*", default=[2],
                        help="also serve with these worker counts, at the most clients only [2]")
    parser.add_argument("--workloads", nargs="+", default=["ner/sentence", "ner/batch32", "sentiment/review",
                                                              "sentiment/batch32"])
    parser.add_argument("--ner-model", default="w2v-ner")
    parser.add_argument("--sentiment-model", default="w2v-sentiment")
    parser.add_argument("--conll", type=Path, default=SAMPLE / "conll2003" / "eng.testb.gz")
    parser.add_argument("--imdb", type=Path, default=SAMPLE / "aclimdb" / "test.jsonl.gz")
    parser.add_argument("--note", default="", help="what else the machine ran, for the record")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serving.json")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp/w2vp-serving-benchmark"))
    args = parser.parse_args()

    import mlflow
    import torch
    from common import load_avg

    from pipeline.atomic import write_json
    from pipeline.tracking.mlflow_logger import tracking_uri
    from pipeline.tracking.registry import resolve_alias

    mlflow.set_tracking_uri(tracking_uri())
    client = mlflow.MlflowClient()
    names = {"ner": args.ner_model, "sentiment": args.sentiment_model}
    chosen = {name: spec for name, spec in workloads(args.conll, args.imdb).items() if name in args.workloads}
    kinds = sorted({kind for kind, _ in chosen.values()})
    models = {}
    for kind in kinds:
        version = resolve_alias(names[kind], "champion")
        models[kind] = {"uri": f"models:/{names[kind]}/{version}", "registered": f"{names[kind]}@champion",
                        "description": client.get_model_version(names[kind], version).description}
    args.log_dir.mkdir(parents=True, exist_ok=True)
    load_before = load_avg()
    results, memory = server_levels(names, chosen, args.workers, args.clients, args.duration, args.log_dir)
    rss = {f"{args.workers} worker(s)": memory}
    loaded = {kind: mlflow.pyfunc.load_model(models[kind]["uri"]) for kind in kinds}
    for name, (kind, payloads) in chosen.items():
        sizes = [len(p) for p in payloads]
        drive(inprocess_call(loaded[kind], payloads), sizes, 1, 2.0)
        for row in results[name]:
            level = drive(inprocess_call(loaded[kind], payloads), sizes, row["clients"],
                          args.inprocess_duration or args.duration)
            row["in_process"] = level.summary()
            print(name, row["clients"], "clients, in-process:", level.summary(), flush=True)
    del loaded
    workers = {}
    for count in args.compare_workers:
        other, rss[f"{count} worker(s)"] = server_levels(names, chosen, count, [max(args.clients)], args.duration,
                                                         args.log_dir)
        workers[str(count)] = {name: rows[0]["server"] for name, rows in other.items()}
    write_json(args.out, {
        "benchmark": "serving",
        "command": " ".join(["python", "benchmarks/serving.py", *sys.argv[1:]]),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(), "load_avg_before": load_before,
                    "load_avg_after": load_avg(), "note": args.note},
        "server": {"command": "w2vp mlflow serve NAME --workers " + str(args.workers), "host": "127.0.0.1",
                   "rss_mb": rss},
        "duration_s": args.duration, "inprocess_duration_s": args.inprocess_duration or args.duration,
        "data": {"conll": str(args.conll), "imdb": str(args.imdb)},
        "models": models,
        "results": results,
        "workers": {"clients": max(args.clients), "note": "the same workloads served with more workers, server only",
                    **workers},
    })
    print_table(results, workers)
    print(f"written: {args.out}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
