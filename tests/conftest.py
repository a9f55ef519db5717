"""What the test modules share: paths, a repository copy, tiny vectors, tiny trained models, an MLflow server.

Constants and plain helpers are imported by name (``from conftest import
SAMPLE, write_vectors``: ``tests/`` is on ``sys.path``, and this is the very
module pytest loaded); fixtures are requested by name, from any module:

- paths: ``ROOT`` (the project root), ``SAMPLE`` (``data/sample``), the ``sample_root`` fixture;
- threads: ``one_torch_thread()`` (a context manager) and the module-scoped ``one_thread`` fixture;
- a repository copy: ``copy_repo(dest, without=...)`` and ``run_dvc(repo, *args)``;
- word vectors: ``keyed_vectors``, ``write_vectors``, ``write_vectors_config``; ``write_sample_corpus``;
- tiny trained models (session-scoped, trained once however many modules use them): ``ner_model``
  (also ``ner_model_dir``), ``textcat_model`` (also ``sentiment_model_dir``), and ``nlp``, a blank English
  spaCy pipeline with both components; the data they fit, ``MARKED`` and ``REVIEWS``, with
  ``parse_marked``, ``gold_doc`` and ``iob2``;
- MLflow: ``mlflow_server`` (session; a module may override it, as ``test_mlflow_postgres.py`` does),
  ``tracking`` (per test) and ``register(kind, model_dir, metrics, name)``.

Heavy libraries (spaCy, gensim, MLflow, the training code) are imported
inside the helpers and fixtures that need them: every test session loads this
module, and so do the child processes of ``test_crash_resume.py`` and
``test_distributed.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
VECTORS_NORMALISATION = {"lowercase": True, "digits_to_zero": True}  # the word2vec stage's defaults


@pytest.fixture(scope="session")
def sample_root() -> Path:
    """The embedded sample's root, ``data/sample`` (``SAMPLE``)."""
    return SAMPLE


# --- threads --------------------------------------------------------------------------------------------------------


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """One torch intra-op thread inside the block, the previous count restored after it."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a whole test module (its module-scoped fixtures that train included).

    Tiny tensors gain nothing from intra-op threads, and on a busy CI box the
    thread hand-offs dominate; runs compared for exact equality (a resumed run
    against a reference) must also use the same kernels as their child processes.
    """
    with one_torch_thread():
        yield


# --- a copy of the repository ---------------------------------------------------------------------------------------


def copy_repo(dest: Path, without: tuple[str, ...] = ()) -> Path:
    """Copy what git would clone (tracked + untracked-not-ignored files) to ``dest``, make it a git repo, commit.

    ``without`` (paths relative to the root: files or directories) are then
    deleted from the copy's working tree; its commit still holds them.
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=ci@example", "-c", "user.name=ci", "commit", "-qm", "copy"]):
        subprocess.run(["git", *args], cwd=dest, check=True)
    for name in without:
        path = dest / name
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return dest


def run_dvc(repo: Path, *args: str) -> str:
    """``dvc ARGS`` in ``repo`` with this venv's tools first on PATH; its stdout, or a failure showing its output."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


# --- word vectors and a corpus --------------------------------------------------------------------------------------


def keyed_vectors(words: list[str], dim: int = 8, seed: int = 0, scale: float = 1.0):
    """gensim ``KeyedVectors`` of ``words``: rows drawn from ``default_rng(seed).normal(0, scale)``, as float32."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=dim)
    kv.add_vectors(words, np.random.default_rng(seed).normal(0, scale, (len(words), dim)).astype(np.float32))
    return kv


def write_vectors_config(directory: Path, **normalisation: bool) -> Path:
    """The ``config.json`` the word2vec stage writes beside its vectors (the normalisation the models must share)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    path.write_text(json.dumps(VECTORS_NORMALISATION | normalisation))
    return path


def write_vectors(target: Path, words: list[str], dim: int = 8, seed: int = 0, scale: float = 1.0,
                  config: bool = True) -> Path:
    """Tiny random word2vec vectors (binary format) of ``words`` (see :func:`keyed_vectors`); the file's path.

    ``target`` is the file (a ``.bin`` path) or a directory, which gets
    ``vectors.bin``; missing directories are made. With ``config``, the
    stage's ``config.json`` is written beside the file as well.
    """
    path = target if target.suffix == ".bin" else target / "vectors.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    keyed_vectors(words, dim, seed, scale).save_word2vec_format(str(path), binary=True)
    if config:
        write_vectors_config(path.parent)
    return path


def write_sample_corpus(directory: Path) -> Path:
    """The sample's unlabelled IMDB reviews, tokenized, one per line, as ``directory/corpus.txt``."""
    from pipeline.data.imdb import read_imdb
    from pipeline.data.tokenizer import tokenize_many

    texts = (r.text for r in read_imdb(SAMPLE / "aclimdb" / "unsup.jsonl.gz"))
    path = directory / "corpus.txt"
    path.write_text("".join(" ".join(tokens) + "\n" for tokens in tokenize_many(texts)))
    return path


# --- tiny trained models --------------------------------------------------------------------------------------------

MARKED = [  # [entity text|LABEL]: real sentences with punctuation, hyphens, quotes and numbers
    "[Angela Merkel|PER] visited [Paris|LOC] on 3 May 2021 .",
    '" [Apple Inc.|ORG] " said [Tim Cook|PER] , the [Cupertino|LOC]-based CEO , on Monday .',
    "[Jean-Claude Juncker|PER] met [Boris Johnson|PER] in [Brussels|LOC] ( [Belgium|LOC] ) -- again !",
    "The [U.S.|LOC] economy grew 2.5 % in Q3 , according to the [IMF|ORG] 's report .",
    "Shares of [Deutsche Bank|ORG] rose 1,200 points in [New York|LOC] on Friday .",
    "[Emmanuel Macron|PER] and [Olaf Scholz|PER] spoke in [Berlin|LOC] .",
    "[Siemens|ORG] hired 4,500 workers in [Munich|LOC] last year .",
    "[Serena Williams|PER] won in [London|LOC] 6-3 , 6-4 .",
]
REVIEWS = {
    "pos": ["a great and wonderful film", "brilliant acting , loved it", "wonderful , moving and great fun"],
    "neg": ["an awful and boring movie", "terrible plot , hated it", "boring , dull and awful acting"],
}


@cache
def _blank_english():
    import spacy

    return spacy.blank("en")


def parse_marked(marked: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Plain text and gold entity character spans of a marked-up sentence."""
    text, spans, position = "", [], 0
    for match in re.finditer(r"\[([^|\]]+)\|(\w+)\]", marked):
        text += marked[position : match.start()]
        spans.append((len(text), len(text) + len(match.group(1)), match.group(2)))
        text += match.group(1)
        position = match.end()
    return text + marked[position:], spans


def gold_doc(marked: str):
    """The sentence tokenized by spaCy (the project tokenizer) with its gold entities."""
    text, spans = parse_marked(marked)
    doc = _blank_english().make_doc(text)
    doc.ents = [doc.char_span(start, end, label=label) for start, end, label in spans]
    return doc


def iob2(doc) -> list[str]:
    """The IOB2 tags of a spaCy doc's entities, whitespace tokens left out."""
    return [t.ent_iob_ if t.ent_iob_ == "O" else f"{t.ent_iob_}-{t.ent_type_}" for t in doc if not t.is_space]


@pytest.fixture(scope="session")
def ner_model(tmp_path_factory) -> Path:
    """A small tagger fitted to MARKED on tiny vectors (16 dimensions); its model directory."""
    from pipeline.config import build_section
    from pipeline.training.logger import NullLogger
    from pipeline.training.ner_task import NerConfig, train

    root = tmp_path_factory.mktemp("ner")
    records = [([t.text for t in d if not t.is_space], iob2(d)) for d in map(gold_doc, MARKED)]
    words = sorted({t.lower() for tokens, _ in records for t in tokens} | {"rome", "tokyo"})  # + words never trained
    vectors = write_vectors(root / "vectors", words, dim=16, seed=0, scale=0.1)
    cfg = build_section(NerConfig, {
        "model": {"word_dim": 16, "casing_dim": 4, "char_dim": 8, "char_size": 16, "hidden_size": 24, "dropout": 0.0},
        "train": {"epochs": 20, "batch_size": 2, "lr": 0.02, "patience": 3},  # stops once it fits MARKED
    }, "test", "ner")
    with one_torch_thread():
        return train(cfg, records, records, vectors, root / "out", NullLogger()).model_dir


@pytest.fixture(scope="session")
def ner_model_dir(ner_model: Path) -> Path:
    """The tiny NER model directory, under the name the MLflow and Spark tests use."""
    return ner_model


@pytest.fixture(scope="session")
def textcat_model(tmp_path_factory) -> Path:
    """A small binary sentiment classifier fitted to REVIEWS (random embeddings); its model directory."""
    from pipeline.config import build_section
    from pipeline.training.logger import NullLogger
    from pipeline.training.sentiment_task import SentimentConfig, train_sentiment

    root = tmp_path_factory.mktemp("sentiment")
    lines = [json.dumps({"tokens": text.split(), "label": label}) for label, rows in REVIEWS.items() for text in rows]
    for split in ("train", "dev"):
        (root / f"{split}.jsonl").write_text("\n".join(lines * (4 if split == "train" else 1)) + "\n")
    cfg = build_section(SentimentConfig, {
        "model": {"embeddings": "random", "embedding_dim": 16, "hidden_sizes": [16], "dropout": 0.0},
        "train": {"epochs": 8, "batch_size": 4, "lr": 0.01, "patience": 2},
        "max_len": 50,
    }, "test", "sentiment")
    with one_torch_thread():
        return train_sentiment(cfg, root, None, root / "out", NullLogger()).model_dir


@pytest.fixture(scope="session")
def sentiment_model_dir(textcat_model: Path) -> Path:
    """The tiny sentiment model directory, under the name the MLflow and Spark tests use."""
    return textcat_model


@pytest.fixture(scope="session")
def nlp(ner_model: Path, textcat_model: Path):
    """A blank English spaCy pipeline with ``w2v_ner`` and ``w2v_textcat`` on the tiny models."""
    import spacy

    pipeline = spacy.blank("en")
    pipeline.add_pipe("w2v_ner", config={"model": str(ner_model)})
    pipeline.add_pipe("w2v_textcat", config={"model": str(textcat_model)})
    return pipeline


# --- MLflow ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> Iterator[str]:
    """A real tracking server (SQLite backend, local artifact store) on a free localhost port; its URI.

    One per session: startup and migrations take many seconds.
    """
    from mlflow_server_util import start_mlflow_server, stop

    root = tmp_path_factory.mktemp("mlflow_server")
    process, uri = start_mlflow_server(f"sqlite:///{root / 'mlflow.db'}", root)
    yield uri
    stop(process)


@pytest.fixture
def tracking(mlflow_server: str, monkeypatch):
    """``MLFLOW_TRACKING_URI`` pointed at the test server; an ``MlflowClient`` on it."""
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.delenv("PIPELINE_MLFLOW_OPTIONAL", raising=False)
    return MlflowClient(mlflow_server)


def register(kind: str, model_dir: Path, metrics: dict, name: str):
    """Log and register ``model_dir`` (``kind`` ner or sentiment) in a fresh evaluation run, as the evaluate stages do."""
    from pipeline.tracking.mlflow_logger import start_tracking
    from pipeline.tracking.pyfunc_models import log_ner_model, log_sentiment_model

    log = log_ner_model if kind == "ner" else log_sentiment_model
    with start_tracking(f"test-{name}", f"evaluate_{kind}") as tracker:
        tracker.log_metrics(metrics, step=0)
        return log(tracker, model_dir, metrics, registered_name=name)


# --- the bad-input tally --------------------------------------------------------------------------------------------

BAD_INPUT_TALLY = pytest.StashKey[dict]()


@pytest.fixture
def bad_input_tally(request) -> dict:
    """Bad-input cases passed so far, by expected outcome; printed in the terminal summary for CI logs."""
    return request.config.stash.setdefault(BAD_INPUT_TALLY, {"error": 0, "ok": 0})


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """One line saying how many bad-input cases ran, so a shrinking corpus shows in CI output."""
    tally = config.stash.get(BAD_INPUT_TALLY, None)
    if tally:
        terminalreporter.write_line(
            f"bad-input cases run: {sum(tally.values())} (errors {tally['error']}, accepted {tally['ok']})"
        )
