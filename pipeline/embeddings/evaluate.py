"""Intrinsic evaluation of word vectors.

Analogy accuracy on gensim's bundled ``questions-words.txt`` (Mikolov et al.)
and Spearman correlation on ``wordsim353.tsv``; both ship with gensim, so
nothing is downloaded. OOV rates say how much of each task's text the
vectors cover, which matters more for the taggers than analogies do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from gensim.models import KeyedVectors
from gensim.test.utils import datapath

ANALOGY_RESTRICT_VOCAB = 30000


def analogy_accuracy(kv: KeyedVectors) -> float:
    """Share of analogy questions answered right (case-insensitive, top 30k words, OOV questions skipped)."""
    score, _sections = kv.evaluate_word_analogies(
        datapath("questions-words.txt"), restrict_vocab=ANALOGY_RESTRICT_VOCAB, case_insensitive=True
    )
    return float(score)


def wordsim_spearman(kv: KeyedVectors) -> float:
    """Spearman correlation with WordSim-353 human judgements (OOV pairs skipped)."""
    _pearson, spearman, _oov = kv.evaluate_word_pairs(datapath("wordsim353.tsv"), case_insensitive=True)
    return float(spearman.statistic)


def oov_rates(kv: KeyedVectors, tokens: Iterable[str], normalize: Callable[[str], str]) -> dict[str, float]:
    """Token- and type-level out-of-vocabulary rates of ``tokens`` after normalisation."""
    counts = Counter(normalize(t) for t in tokens)
    total = sum(counts.values())
    if total == 0:
        return {"token_oov": 0.0, "type_oov": 0.0}
    missing = {w: c for w, c in counts.items() if w not in kv.key_to_index}
    return {
        "token_oov": sum(missing.values()) / total,
        "type_oov": len(missing) / len(counts),
    }
