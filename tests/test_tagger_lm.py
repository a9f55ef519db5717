"""TagLM: a tagger with the pretrained language model's states beside its features (``ner.model.lm``)."""

from __future__ import annotations

import pytest
import torch
from conftest import write_vectors
from test_language_model import config as lm_config
from test_ner_training import RECORDS, config

from pipeline.errors import ConfigError
from pipeline.models.tagger import encode_batch, load_tagger
from pipeline.predict.ner import NerPredictor
from pipeline.training.lm_task import train_lm
from pipeline.training.logger import NullLogger
from pipeline.training.ner_task import build_model, train

pytestmark = pytest.mark.usefixtures("one_thread")

WORDS = sorted({t.lower() for tokens, _ in RECORDS for t in tokens})


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    """A tiny language model trained on the tagger's sentences (one document a line)."""
    root = tmp_path_factory.mktemp("taglm")
    corpus = root / "corpus.txt"
    corpus.write_text("".join(" ".join(tokens) + "\n" for tokens, _ in RECORDS * 4))
    vectors = write_vectors(root / "w2v", WORDS, dim=8, seed=0, scale=0.3)
    return train_lm(lm_config(epochs=2, patience=2), corpus, vectors, root / "lm", NullLogger()).model_dir


@pytest.fixture
def vectors(tmp_path):
    return write_vectors(tmp_path / "w2v", WORDS, dim=8, seed=1)


def lm_tagger_config(lm: str, **train):
    cfg = config(**train)
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"lm": lm})})


def lm_weights(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.lm.state_dict().items()}


def test_frozen_lm_starts_from_the_pretrained_weights_and_keeps_them_while_the_tagger_learns(tmp_path, vectors, lm_dir):
    from pipeline.models.language_model import load_language_model

    cfg = lm_tagger_config("frozen", epochs=30, patience=30)
    model, _ = build_model(cfg, RECORDS, vectors, lm_dir)
    pretrained = load_language_model(lm_dir)[0].state_dict()
    assert all(torch.equal(v, pretrained[k]) for k, v in model.lm.state_dict().items())
    result = train(cfg, RECORDS, RECORDS, vectors, tmp_path / "out", NullLogger(), lm_dir=lm_dir)
    assert result.best_score == 100.0
    trained, _ = load_tagger(result.model_dir)
    assert all(torch.equal(v, pretrained[k]) for k, v in trained.lm.state_dict().items())
    assert not model.train().lm.training  # a frozen language model never drops out


def test_finetuned_lm_moves_with_the_tagger(vectors, lm_dir):
    model, assets = build_model(lm_tagger_config("finetune"), RECORDS, vectors, lm_dir)
    before = lm_weights(model)
    batch = encode_batch([t for t, _ in RECORDS], assets, [g for _, g in RECORDS])
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    model.train()
    model.loss(batch).backward()
    optimizer.step()
    moved = [k for k, v in model.lm.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("forward_lstm") for k in moved) and any(k.startswith("backward_lstm") for k in moved)


def test_saved_lm_tagger_loads_with_identical_predictions_in_torch(tmp_path, vectors, lm_dir):
    cfg = lm_tagger_config("finetune", epochs=3)
    result = train(cfg, RECORDS, RECORDS, vectors, tmp_path / "out", NullLogger(), lm_dir=lm_dir)
    sentences = [t for t, _ in RECORDS]
    predictor = NerPredictor.load(result.model_dir)  # auto: torch, the only engine for LM states
    assert predictor.model.engine == "torch"
    together = predictor.predict_tokens(sentences)
    assert together == [predictor.predict_tokens([s])[0] for s in sentences]
    model, assets = load_tagger(result.model_dir)
    batch = encode_batch(sentences, assets)
    assert batch.lm_words is not None and bool((batch.lm_words[batch.mask] > 1).any())  # real LM ids, not all <unk>
    with torch.inference_mode():
        assert torch.equal(model.emissions(batch), load_tagger(result.model_dir)[0].emissions(batch))
    with pytest.raises(ConfigError, match="language model"):
        NerPredictor.load(result.model_dir, engine="numpy")


def test_lm_without_a_pretrained_model_names_the_setting_and_the_stage(tmp_path, vectors):
    with pytest.raises(ConfigError, match="ner.model.lm.*pretrain_lm"):
        build_model(lm_tagger_config("frozen"), RECORDS, vectors, tmp_path / "missing")
