"""Helpers around pytorch-crf's :class:`torchcrf.CRF`: transitions the tag scheme forbids start out impossible.

A BIOES or IOB2 tagger must never emit ``O → I-PER`` or ``B-PER → I-LOC``.
Instead of post-hoc repair we start the CRF with a large negative score on
every forbidden transition (and forbidden start/end tags). A path through
such a transition has probability ≈ 0, so its gradient is ≈ 0 and the score
stays prohibitive during training: Viterbi never picks it.

:func:`crf_nll` is the training loss, the same value as pytorch-crf's but with
its log-partition's gradient computed in one forward-backward pass instead of
autograd recording every step of the forward algorithm.
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
    mask = mask.numpy()
    return viterbi_arrays(*(p.detach().numpy() for p in (crf.start_transitions, crf.transitions, crf.end_transitions)),
                          emissions.detach().numpy()[mask], mask.sum(axis=1))


def viterbi_arrays(start: np.ndarray, transitions: np.ndarray, end: np.ndarray, scores: np.ndarray,
                   lengths: np.ndarray) -> list[list[int]]:
    """:func:`viterbi` on numpy arrays: start (K,), transitions (K,K) from → to, end (K,), and the scores (N,K) of
    every real token, sentence after sentence, whose ``lengths`` (B,) are all at least 1.

    Sentences run longest first, so the ones still running at a step are a prefix of the batch and only they
    are computed: a batch of mixed lengths costs what its real tokens cost. One sentence alone (a service's
    request) takes :func:`_one_path`, the same sums without the batch's bookkeeping.
    """
    if len(lengths) == 1:
        return [_one_path(start, transitions, end, scores)]
    into = np.ascontiguousarray(transitions.T)[None]  # (1,K,K): to ← from, so each max runs along the last axis
    order = np.argsort(-lengths, kind="stable")
    by_length = lengths[order]
    position = np.arange(int(by_length[0]))[:, None]  # (T,1)
    active = (by_length[None, :] > position).sum(axis=1).tolist()
    starts = (np.cumsum(lengths) - lengths)[order]  # (B,) each sorted sentence's first token
    emissions = scores[starts + np.minimum(position, by_length - 1)]  # (T,B,K) time-major; rows past their end unused
    score = start + emissions[0]  # (B,K): best score of a path ending in each tag
    history = [None]  # per step t ≥ 1: (n,K) the best previous tag for each tag at t, running sentences only
    for t, n in enumerate(active[1:], start=1):
        candidates = score[:n, None, :] + into + emissions[t, :n, :, None]  # (n,K to,K from): torchcrf's sums
        history.append(candidates.argmax(axis=2))  # (n,K)
        score[:n] = candidates.max(axis=2)
    tag = (score + end).argmax(axis=1)  # (B,) last tag of each sentence
    path = np.empty(len(scores), dtype=np.int64)  # (N,) in input order
    for t in range(len(active) - 1, -1, -1):
        if t + 1 < len(active):  # sentences still running at t+1 step back; those ending at t keep their last tag
            going = active[t + 1]
            tag[:going] = history[t + 1][np.arange(going), tag[:going]]
        path[starts[: active[t]] + t] = tag[: active[t]]
    return [row.tolist() for row in np.split(path, np.cumsum(lengths)[:-1])]


def best_paths(crf: tuple[np.ndarray, np.ndarray, np.ndarray] | None, scores: np.ndarray,
               lengths: np.ndarray) -> list[list[int]]:
    """Best tag ids per sentence from the scores (N,K) of its real tokens (``lengths`` (B,)): Viterbi under a CRF
    given as its (start, transitions, end) arrays, the per-token argmax without one."""
    if crf is None:
        return [row.tolist() for row in np.split(scores.argmax(axis=1), np.cumsum(lengths)[:-1])]
    return viterbi_arrays(*crf, scores, lengths)


def _one_path(start: np.ndarray, transitions: np.ndarray, end: np.ndarray, scores: np.ndarray) -> list[int]:
    """The best path of one sentence's scores (T,K): :func:`viterbi_arrays`'s sums in the same order, a backtrace
    in Python ints (half the time of the batched code on a short sentence)."""
    into = np.ascontiguousarray(transitions.T)  # (K to, K from)
    score = start + scores[0]  # (K,)
    history = []  # per step t ≥ 1: (K,) the best previous tag for each tag at t
    for emission in scores[1:]:
        candidates = score + into  # (K to, K from)
        candidates += emission[:, None]  # (score + transition) + emission, as torchcrf sums
        history.append(candidates.argmax(axis=1))
        score = candidates.max(axis=1)
    tag = int((score + end).argmax())
    path = [tag]
    for best in reversed(history):
        tag = int(best[tag])
        path.append(tag)
    return path[::-1]


class _LogPartition(torch.autograd.Function):
    """log Z per sentence by the forward algorithm; its gradient is the CRF's marginals (forward-backward).

    Forward records nothing for autograd (an ``autograd.Function`` runs without
    it) and keeps the per-step alphas; backward computes the betas and turns
    both into the gradients d log Z / d emissions = P(y_t = k), d / d transitions
    = Σ_t P(y_{t-1} = i, y_t = j), d / d start = P(y_0 = k), d / d end =
    P(y_last = k), on real tokens only.

    Each step is a max-shifted ``exp(·) @ exp(transitions)``, the shift per
    row (forward) or column (backward) of the transitions keeping one term of
    every sum at exp(0) = 1: no row ever sums to 0, even with :data:`FORBIDDEN`
    transitions. The alphas and betas are kept relative to each step's shift
    (the shifts summed apart), so they stay the size of one step's scores
    however long the sentence and the marginals keep float32's precision.
    """

    @staticmethod
    def forward(ctx, emissions, mask, start, transitions, end):  # (B,T,K), (B,T) bool, (K,), (K,K) from → to, (K,)
        out_max = transitions.amax(dim=1)  # (K,): the best transition out of each tag
        weights = torch.exp(transitions - out_max[:, None])  # (K,K), each row's largest entry 1
        alpha = start + emissions[:, 0]  # (B,K)
        alphas, shifts = [alpha], []
        for t in range(1, emissions.shape[1]):
            shifted = alpha + out_max  # (B,K)
            top = shifted.amax(dim=1, keepdim=True)  # (B,1)
            step = torch.log(torch.exp(shifted - top) @ weights) + emissions[:, t]  # (B,K): the true alpha less top
            alpha = torch.where(mask[:, t, None], step, alpha)  # a finished row keeps its last alpha
            alphas.append(alpha)
            shifts.append(top)
        shifts = torch.cat(shifts, 1) if shifts else emissions.new_zeros(len(emissions), 0)  # (B,T-1)
        log_z = torch.logsumexp(alpha + end, dim=1) + (shifts * mask[:, 1:]).sum(1)  # (B,)
        ctx.save_for_backward(emissions, mask, transitions, end, torch.stack(alphas, 1), shifts)
        return log_z

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):  # grad (B,)
        emissions, mask, transitions, end, alphas, shifts = ctx.saved_tensors  # alphas (B,T,K), shifts (B,T-1)
        steps = emissions.shape[1]
        in_max = transitions.amax(dim=0)  # (K,): the best transition into each tag
        weights = torch.exp(transitions - in_max[None, :]).T  # (K,K) to → from, each column's largest entry 1
        ends = end.expand_as(alphas[:, 0])  # (B,K)
        beta = ends
        betas = [beta]  # beta_t (up to a shift): log-sum of the scores after position t given its tag; end beyond
        for t in range(steps - 1, 0, -1):
            ahead = emissions[:, t] + beta + in_max  # (B,K)
            step = torch.log(torch.exp(ahead - ahead.amax(dim=1, keepdim=True)) @ weights)  # (B,K)
            beta = torch.where(mask[:, t, None], step, ends)
            betas.append(beta)
        betas = torch.stack(betas[::-1], 1)  # (B,T,K)
        both = alphas + betas  # (B,T,K): log Z over the paths through tag k at t, shifted
        norms = torch.logsumexp(both, dim=2, keepdim=True)  # (B,T,1): that shift-blind log Z at each position
        scale = grad[:, None] * mask.to(grad.dtype)  # (B,T): grad_output on real tokens, 0 on padding
        unary = torch.exp(both - norms) * scale[:, :, None]  # (B,T,K) P(y_t = k)·grad
        grad_transitions = None
        if ctx.needs_input_grad[3]:
            # P(y_{t-1} = i, y_t = j) = exp(alpha_{t-1,i} + trans_ij + e_tj + beta_tj − log Z): alpha_t's shift at t
            # is shifts_t more than alpha_{t-1}'s, so the normaliser at t is norms_t + shifts_t
            after = betas[:, 1:] + emissions[:, 1:] - norms[:, 1:] - shifts[:, :, None]  # (B,T-1,K)
            after = after.masked_fill(~mask[:, 1:, None], -torch.inf)  # no pair ends on padding (whatever its scores)
            pair = (alphas[:, :-1, :, None] + after[:, :, None, :]).add_(transitions).exp_()  # (B,T-1,K,K)
            grad_transitions = (scale[:, 1:].reshape(1, -1) @ pair.flatten(2).flatten(0, 1)).view_as(transitions)
        grad_end = (torch.softmax(alphas[:, -1] + end, dim=1) * grad[:, None]).sum(0)  # (K,) P(y_last = k)·grad
        return unary, None, unary[:, 0].sum(0), grad_transitions, grad_end


def crf_nll(crf: CRF, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per sentence: ``-crf(emissions, tags, mask=mask, reduction="mean")``, faster.

    The gold path's score is a few gathers, all positions at once; log Z is
    :class:`_LogPartition`. emissions (B,T,K), tags (B,T) long (valid ids on
    padding too, as pytorch-crf needs), mask (B,T) bool with every row's real
    tokens first and at least one; a batch-first CRF.
    """
    mask = mask.bool()
    gold = emissions.gather(2, tags[:, :, None]).squeeze(2).where(mask, 0)  # (B,T) the gold tags' emissions
    moves = crf.transitions[tags[:, :-1], tags[:, 1:]].where(mask[:, 1:], 0)  # (B,T-1) the gold transitions
    last = tags.gather(1, mask.sum(1, keepdim=True) - 1).squeeze(1)  # (B,) each row's last real tag
    score = crf.start_transitions[tags[:, 0]] + gold.sum(1) + moves.sum(1) + crf.end_transitions[last]  # (B,)
    log_z = _LogPartition.apply(emissions, mask, crf.start_transitions, crf.transitions, crf.end_transitions)
    return (log_z - score).mean()
