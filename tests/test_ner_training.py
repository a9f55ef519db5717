"""NER training: overfitting, determinism of resume, config validation, the stages' building blocks."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import write_vectors

from pipeline.config import build_section
from pipeline.data.splits import read_split, read_split_documents
from pipeline.errors import ConfigError, DataError
from pipeline.models.tagger import encode_batch
from pipeline.predict.ner import NerPredictor
from pipeline.training.logger import NullLogger
from pipeline.training.ner_task import NerConfig, NerTask, build_model, tag_set, train

RECORDS = [
    (["John", "Smith", "lives", "in", "Paris", "."], ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]),
    (["Mary", "visited", "New", "York", "City"], ["B-PER", "O", "B-LOC", "I-LOC", "I-LOC"]),
    (["Acme", "Corp", "hired", "Bob"], ["B-ORG", "I-ORG", "O", "B-PER"]),
    (["Rain", "in", "Spain", "."], ["O", "O", "B-LOC", "O"]),
    (["IBM"], ["B-ORG"]),
]
SMALL = {"word_dim": 8, "casing_dim": 3, "char_dim": 8, "char_size": 12, "hidden_size": 16}


pytestmark = pytest.mark.usefixtures("one_thread")

@pytest.fixture
def vectors(tmp_path):
    """A tiny word2vec binary (8 dimensions, one word never in RECORDS) plus the config the word2vec stage writes beside it."""
    return write_vectors(tmp_path / "w2v", ["john", "smith", "in", "paris", "new", "york", "spain", "rome"], dim=8, seed=0)


def config(**train) -> NerConfig:
    return NerConfig.model_validate({"model": {**SMALL, "dropout": 0.0},
                                     "train": {"batch_size": 2, "lr": 0.02, "seed": 3, **train}})


def overfit(cfg: NerConfig, vectors, steps: int = 60) -> float:
    """Dev F1 (dev = the training sentences) after ``steps`` full-batch Adam steps on RECORDS."""
    model, assets = build_model(cfg, RECORDS, vectors)
    task = NerTask(cfg, assets, RECORDS, RECORDS)
    batch = encode_batch([t for t, _ in task.train], assets, [g for _, g in task.train])
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        model.loss(batch).backward()
        optimizer.step()
    return task.evaluate(model)["dev_f1"]


def test_overfits_a_tiny_batch_to_perfect_f1(vectors):
    assert overfit(config(), vectors) == 100.0


def test_resume_replays_the_next_epoch_exactly(tmp_path, vectors):
    cfg = config(epochs=3).model_copy(update={"model": config().model.model_copy(update={"dropout": 0.3})})
    full = train(cfg, RECORDS, RECORDS[:3], vectors, tmp_path / "full", NullLogger())
    two = cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": 2})})
    train(two, RECORDS, RECORDS[:3], vectors, tmp_path / "cut", NullLogger())
    resumed = train(cfg, RECORDS, RECORDS[:3], vectors, tmp_path / "cut", NullLogger(), resume=True)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    strip = lambda h: {k: v for k, v in h.items() if k not in ("epoch_s", "tokens_per_s")}  # noqa: E731
    assert strip(resumed.history[-1]) == strip(full.history[-1])


def test_doc_context_tagger_trains_on_documents_and_overfits(tmp_path, vectors):
    """Whole documents per batch in training, the dev documents in evaluation; the saved model tags like the trained one."""
    cfg = config(epochs=40, batch_size=2)
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"doc_context": True})})
    docs = [0, 0, 1, 1, 1]
    task = NerTask(cfg, build_model(cfg, RECORDS, vectors)[1], RECORDS, RECORDS, (docs, docs))
    for epoch in (1, 2):
        batches = [list(b.groups.shape) for b in task.batches(epoch)]
        assert sorted(n for (n,) in batches) == [9, 11]  # documents 1 and 0, whole: 9 and 11 tokens
    result = train(cfg, RECORDS, RECORDS, vectors, tmp_path / "doc", NullLogger(), docs=(docs, docs))
    assert result.best_score == 100.0
    predicted = NerPredictor.load(result.model_dir).predict_tokens([t for t, _ in RECORDS], docs)
    assert predicted == [g for _, g in RECORDS]


def test_read_split_documents_numbers_each_sentence(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_text('{"tokens": ["a"], "tags": ["O"], "doc": 4}\n{"tokens": ["b"], "tags": ["O"], "doc": 4}\n'
                    '{"tokens": ["c"], "tags": ["O"]}\n{"tokens": ["d"], "tags": ["O"]}\n')
    records, docs = read_split_documents(path)
    assert records == read_split(path) and [t for t, _ in records] == [["a"], ["b"], ["c"], ["d"]]
    assert docs[:2] == [4, 4] and len(set(docs[2:])) == 2 and not set(docs[2:]) & {4}  # no field: each alone
    path.write_text('{"tokens": ["a"], "tags": ["O"], "doc": 0}\n{"tokens": ["b"], "tags": ["O"], "doc": "x"}\n')
    with pytest.raises(DataError, match="dev.jsonl:2: 'doc' must be an integer"):
        read_split_documents(path)


def test_vocabulary_keeps_vector_only_words_untrainable(vectors):
    model, assets = build_model(config(), RECORDS, vectors)
    trained = {assets.vocab.normalize(t) for tokens, _ in RECORDS for t in tokens}
    assert set(assets.vocab.words[2 : assets.trainable_words]) == trained
    assert "rome" in assets.vocab.words[assets.trainable_words :]  # has a vector, never seen in training
    assert model.words.fixed.shape[0] == len(assets.vocab) - assets.trainable_words


def test_tag_set_covers_every_type_in_the_scheme():
    assert tag_set(RECORDS, "bioes") == ["O", *(f"{p}-{t}" for t in ("LOC", "ORG", "PER") for p in "BIES")]
    assert tag_set(RECORDS, "iob2") == ["O", *(f"{p}-{t}" for t in ("LOC", "ORG", "PER") for p in "BI")]


def test_bad_config_names_the_field(vectors):
    with pytest.raises(ConfigError, match="ner.model.encoder"):
        build_section(NerConfig, {"model": {"encoder": "transformer"}}, "params.yaml", "ner")
    with pytest.raises(ConfigError, match="ner.train.epochz"):
        build_section(NerConfig, {"train": {"epochz": 3}}, "params.yaml", "ner")
    with pytest.raises(ConfigError, match="word_dim"):
        build_model(NerConfig.model_validate({"model": {"word_dim": 5}}), RECORDS, vectors)


def test_malformed_split_names_file_and_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"tokens": ["a"], "tags": ["O"]}\n{"tokens": ["b"], "tags": ["I-PER"]}\n')
    with pytest.raises(DataError, match="train.jsonl:2: invalid IOB2"):
        read_split(path)
    path.write_text('{"tokens": ["a", "b"], "tags": ["O"]}\n')
    with pytest.raises(DataError, match="train.jsonl:1: expected"):
        read_split(path)


def test_random_embeddings_need_no_vectors_file(vectors):
    """Only the vectors' config.json is read: the vocabulary is the training words, all trainable, and the
    tagger learns from its random embeddings alone (it overfits RECORDS)."""
    vectors.unlink()
    cfg = config().model_copy(update={"model": config().model.model_copy(update={"embedding": "random"})})
    _, assets = build_model(cfg, RECORDS, vectors)
    trained = {assets.vocab.normalize(t) for tokens, _ in RECORDS for t in tokens}
    assert len(assets.vocab) == assets.trainable_words and set(assets.vocab.words[2:]) == trained
    assert overfit(cfg, vectors) >= 90.0


def test_cli_predict_tags_text_and_conll(ner_model, tmp_path):
    """``w2vp ner predict``: raw text to JSON lines with character offsets, a CoNLL file to CoNLL lines."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    out = CliRunner().invoke(app, ["ner", "predict", "-", "--model-dir", str(ner_model)], input="John Smith lives in Paris.\n")
    assert out.exit_code == 0, out.output
    record = json.loads(out.output.splitlines()[0])
    assert record["tokens"][:2] == ["John", "Smith"] and len(record["tags"]) == len(record["tokens"])
    for entity in record["entities"]:
        assert record["text"][entity["start_char"]:entity["end_char"]] == entity["text"]
    int8 = CliRunner().invoke(app, ["ner", "predict", "-", "--model-dir", str(ner_model), "--quantize", "int8"],
                              input="John Smith lives in Paris.\n")
    assert int8.exit_code == 0 and json.loads(int8.output.splitlines()[0])["tags"] == record["tags"], int8.output
    conll = tmp_path / "in.conll"
    conll.write_text("John B-PER\nSmith I-PER\nlives O\n\nIBM B-ORG\n", encoding="utf-8")
    target = tmp_path / "out.conll"
    out = CliRunner().invoke(app, ["ner", "predict", str(conll), "-i", "conll", "-f", "conll", "-o", str(target),
                                       "--model-dir", str(ner_model)])
    assert out.exit_code == 0, out.output
    lines = target.read_text(encoding="utf-8").split("\n")
    assert [line.split(" ")[0] for line in lines if line] == ["John", "Smith", "lives", "IBM"]


def test_cli_predict_bad_conll_leaves_no_output_file(ner_model, tmp_path):
    """A malformed input is one error line naming file:line, and ``-o`` is not created half-written."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    bad = tmp_path / "bad.conll"
    bad.write_text("John B-PER\nSmith X-PER\n", encoding="utf-8")
    target = tmp_path / "out.json"
    out = CliRunner().invoke(app, ["ner", "predict", str(bad), "-i", "conll", "-o", str(target), "--model-dir", str(ner_model)])
    assert out.exit_code == 1 and f"{bad}:2" in out.output
    assert not target.exists() and not list(tmp_path.glob(".out.json.*"))
