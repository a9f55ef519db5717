"""The bidirectional language model: fitting, padding, causality, the two softmaxes, saving, resume, config errors."""

from __future__ import annotations

import pytest
import torch
from conftest import write_vectors

from pipeline.config import build_section
from pipeline.errors import ConfigError, DataError
from pipeline.model_dir import save_weights
from pipeline.models.classifier import collate
from pipeline.models.language_model import BiLanguageModel, LMConfig, load_language_model
from pipeline.training.lm_task import PretrainConfig, build_task, train_lm
from pipeline.training.logger import NullLogger

pytestmark = pytest.mark.usefixtures("one_thread")

CYCLE = "the cat sat on the mat and the dog ate a bone .".split()
CORPUS = [" ".join((CYCLE[i:] + CYCLE[:i]) * 2) for i in range(len(CYCLE))] * 2  # 26 rotations of a cycle, twice round
WORDS = sorted(set(CYCLE)) + ["zebra"]  # one word with a vector that the corpus never uses
SMALL = {"word_dim": 8, "hidden_size": 24, "dropout": 0.0, "samples": 8}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The tiny corpus (one document a line) and 8-dimensional vectors of its words."""
    root = tmp_path_factory.mktemp("lm")
    corpus = root / "corpus.txt"
    corpus.write_text("".join(line + "\n" for line in CORPUS))
    return corpus, write_vectors(root / "w2v", WORDS, dim=8, seed=0, scale=0.3)


def config(model: dict | None = None, **train) -> PretrainConfig:
    return PretrainConfig.model_validate({"model": SMALL | (model or {}), "bptt": 10, "dev_fraction": 0.1,
                                          "min_count": 1, "train": {"batch_size": 4, "lr": 0.02, "seed": 5} | train})


@pytest.fixture(scope="module")
def trained(files, tmp_path_factory):
    """A model fitted for a few epochs on the tiny corpus: its FitResult."""
    corpus, vectors = files
    cfg = config(epochs=6, patience=6, grad_clip=5.0)
    return train_lm(cfg, corpus, vectors, tmp_path_factory.mktemp("fit"), NullLogger())


@pytest.fixture
def built(files):
    """A fresh model, in eval mode, and its task on the tiny corpus."""
    model, task = build_task(config(), *files)
    return model.eval(), task


def encode(task, *sentences: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ids (B,T) and lengths (B,) of whitespace-tokenized sentences."""
    return collate([task.vocab.encode(s.split()) for s in sentences])


def test_dev_perplexity_falls_far_below_the_vocabulary_size(trained):
    first, last = trained.history[0]["dev_perplexity"], trained.history[-1]["dev_perplexity"]
    vocab_size = len(set(CYCLE)) + 2
    assert last < first and last < vocab_size / 4
    assert trained.best_score == -min(h["dev_perplexity"] for h in trained.history)
    assert all(h["tokens_per_s"] > 0 for h in trained.history)


def test_windows_predict_every_neighbouring_pair_once_and_stay_in_their_document(built):
    _, task = built
    windows = [task.window(task.train_ids, w) for w in task.train_windows]
    assert sum(len(w) - 1 for w in windows) == sum(len(doc) - 1 for doc in task.train_ids)
    assert max(map(len, windows)) == task.cfg.bptt + 1 and min(map(len, windows)) >= 2
    assert len(task.dev_ids) == 3  # a tenth of the 26 documents, rounded up: the last ones
    assert task.dev_ids[-1].tolist() == task.vocab.encode(CORPUS[-1].split())


def test_padding_does_not_leak_into_real_tokens(built):
    model, task = built
    alone = model.states(*encode(task, "the dog ate"))
    batch = model.states(*encode(task, "a bone . the cat sat on", "the dog ate"))
    assert alone.shape == (1, 3, 2 * SMALL["hidden_size"])
    torch.testing.assert_close(batch[1:, :3], alone)
    assert not batch[1, 3:].any()  # padding states are zero


def test_forward_states_read_the_past_and_backward_states_the_future(built):
    model, task = built
    hidden, changed = SMALL["hidden_size"], 3
    before = model.states(*encode(task, "the cat sat on the mat"))[0]
    after = model.states(*encode(task, "the cat sat dog the mat"))[0]
    torch.testing.assert_close(after[:changed, :hidden], before[:changed, :hidden])  # forward: tokens ≤ t
    torch.testing.assert_close(after[changed + 1 :, hidden:], before[changed + 1 :, hidden:])  # backward: tokens ≥ t
    assert not torch.allclose(after[changed:, :hidden], before[changed:, :hidden])  # the change is seen from t on
    assert not torch.allclose(after[: changed + 1, hidden:], before[: changed + 1, hidden:])


def test_eval_loss_is_the_full_softmax_and_training_loss_is_sampled(built):
    model, task = built
    ids, lengths = encode(task, "the cat sat on the mat", "a bone .")
    states, hidden = model.states(ids, lengths), SMALL["hidden_size"]
    pairs = [(states[b, t, :hidden], ids[b, t + 1]) for b in range(2) for t in range(int(lengths[b]) - 1)]
    pairs += [(states[b, t, hidden:], ids[b, t - 1]) for b in range(2) for t in range(1, int(lengths[b]))]
    logits = torch.stack([h for h, _ in pairs]) @ model.output.weight.T + model.output_bias
    expected = torch.nn.functional.cross_entropy(logits, torch.stack([w for _, w in pairs]))
    torch.testing.assert_close(model.loss(ids, lengths), expected)
    candidates = torch.arange(1, model.output_size)  # <unk> and the words: what negatives are drawn from
    torch.testing.assert_close(model.sampler.log_expected_count(candidates, 1).exp().sum(), torch.tensor(1.0))
    sampled = model.train().loss(ids, lengths)
    assert torch.isfinite(sampled) and not torch.isclose(sampled, expected)


def test_saved_model_loads_with_identical_states(built, trained, tmp_path):
    model, task = built
    save_weights(tmp_path, model, config().model_dump(mode="json"))
    task.save_assets(tmp_path)
    loaded, vocab = load_language_model(tmp_path)
    assert not loaded.training and vocab == task.vocab
    ids, lengths = encode(task, "the cat sat on the mat", "a bone .")
    torch.testing.assert_close(loaded.states(ids, lengths), model.states(ids, lengths), rtol=0, atol=0)
    assert load_language_model(trained.model_dir)[0].output_size == vocab.trained  # what fit wrote loads too


def test_resume_replays_the_next_epoch_exactly(tmp_path, files):
    corpus, vectors = files
    cfg = config({"dropout": 0.3}, epochs=3, patience=3)
    full = train_lm(cfg, corpus, vectors, tmp_path / "full", NullLogger())
    two = cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": 2})})
    train_lm(two, corpus, vectors, tmp_path / "cut", NullLogger())
    resumed = train_lm(cfg, corpus, vectors, tmp_path / "cut", NullLogger(), resume=True)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    strip = lambda h: {k: v for k, v in h.items() if k not in ("epoch_s", "tokens_per_s")}  # noqa: E731
    assert strip(resumed.history[-1]) == strip(full.history[-1])


def test_bad_config_and_corpus_name_the_field_or_file(files, tmp_path):
    with pytest.raises(ConfigError, match="pretrain_lm.model.samples"):
        build_section(PretrainConfig, {"model": {"samples": 0}}, "params.yaml", "pretrain_lm")
    with pytest.raises(ConfigError, match="pretrain_lm.bptt"):
        build_section(PretrainConfig, {"bptt": 0}, "params.yaml", "pretrain_lm")
    with pytest.raises(ConfigError, match="pretrain_lm.model.word_dim"):
        build_task(config({"word_dim": 5}), *files)
    one = tmp_path / "one.txt"
    one.write_text("a single document\n")
    with pytest.raises(DataError, match="one.txt: 1 document"):
        build_task(config(), one, files[1])
    with pytest.raises(ValueError, match="output vocabulary"):
        BiLanguageModel(LMConfig(), vocab_size=2, trainable_rows=2)
