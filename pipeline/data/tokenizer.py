"""The one tokenizer used by word2vec, the models and the spaCy components.

We use spaCy's English rule-based tokenizer (``spacy.blank("en")``) because
the spaCy components tag ``Doc`` objects that spaCy itself tokenized: when
training, word2vec and inference all split text the same way, every vector
lookup at inference time sees the same tokens it saw in training, with no
alignment step. Whitespace tokens (runs of spaces, newlines) are dropped:
they carry no meaning for either task and would pollute the vocabulary.
CoNLL-2003 text comes pre-tokenized and is read as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

import spacy
from spacy.tokenizer import Tokenizer as SpacyTokenizer

BATCH_SIZE = 1000


@lru_cache(maxsize=1)
def spacy_tokenizer() -> SpacyTokenizer:
    """The shared spaCy English tokenizer (built once per process; no model download)."""
    return spacy.blank("en").tokenizer


def tokenize(text: str) -> list[str]:
    """Split one text into token strings, whitespace tokens dropped."""
    return [t.text for t in spacy_tokenizer()(text) if not t.is_space]


def tokenize_many(texts: Iterable[str], batch_size: int = BATCH_SIZE) -> Iterator[list[str]]:
    """Tokenize a stream of texts lazily, in batches (spaCy's fast path)."""
    for doc in spacy_tokenizer().pipe(texts, batch_size=batch_size):
        yield [t.text for t in doc if not t.is_space]
