"""Intrinsic evaluation of word vectors.

Analogy accuracy on gensim's bundled ``questions-words.txt`` (Mikolov et al.)
and Spearman correlation on ``wordsim353.tsv``; both ship with gensim, so
nothing is downloaded. OOV rates say how much of each task's text the
vectors cover, which matters more for the taggers than analogies do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from pipeline.embeddings.subwords import Subwords

ANALOGY_RESTRICT_VOCAB = 30000
WORDSIM = datapath("wordsim353.tsv")
WORDSIM_RESTRICT_VOCAB = 300000  # gensim's default: the most frequent words it compares pairs with


def analogy_accuracy(kv: KeyedVectors) -> float:
    """Share of analogy questions answered right (case-insensitive, top 30k words, OOV questions skipped)."""
    score, _sections = kv.evaluate_word_analogies(
        datapath("questions-words.txt"), restrict_vocab=ANALOGY_RESTRICT_VOCAB, case_insensitive=True
    )
    return float(score)


def wordsim_spearman(kv: KeyedVectors) -> float | None:
    """Spearman correlation with WordSim-353 human judgements (OOV pairs skipped); None when no pair is covered.

    Vectors of another language, or a tiny vocabulary, may cover none: gensim
    then raises, while for the stage it is a metric without a value.
    """
    if not wordsim_covered(kv):
        return None
    _pearson, spearman, _oov = kv.evaluate_word_pairs(
        WORDSIM, restrict_vocab=WORDSIM_RESTRICT_VOCAB, case_insensitive=True
    )
    return float(spearman.statistic)


def wordsim_covered(kv: KeyedVectors) -> bool:
    """Whether some WordSim-353 pair has both words among the (case-folded) words gensim compares with."""
    known = {word.upper() for word in kv.index_to_key[:WORDSIM_RESTRICT_VOCAB]}
    lines = Path(WORDSIM).read_text(encoding="utf-8").splitlines()
    pairs = (line.upper().split("\t")[:2] for line in lines if line and not line.startswith("#"))
    return any(len(pair) == 2 and set(pair) <= known for pair in pairs)


def oov_rates(kv: KeyedVectors, tokens: Iterable[str], normalize: Callable[[str], str],
              subwords: Subwords | None = None) -> dict[str, float]:
    """Token- and type-level out-of-vocabulary rates of ``tokens`` after normalisation.

    With fastText's ``subwords``, also the rates of words that have no vector
    and no n-gram of any vocabulary word either (``*_oov_subword``): their
    n-gram vector is untrained noise.
    """
    counts = Counter(normalize(t) for t in tokens)
    total = sum(counts.values())
    missing = {w: c for w, c in counts.items() if w not in kv.key_to_index}
    groups = {"oov": missing}
    if subwords is not None:
        seen = subwords.trained_rows(kv.index_to_key)
        groups["oov_subword"] = {w: c for w, c in missing.items() if seen.isdisjoint(subwords.ngrams(w))}
    rates = {}
    for name, words in groups.items():
        rates[f"token_{name}"] = sum(words.values()) / max(total, 1)
        rates[f"type_{name}"] = len(words) / max(len(counts), 1)
    return rates
