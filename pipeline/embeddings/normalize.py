"""Token normalisation shared by word2vec training and every vector lookup.

Vectors are trained on normalised tokens (by default lowercased, digits
mapped to ``0``) so that ``Paris``/``PARIS`` and ``1996``/``1997`` share
statistics. The NER model keeps case information through its own features
(a casing category per token and, optionally, a character encoder over the
raw token), never through the vectors. Models store the normalisation
they were trained with and apply this same function at inference.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

_DIGIT = re.compile(r"\d")


def normalize_token(token: str, lowercase: bool, digits_to_zero: bool) -> str:
    """Normalise one token the way the vectors were trained."""
    if lowercase:
        token = token.lower()
    if digits_to_zero:
        token = _DIGIT.sub("0", token)
    return token


def normalizer(lowercase: bool, digits_to_zero: bool) -> Callable[[str], str]:
    """A one-argument normaliser for the given options (used as a corpus transform)."""
    return partial(normalize_token, lowercase=lowercase, digits_to_zero=digits_to_zero)
