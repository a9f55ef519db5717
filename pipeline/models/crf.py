"""Helpers around pytorch-crf's :class:`torchcrf.CRF`: transitions the tag scheme forbids start out impossible.

A BIOES or IOB2 tagger must never emit ``O → I-PER`` or ``B-PER → I-LOC``.
Instead of post-hoc repair we start the CRF with a large negative score on
every forbidden transition (and forbidden start/end tags). A path through
such a transition has probability ≈ 0, so its gradient is ≈ 0 and the score
stays prohibitive during training: Viterbi never picks it.
"""

from __future__ import annotations

import numpy as np
import torch
from torchcrf import CRF

from pipeline.data.tags import Scheme, split_tag

FORBIDDEN = -1e4  # exp(-1e4) underflows to 0: the transition is effectively removed


def _allowed(prev: str, nxt: str, scheme: Scheme) -> bool:
    """Whether tag ``nxt`` may follow tag ``prev`` (``prev``/``nxt`` may be the sentence boundary ``"O"``)."""
    p_prefix, p_label = split_tag(prev)
    n_prefix, n_label = split_tag(nxt)
    if n_prefix in ("I", "E"):
        return p_prefix in ("B", "I") and p_label == n_label
    entity_left_open = scheme == "bioes" and p_prefix in ("B", "I")
    return not entity_left_open


def transition_constraints(tags: list[str], scheme: Scheme) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Boolean masks ``(start, transitions, end)`` of what ``scheme`` allows; IOB1 is not a tagging target."""
    if scheme not in ("iob2", "bioes"):
        raise ValueError(f"the tagger predicts iob2 or bioes tags, not {scheme!r}")
    start = torch.tensor([_allowed("O", t, scheme) for t in tags])
    transitions = torch.tensor([[_allowed(a, b, scheme) for b in tags] for a in tags])
    end = torch.tensor([_allowed(t, "O", scheme) for t in tags])
    return start, transitions, end


def constrained_crf(tags: list[str], scheme: Scheme) -> CRF:
    """A batch-first CRF over ``tags`` whose forbidden transitions score :data:`FORBIDDEN`."""
    crf = CRF(len(tags), batch_first=True)
    start, transitions, end = transition_constraints(tags, scheme)
    with torch.no_grad():
        crf.start_transitions.masked_fill_(~start, FORBIDDEN)
        crf.transitions.masked_fill_(~transitions, FORBIDDEN)
        crf.end_transitions.masked_fill_(~end, FORBIDDEN)
    return crf


def marginals(crf: CRF, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """P(tag k at position t | sentence) for every token: forward-backward in log space.

    emissions (B,T,K), mask (B,T) bool with every row's real tokens first → (B,T,K); rows sum to 1 on real
    tokens (padding rows are meaningless). This is the confidence of a predicted tag under the CRF, which
    Viterbi alone does not give.
    """
    trans = crf.transitions[None]  # (1,K,K): from → to
    steps = emissions.shape[1]
    alphas = [crf.start_transitions + emissions[:, 0]]  # (B,K) each
    for t in range(1, steps):
        step = torch.logsumexp(alphas[-1][:, :, None] + trans, dim=1) + emissions[:, t]
        alphas.append(torch.where(mask[:, t, None], step, alphas[-1]))
    end = crf.end_transitions.expand_as(alphas[0])
    betas = [end]
    for t in range(steps - 2, -1, -1):
        step = torch.logsumexp(trans + (emissions[:, t + 1] + betas[0])[:, None, :], dim=2)
        betas.insert(0, torch.where(mask[:, t + 1, None], step, end))
    return torch.softmax(torch.stack(alphas, 1) + torch.stack(betas, 1), dim=2)


def viterbi(crf: CRF, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
    """The best tag path of each sentence; the same paths as ``crf.decode``, in numpy with a vectorised backtrace.

    torchcrf walks back through the history one sentence and one token at a
    time in Python, which cost more than the whole forward pass at
    inference; here each step back is one gather over the batch. The steps
    are numpy's, not torch's: on sentence-sized arrays a torch call's
    overhead is most of its time. Same float32 sums in the same order, and
    ties go to the first tag in both, so the paths are torch's own.
    emissions (B,T,K), mask (B,T) bool with every row's real tokens first.
    """
    scores = emissions.detach().numpy()  # (B,T,K)
    real = mask.numpy()  # (B,T)
    transitions = crf.transitions.detach().numpy()[None]  # (1,K,K): from → to
    lengths = real.sum(axis=1)  # (B,)
    unpadded = bool(real.all())  # one sentence, say: no row has stopped
    score = crf.start_transitions.detach().numpy() + scores[:, 0]  # (B,K): best score of a path ending in each tag
    batch, k = score.shape
    flat = np.arange(batch)[:, None] * k * k + np.arange(k)[None, :]  # (B,K): index of [b, 0, j] in a flat (B,K,K)
    history = []  # per step t ≥ 1: (B,K) the best previous tag for each tag at t
    for t in range(1, scores.shape[1]):
        candidates = score[:, :, None] + transitions + scores[:, t, None, :]  # (B,K,K)
        previous = candidates.argmax(axis=1)  # (B,K)
        best = candidates.ravel()[flat + previous * k]  # the max, read not recomputed
        score = best if unpadded else np.where(real[:, t, None], best, score)
        history.append(previous)
    tag = (score + crf.end_transitions.detach().numpy()).argmax(axis=1)  # (B,) last real tag of each sentence
    path = np.zeros(real.shape, dtype=np.int64)  # (B,T)
    rows = np.arange(len(tag))
    for t in range(scores.shape[1] - 1, 0, -1):
        path[:, t] = tag
        tag = np.where(t < lengths, history[t - 1][rows, tag], tag)  # rows shorter than t+1 have not started walking back
    path[:, 0] = tag
    return [row[:n] for row, n in zip(path.tolist(), lengths.tolist())]
