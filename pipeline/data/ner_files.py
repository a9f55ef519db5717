"""NER training files in the formats users have: CoNLL-style columns, JSON lines of tokens and tags, spaCy DocBin.

Each is read into IOB2-tagged :class:`~pipeline.data.conll.Sentence` objects,
whatever scheme the file uses (``auto`` detects it from the tags and says
which it chose). Entity types are whatever the file names them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from pipeline.data.conll import Sentence, detect_file_scheme, read_conll, repair_summary
from pipeline.data.jsonl import numbered_objects
from pipeline.data.tags import Detection, Invalid, TagError, convert, detect_scheme
from pipeline.errors import DataError, MissingDataError


@dataclass(frozen=True)
class NerFormat:
    """How to read one NER file (``data.ner`` in params.yaml)."""

    format: str = "conll"
    scheme: str = "auto"
    word_column: int = 0
    tag_column: int = -1


def read_ner(path: Path, how: NerFormat, invalid: Invalid = "repair") -> tuple[list[Sentence], Detection]:
    """The IOB2 sentences of ``path`` and the tag scheme they were read in (detected or given)."""
    if not path.exists():
        raise MissingDataError(path, "check the path in params.yaml's data.ner section (relative to data.root)")
    if how.format == "spacy":
        return _from_docbin(path), Detection("iob2", "spaCy DocBin: entities are spans")
    if how.format == "jsonl":
        return _from_jsonl(path, how.scheme, invalid)
    detection = detect_file_scheme(path, how.tag_column) if how.scheme == "auto" else given(how.scheme)
    sentences = read_conll(path, scheme=detection.scheme, target="iob2", invalid=invalid,
                           word_column=how.word_column, tag_column=how.tag_column)
    return list(sentences), detection


def given(scheme: str) -> Detection:
    """The scheme params.yaml names, as a :class:`Detection` for uniform reporting."""
    return Detection(scheme, "set in params.yaml")


def _from_jsonl(path: Path, scheme: str, invalid: Invalid) -> tuple[list[Sentence], Detection]:
    """``{"tokens": [...], "tags": [...], "doc": 0}`` a line (``doc`` optional); repairs are one warning."""
    rows = []
    for line, obj in numbered_objects(path):
        tokens, tags, doc = obj.get("tokens"), obj.get("tags"), obj.get("doc", 0)
        if not _strings(tokens) or not _strings(tags) or len(tokens) != len(tags) or not tokens:
            raise DataError(path, line, "expected non-empty 'tokens' and 'tags' lists of strings, of equal length")
        if not isinstance(doc, int) or isinstance(doc, bool):
            raise DataError(path, line, f"'doc' must be an integer document number, got {doc!r}")
        rows.append((line, tokens, tags, doc))
    if not rows:
        raise DataError(path, None, "no sentences: the file is empty")
    detection = detect_scheme(tags for _, _, tags, _ in rows) if scheme == "auto" else given(scheme)
    repaired: list[int] = []
    sentences = []
    for line, tokens, tags, doc in rows:
        try:
            iob2 = convert(tags, detection.scheme, "iob2", invalid, lambda _index, _message, at=line: repaired.append(at))
        except TagError as err:
            raise DataError(path, line, f"token {err.index}: {err.message}") from None
        sentences.append(Sentence(tokens, iob2, str(path), line, doc))
    if repaired:
        warnings.warn(repair_summary(path, detection.scheme, repaired))
    return sentences, detection


def _strings(value: object) -> bool:
    """A list of non-empty strings without whitespace (a token with a space could not be written as a column)."""
    return isinstance(value, list) and all(isinstance(v, str) and v and v.split() == [v] for v in value)


def _from_docbin(path: Path) -> list[Sentence]:
    """A spaCy ``.spacy`` file: each Doc's sentences (or the Doc, when unsegmented) with IOB2 tags from its ents."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    try:
        docs = list(DocBin().from_disk(path).get_docs(Vocab()))
    except ValueError as err:
        raise DataError(path, None, f"not a spaCy DocBin file ({err})") from None
    sentences = []
    for number, doc in enumerate(docs):
        spans = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
        for span in spans:
            words = [t.text for t in span if not t.is_space]
            tags = [f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in span if not t.is_space]
            if words:
                sentences.append(Sentence(words, tags, str(path), number + 1, number))
    if not sentences:
        raise DataError(path, None, "no Doc with tokens in this DocBin")
    return sentences
