"""The CRF training loss: ``crf_nll`` must equal pytorch-crf's negative log-likelihood, value and gradients."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torchcrf import CRF

from pipeline.models.crf import constrained_crf, crf_nll, viterbi

TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]

pytestmark = pytest.mark.usefixtures("one_thread")


def random_crf(seed: int):
    """A BIOES CRF with random transitions (forbidden ones stay forbidden) and random start/end scores."""
    torch.manual_seed(seed)
    crf = constrained_crf(TAGS, "bioes")
    with torch.no_grad():
        crf.transitions.add_(torch.randn_like(crf.transitions))
        crf.start_transitions.add_(torch.randn_like(crf.start_transitions))
        crf.end_transitions.add_(torch.randn_like(crf.end_transitions))
    return crf


def ragged_batch(crf, lengths: list[int], gold: str, seed: int):
    """Emissions (B,T,K) needing grad, tags (B,T) and mask (B,T) for rows of ``lengths``; padding tags are 0.

    ``gold="viterbi"`` tags each row with its best (allowed) path, ``"random"`` with any tags, forbidden
    transitions included.
    """
    generator = torch.Generator().manual_seed(seed)
    steps = max(lengths)
    mask = torch.arange(steps)[None, :] < torch.tensor(lengths)[:, None]
    emissions = torch.randn(len(lengths), steps, len(TAGS), generator=generator) * 3
    if gold == "viterbi":
        tags = torch.zeros(len(lengths), steps, dtype=torch.long)
        for i, path in enumerate(viterbi(crf, emissions, mask)):
            tags[i, : len(path)] = torch.tensor(path)
    else:
        tags = torch.randint(0, len(TAGS), (len(lengths), steps), generator=generator).masked_fill(~mask, 0)
    return emissions.requires_grad_(), tags, mask


def params(crf, emissions):
    return [emissions, crf.transitions, crf.start_transitions, crf.end_transitions]


def grads(loss, inputs):
    """d loss / d each input; zeros for one the loss does not use (pytorch-crf skips transitions when T = 1)."""
    found = torch.autograd.grad(loss, inputs, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, found)]


CASES = [
    ([1], "viterbi"),
    ([5], "viterbi"),
    ([1, 1, 1], "random"),
    ([6, 1, 3, 2, 6, 4], "viterbi"),
    ([6, 1, 3, 2, 6, 4], "random"),
    ([12, 1, 7, 12, 3, 9, 2, 11], "viterbi"),
]


@pytest.mark.parametrize(("lengths", "gold"), CASES)
def test_loss_and_gradients_equal_pytorch_crf(lengths, gold):
    """Ragged rows (length 1 included), gold paths allowed or forbidden: same loss, same four gradients."""
    crf = random_crf(seed=len(lengths))
    emissions, tags, mask = ragged_batch(crf, lengths, gold, seed=sum(lengths))
    expected = -crf(emissions, tags, mask=mask, reduction="mean")
    expected_grads = grads(expected, params(crf, emissions))
    loss = crf_nll(crf, emissions, tags, mask)
    got_grads = grads(loss, params(crf, emissions))
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-5)
    for name, got, want in zip(["emissions", "transitions", "start", "end"], got_grads, expected_grads):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}")


def test_long_sentences_keep_float32_precision():
    """Rows up to 60 tokens: loss and gradients within float32 rounding of pytorch-crf run in float64."""
    crf = random_crf(seed=6)
    emissions, tags, mask = ragged_batch(crf, [60, 1, 33, 60, 7, 45], "viterbi", seed=6)
    loss = crf_nll(crf, emissions, tags, mask)
    got = grads(loss, params(crf, emissions))
    crf64 = random_crf(seed=6).double()
    emissions64 = emissions.detach().double().requires_grad_()
    expected = -crf64(emissions64, tags, mask=mask, reduction="mean")
    torch.testing.assert_close(loss.double(), expected, rtol=1e-5, atol=1e-5)  # a difference of two sums ~ 300
    for g, want in zip(got, grads(expected, params(crf64, emissions64))):
        torch.testing.assert_close(g.double(), want, rtol=1e-5, atol=5e-6)  # tighter than pytorch-crf's float32 meets


def test_unconstrained_crf_matches_too():
    """pytorch-crf's own random initialisation, no forbidden transitions: still the same loss and gradients."""
    torch.manual_seed(4)
    crf = CRF(len(TAGS), batch_first=True)
    emissions, tags, mask = ragged_batch(crf, [4, 1, 2, 4], "random", seed=4)
    expected = -crf(emissions, tags, mask=mask, reduction="mean")
    expected_grads = grads(expected, params(crf, emissions))
    loss = crf_nll(crf, emissions, tags, mask)
    torch.testing.assert_close(loss, expected)
    for got, want in zip(grads(loss, params(crf, emissions)), expected_grads):
        torch.testing.assert_close(got, want)


def test_gradcheck_in_double_precision():
    """The analytic gradients of the custom log-partition are the numerical ones (float64, tiny ragged batch)."""
    crf = random_crf(seed=7)
    emissions, tags, mask = ragged_batch(crf, [3, 1, 2], "viterbi", seed=7)
    inputs = [x.detach().double().requires_grad_() for x in params(crf, emissions)]

    def nll(emissions, transitions, start, end):  # the CRF's parameters replaced by the tensors gradcheck perturbs
        crf64 = SimpleNamespace(transitions=transitions, start_transitions=start, end_transitions=end)
        return crf_nll(crf64, emissions, tags, mask)

    assert nll(*inputs).dtype == torch.float64
    assert torch.autograd.gradcheck(nll, inputs, eps=1e-6, atol=1e-6)


def test_padding_gets_no_emission_gradient():
    """Scores on padding positions (even infinite ones) change nothing: the same loss, and exactly zero gradient."""
    crf = random_crf(seed=5)
    emissions, tags, mask = ragged_batch(crf, [5, 1, 3], "viterbi", seed=5)
    expected = crf_nll(crf, emissions, tags, mask)
    expected_grad = grads(expected, [emissions])[0]
    with torch.no_grad():
        emissions[~mask] = torch.inf
    loss = crf_nll(crf, emissions, tags, mask)
    loss.backward()
    torch.testing.assert_close(loss, expected, rtol=0, atol=0)
    torch.testing.assert_close(emissions.grad, expected_grad, rtol=0, atol=0)
    assert emissions.grad[~mask].abs().max() == 0
    assert emissions.grad[mask].abs().max() > 0
    # the real positions' gradient is P(y_t = k) - [k = gold], averaged over rows: it sums to 0 over k
    torch.testing.assert_close(emissions.grad.sum(2), torch.zeros(mask.shape), atol=1e-6, rtol=0)
