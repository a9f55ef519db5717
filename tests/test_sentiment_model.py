"""The classifier module: padding never leaks, attention is a distribution over real tokens, preset sizes."""

from __future__ import annotations

import pytest
import torch
from conftest import ROOT

from pipeline.config import build_section
from pipeline.errors import ConfigError
from pipeline.models.classifier import (
    ClassifierConfig,
    RNNClassifier,
    collate,
    count_parameters,
    probabilities,
)
from pipeline.training.sentiment_task import load_config_file

PRESETS = ROOT / "configs" / "presets"
VOCAB = 50


def tiny(**overrides) -> RNNClassifier:
    """A small random classifier in eval mode (dropout off), fixed seed."""
    torch.manual_seed(0)
    values = dict(embeddings="random", embedding_dim=6, hidden_sizes=[5], dropout=0.2, attention_dim=4, num_classes=2) | overrides
    cfg = ClassifierConfig(**values)
    return RNNClassifier(cfg, VOCAB).eval()


def sequences() -> list[list[int]]:
    """Reviews of very different lengths, so a batch pads most of them."""
    gen = torch.Generator().manual_seed(1)
    return [torch.randint(2, VOCAB, (n,), generator=gen).tolist() for n in (7, 1, 12, 3)]


@pytest.mark.parametrize("encoder", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_padded_batch_equals_each_sequence_alone(encoder, bidirectional) -> None:
    """Every pooling at once: a leak into any of them changes the concatenated output."""
    pooling = ["last", "max", "mean", "attention"]
    model = tiny(encoder=encoder, pooling=pooling, bidirectional=bidirectional, hidden_sizes=[5, 3])
    seqs = sequences()
    with torch.inference_mode():
        batched = model(*collate(seqs))
        alone = torch.cat([model(*collate([s])) for s in seqs])
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-6)


def test_attention_weights_sum_to_one_and_skip_padding() -> None:
    model = tiny(pooling=["attention"])
    ids, lengths = collate(sequences())
    with torch.inference_mode():
        states, mask, _ = model.encode(ids, lengths)
        weights = model.attention.weights(states, mask)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(len(lengths)))
    assert bool((weights[~mask] == 0).all())
    assert bool((weights[mask] > 0).all())


def test_heads_and_probabilities() -> None:
    ids, lengths = collate(sequences())
    binary, multi = tiny(), tiny(num_classes=10)
    with torch.inference_mode():
        assert binary(ids, lengths).shape == (4,)
        assert multi(ids, lengths).shape == (4, 10)
        for model in (binary, multi):
            probs = probabilities(model(ids, lengths))
            torch.testing.assert_close(probs.sum(dim=1), torch.ones(4))


def test_empty_sequence_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least one token"):
        tiny()(torch.zeros((1, 1), dtype=torch.long), torch.tensor([0]))


def test_frozen_embeddings_get_no_gradient() -> None:
    assert not tiny(embeddings="frozen").embedding.weight.requires_grad
    assert tiny(embeddings="finetune").embedding.weight.requires_grad


def test_word_dropout_trains_the_unknown_row_and_is_off_at_inference() -> None:
    ids, lengths = collate(sequences())
    for rate, unk_moves in ((0.0, False), (0.9, True)):
        model = tiny(word_dropout=rate).train()
        model(ids, lengths).sum().backward()
        assert bool(model.embedding.trained.weight.grad[1].abs().sum() > 0) == unk_moves
    with torch.inference_mode():
        torch.testing.assert_close(model.eval()(ids, lengths), tiny()(ids, lengths))


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"encoder": "transformer"}, "model.encoder"),
        ({"pooling": ["max", "max"]}, "model"),
        ({"pooling": []}, "model.pooling"),
        ({"hidden_sizes": [0]}, "model.hidden_sizes.0"),
        ({"num_classes": 1}, "model.num_classes"),
        ({"bogus": 1}, "model.bogus"),
    ],
)
def test_bad_config_names_the_field(values, field) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        build_section(ClassifierConfig, values, "params.yaml", "model")


def keras_rnn_parameters(kind: str, n_in: int, units: int) -> int:
    """Keras' count: one bias per gate for SimpleRNN/LSTM; GRU (reset_after=True, the TF2 default) has two."""
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    biases = 2 if kind == "gru" else 1
    return gates * (units * (n_in + units) + biases * units)


def torch_rnn_parameters(kind: str, n_in: int, units: int) -> int:
    """torch: every gate carries two biases (b_ih and b_hh)."""
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    return gates * (units * (n_in + units) + 2 * units)


@pytest.mark.parametrize("name", ["s1", "s2", "s3_lstm", "s3_gru", "s4"])
def test_preset_parameter_counts(name: str) -> None:
    cfg = load_config_file(PRESETS / f"{name}.yaml")
    model = cfg.model.model_copy(update={"num_classes": 2})  # training sets it from the data: IMDB's pos/neg
    sizes = [model.embedding_dim, *model.hidden_sizes]
    layers = list(zip(sizes, model.hidden_sizes))
    embedding = cfg.max_vocab * model.embedding_dim
    head = model.hidden_sizes[-1] + 1
    keras = embedding + sum(keras_rnn_parameters(model.encoder, i, u) for i, u in layers) + head
    ours = embedding + sum(torch_rnn_parameters(model.encoder, i, u) for i, u in layers) + head
    assert count_parameters(RNNClassifier(model, cfg.max_vocab)) == ours
    if name == "s4":
        assert keras == 213_301  # the lecture's model.summary()
        assert ours == 213_701  # + 4 gates × 100 units of LSTM bias_hh
