"""The one tokenizer used by word2vec, the models and the spaCy components.

We use spaCy's rule-based tokenizer of the data's language (``spacy.blank(data.language)``,
English by default) because
the spaCy components tag ``Doc`` objects that spaCy itself tokenized: when
training, word2vec and inference all split text the same way, every vector
lookup at inference time sees the same tokens it saw in training, with no
alignment step. Whitespace tokens (runs of spaces, newlines) are dropped:
they carry no meaning for either task and would pollute the vocabulary.
CoNLL-2003 text comes pre-tokenized and is read as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

import spacy
from spacy.tokenizer import Tokenizer as SpacyTokenizer
from spacy.util import minibatch

BATCH_SIZE = 1000
LANGUAGE = "en"  # params.yaml's data.language; models store theirs (pipeline.model_dir.DATA)
MAX_RUN = 100  # characters without whitespace handed to spaCy at once: its affix splitting is quadratic in a run
_LONG_RUN = re.compile(r"\S{%d,}" % (MAX_RUN + 1))


@lru_cache(maxsize=4)
def spacy_tokenizer(language: str = LANGUAGE) -> SpacyTokenizer:
    """The shared spaCy tokenizer of ``language`` (built once per process; no model download)."""
    return spacy.blank(language).tokenizer


def pieces(text: str) -> list[str]:
    """``text`` cut every :data:`MAX_RUN` characters inside longer whitespace-free runs (usually just ``[text]``).

    spaCy strips prefixes and suffixes off a run one at a time, rescanning
    it each time: 10,000 emoji or commas in a row took 12-16 s. Cutting such
    runs bounds the cost at linear; tokens stay substrings of the text, in
    order, so character offsets still hold. Ordinary text (URLs included)
    has no run this long and is tokenized exactly as spaCy does.
    """
    cuts = [cut for run in _LONG_RUN.finditer(text) for cut in range(run.start() + MAX_RUN, run.end(), MAX_RUN)]
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]


def tokenize(text: str, language: str = LANGUAGE) -> list[str]:
    """Split one text into token strings, whitespace tokens dropped."""
    return [t.text for piece in pieces(text) for t in spacy_tokenizer(language)(piece) if not t.is_space]


def tokenize_many(texts: Iterable[str], batch_size: int = BATCH_SIZE, language: str = LANGUAGE) -> Iterator[list[str]]:
    """Tokenize a stream of texts lazily, in batches (spaCy's fast path); the same tokens as :func:`tokenize`."""
    tokenizer = spacy_tokenizer(language)
    for batch in minibatch(texts, size=batch_size):
        cut = [pieces(text) for text in batch]
        docs = tokenizer.pipe((piece for parts in cut for piece in parts), batch_size=batch_size)
        for parts in cut:
            yield [t.text for _ in parts for t in next(docs) if not t.is_space]
