"""``sentiment.lm: init``: the classifier's first layer and word rows start from the pretrained language model."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import write_vectors
from test_language_model import config as lm_config
from test_sentiment_training import FILLER, NEG, POS, config, write_split

from pipeline.embeddings import word2vec
from pipeline.errors import ConfigError
from pipeline.models.language_model import load_language_model
from pipeline.training.lm_task import train_lm
from pipeline.training.logger import NullLogger
from pipeline.training.sentiment_task import build_task, train_sentiment

pytestmark = pytest.mark.usefixtures("one_thread")

FITTING = {"model": {"embeddings": "finetune", "encoder": "lstm", "hidden_sizes": [24]}}  # the tiny LM's shape


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Review splits, 8-dimensional vectors of their words and a tiny language model trained on the reviews."""
    root = tmp_path_factory.mktemp("ulmfit")
    data = root / "data"
    data.mkdir()
    for name, n, seed in (("train", 48, 1), ("dev", 16, 2), ("test", 16, 3)):
        write_split(data / f"{name}.jsonl", n, seed)
    corpus = root / "corpus.txt"
    reviews = [json.loads(line)["tokens"] for line in (data / "train.jsonl").read_text().splitlines()]
    corpus.write_text("".join(" ".join(tokens) + "\n" for tokens in reviews))  # one review a line
    vectors = write_vectors(root / "w2v", sorted(POS + NEG + FILLER), dim=8, seed=0, scale=0.3)
    lm_dir = train_lm(lm_config(epochs=2, patience=2), corpus, vectors, root / "lm", NullLogger()).model_dir
    return data, vectors, lm_dir


def test_first_layer_and_known_rows_start_from_the_language_model(setup):
    data, vectors, lm_dir = setup
    _, model, task = build_task(config(lm="init", **FITTING), data, vectors, lm_dir)
    lm, lm_vocab = load_language_model(lm_dir)
    for module, source in zip(model.layers[0], (lm.forward_lstm, lm.backward_lstm)):
        assert all(torch.equal(v, source.state_dict()[k]) for k, v in module.state_dict().items())
    vocab = task.assets.vocab
    assert torch.equal(model.embedding.weight[vocab.index["great"]], lm.embedding.weight[lm_vocab.index["great"]])
    _, plain, _ = build_task(config(**FITTING), data, vectors, lm_dir)
    assert not torch.equal(plain.layers[0][0].weight_ih_l0, model.layers[0][0].weight_ih_l0)
    assert torch.equal(plain.embedding.weight[vocab.index["great"]],
                       torch.tensor(word2vec.load(vectors).get_vector("great")))


def test_an_initialised_classifier_trains(setup, tmp_path):
    data, vectors, lm_dir = setup
    result = train_sentiment(config(lm="init", **FITTING), data, vectors, tmp_path, NullLogger(), lm_dir=lm_dir)
    assert result.best_score >= 0.9


def test_a_classifier_of_another_shape_or_no_model_is_refused_with_the_reason(setup, tmp_path):
    data, vectors, lm_dir = setup
    with pytest.raises(ConfigError, match="sentiment.lm.*first hidden size is 8, not 24"):
        build_task(config(lm="init", model={"embeddings": "finetune", "encoder": "lstm"}), data, vectors, lm_dir)
    with pytest.raises(ConfigError, match="encoder is gru"):
        build_task(config(lm="init", model=FITTING["model"] | {"encoder": "gru"}), data, vectors, lm_dir)
    with pytest.raises(ConfigError, match="sentiment.lm.*pretrain_lm"):
        build_task(config(lm="init", **FITTING), data, vectors, tmp_path / "missing")
