"""Entity tag schemes (IOB1, IOB2, BIOES) and lossless conversion between them.

Every conversion goes through *spans* ``(start, end, label)`` (``end``
exclusive): a span list is the scheme-free meaning of a tag sequence, so
``convert`` is ``tags_from_spans(spans_from_tags(...))`` and cannot drift
between schemes.

The schemes:

* ``iob1`` (CoNLL-2003 as distributed): ``I-X`` begins an entity unless it
  continues one of type ``X``; ``B-X`` is used only where an entity of type
  ``X`` directly follows another of type ``X``.
* ``iob2``: every entity begins with ``B-X``, continues with ``I-X``.
* ``bioes``: single-token entities are ``S-X``; longer ones ``B-X I-X… E-X``.

:func:`detect_scheme` tells the schemes apart from the tags themselves, as
NCRF++ and ``spacy convert`` do: any ``S-``/``E-`` prefix means BIOES;
otherwise entities that start with ``I-`` are IOB1 evidence and entities that
start with ``B-`` (other than right after their own type) IOB2 evidence.

Invalid sequences (``I-X`` after ``O`` in IOB2, ``B-X`` with no ``E-X`` in
BIOES, ``B-X`` after ``O`` in IOB1, …) are either rejected with a
:class:`TagError` or repaired. Repair is best-effort and follows one rule for
every scheme, the one conlleval uses for IOB2: a tag that cannot continue the
open entity starts a new one, and an entity left open (BIOES without ``E-``)
ends before the first token that cannot continue it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

Scheme = Literal["iob1", "iob2", "bioes"]
SchemeOrAuto = Literal[Scheme, "auto"]  # "auto": detect the scheme from the tags (see detect_scheme)
Invalid = Literal["repair", "reject"]
Span = tuple[int, int, str]
OnRepair = Callable[[int, str], None]

_PREFIXES: dict[str, frozenset[str]] = {
    "iob1": frozenset("BIO"),
    "iob2": frozenset("BIO"),
    "bioes": frozenset("BIOES"),
}


class TagError(ValueError):
    """An invalid tag or tag sequence; ``index`` is the token's position.

    Kept free of file names so the tag logic stays independent of I/O: readers
    map ``index`` to a line and raise :class:`pipeline.errors.DataError`.
    """

    def __init__(self, index: int | None, message: str) -> None:
        self.index = index
        self.message = message
        super().__init__(message if index is None else f"token {index}: {message}")


def split_tag(tag: str) -> tuple[str, str | None]:
    """Split ``"B-PER"`` into ``("B", "PER")`` and ``"O"`` into ``("O", None)``.

    Strict on purpose: a typo such as ``BPER`` or ``B-`` would otherwise turn
    into a silent new entity type and skew every metric.
    """
    if tag == "O":
        return "O", None
    prefix, dash, label = tag.partition("-")
    if not dash:
        raise TagError(None, f"invalid tag {tag!r}: expected 'O' or PREFIX-TYPE such as 'B-PER'")
    if prefix not in _PREFIXES["bioes"] - {"O"}:
        raise TagError(None, f"invalid tag {tag!r}: unknown prefix {prefix!r} (expected B, I, E or S)")
    if not label:
        raise TagError(None, f"invalid tag {tag!r}: prefix {prefix!r} has no entity type")
    return prefix, label


def is_tag(text: str) -> bool:
    """Whether ``text`` is ``O`` or a well-formed PREFIX-TYPE tag: what tells a ``#`` comment line from a token."""
    try:
        split_tag(text)
    except TagError:
        return False
    return True


class _Builder:
    """Collects spans while scanning tags; at most one entity is open at a time."""

    def __init__(self, invalid: Invalid, on_repair: OnRepair | None) -> None:
        self.spans: list[Span] = []
        self.start = 0
        self.label: str | None = None
        self.invalid = invalid
        self.on_repair = on_repair

    def close(self, end: int) -> None:
        if self.label is not None:
            self.spans.append((self.start, end, self.label))
            self.label = None

    def open(self, index: int, label: str) -> None:
        self.close(index)
        self.start, self.label = index, label

    def problem(self, index: int, message: str) -> None:
        """Raise in ``reject`` mode; otherwise report, and let the caller repair."""
        if self.invalid == "reject":
            raise TagError(index, message)
        if self.on_repair is not None:
            self.on_repair(index, message)


def _iob1_step(b: _Builder, i: int, prefix: str, label: str | None) -> None:
    """IOB1: ``I-X`` opens unless type ``X`` is open; ``B-X`` is only legal right after type ``X``."""
    if prefix == "O":
        b.close(i)
    elif prefix == "I":
        if b.label != label:
            b.open(i, label)
    else:
        if b.label != label:
            b.problem(i, f"B-{label} does not follow an entity of type {label} (IOB1 uses I-{label})")
        b.open(i, label)


def _iob2_step(b: _Builder, i: int, prefix: str, label: str | None) -> None:
    """IOB2: ``B-X`` opens; an ``I-X`` that cannot continue is invalid (repair: it opens)."""
    if prefix == "O":
        b.close(i)
    elif prefix == "B":
        b.open(i, label)
    elif b.label != label:
        b.problem(i, f"I-{label} does not continue an entity of type {label} (expected B-{label})")
        b.open(i, label)


def _bioes_step(b: _Builder, i: int, prefix: str, label: str | None) -> None:
    """BIOES: an entity stays open from ``B-`` to ``E-``; anything else while open, or
    ``I-``/``E-`` with nothing of their type open, is invalid (repair as in IOB2)."""
    continues = prefix in "IE" and b.label == label
    if prefix in "IE" and not continues:
        b.problem(i, f"{prefix}-{label} does not continue an entity of type {label} (expected B-{label} or S-{label})")
    elif b.label is not None and not continues:
        b.problem(i, f"entity of type {b.label} is not closed by E-{b.label}")
    if prefix == "O":
        b.close(i)
    elif not continues:
        b.open(i, label)
    if prefix in "ES":
        b.close(i + 1)


_STEPS = {"iob1": _iob1_step, "iob2": _iob2_step, "bioes": _bioes_step}


def _check(scheme: str, invalid: str = "reject") -> None:
    """Fail fast on a misspelt scheme instead of mis-reading every tag."""
    if scheme not in _STEPS:
        raise ValueError(f"unknown tag scheme {scheme!r} (expected one of {', '.join(get_args(Scheme))})")
    if invalid not in get_args(Invalid):
        raise ValueError(f"invalid must be 'repair' or 'reject', not {invalid!r}")


def _parse(index: int, tag: str, scheme: Scheme) -> tuple[str, str | None]:
    """:func:`split_tag` plus the scheme's prefix set, with the token index attached."""
    try:
        prefix, label = split_tag(tag)
    except TagError as err:
        raise TagError(index, err.message) from None
    if prefix not in _PREFIXES[scheme]:
        raise TagError(index, f"tag {tag!r}: prefix {prefix!r} does not exist in {scheme}: is the file in another tag scheme?")
    return prefix, label


def spans_from_tags(
    tags: Sequence[str],
    scheme: Scheme,
    invalid: Invalid = "repair",
    on_repair: OnRepair | None = None,
) -> list[Span]:
    """Decode ``tags`` into entity spans, sorted by start.

    Malformed tags (``X-PER``, ``B-``) are always a :class:`TagError`: there is
    no sensible repair. Invalid *sequences* raise with ``invalid="reject"``;
    with ``"repair"`` they are fixed (see the module docstring) and
    ``on_repair(index, message)`` is told, so a reader can warn with file:line.
    """
    _check(scheme, invalid)
    builder = _Builder(invalid, on_repair)
    step = _STEPS[scheme]
    for i, tag in enumerate(tags):
        if tag == "O" and builder.label is None:  # the common case, a no-op in every scheme: skip parsing it
            continue
        step(builder, i, *_parse(i, tag, scheme))
    if scheme == "bioes" and builder.label is not None:
        builder.problem(len(tags) - 1, f"entity of type {builder.label} is not closed by E-{builder.label}")
    builder.close(len(tags))
    return builder.spans


def _entity_tags(length: int, label: str, scheme: Scheme, touches_same: bool) -> list[str]:
    """The tags of one entity of ``length`` tokens in ``scheme``."""
    if scheme == "bioes":
        return [f"S-{label}"] if length == 1 else [f"B-{label}"] + [f"I-{label}"] * (length - 2) + [f"E-{label}"]
    first = "I" if scheme == "iob1" and not touches_same else "B"
    return [f"{first}-{label}"] + [f"I-{label}"] * (length - 1)


def tags_from_spans(spans: Sequence[Span], length: int, scheme: Scheme) -> list[str]:
    """Encode sorted, non-overlapping ``spans`` over ``length`` tokens as tags.

    The inverse of :func:`spans_from_tags`. Bad spans are a ``ValueError``:
    they come from code, not from a data file.
    """
    _check(scheme)
    tags = ["O"] * length
    prev_end, prev_label = 0, None
    for start, end, label in spans:
        if not (prev_end <= start < end <= length) or not label:
            raise ValueError(f"span {(start, end, label)!r} is empty, overlaps, is unsorted or exceeds length {length}")
        touches_same = start == prev_end and label == prev_label
        tags[start:end] = _entity_tags(end - start, label, scheme, touches_same)
        prev_end, prev_label = end, label
    return tags


def convert(
    tags: Sequence[str],
    source: Scheme,
    target: Scheme,
    invalid: Invalid = "repair",
    on_repair: OnRepair | None = None,
) -> list[str]:
    """Re-tag ``tags`` from ``source`` to ``target`` through spans (same entities)."""
    spans = spans_from_tags(tags, source, invalid, on_repair)
    return tags_from_spans(spans, len(tags), target)


@dataclass(frozen=True)
class Detection:
    """The tag scheme found in some tags, and ``reason``: one short sentence with the counts that decided it."""

    scheme: Scheme
    reason: str


def _starts(count: int, prefix: str) -> str:
    """``1 entity starts with B-`` / ``4,310 entities start with B-``."""
    return f"{count:,} {'entity starts' if count == 1 else 'entities start'} with {prefix}-"


class SchemeEvidence:
    """Tallies, one sentence at a time, what tells IOB1, IOB2 and BIOES apart, so a file can be detected
    while it streams.

    ``bioes`` counts ``S-``/``E-`` tags; ``iob1`` entities opened by ``I-X``
    (at the sentence start, after ``O`` or after another type); ``iob2``
    entities opened by ``B-X`` in those places. ``B-X`` right after type ``X``
    is legal in both IOB schemes and counts for neither.
    """

    def __init__(self) -> None:
        self.bioes = self.iob1 = self.iob2 = 0

    def add(self, tags: Sequence[str]) -> None:
        """Count one sentence's tags; a malformed tag is a :class:`TagError` with its index."""
        previous: str | None = None
        for i, tag in enumerate(tags):
            if tag == "O":
                previous = None
                continue
            prefix, label = _parse(i, tag, "bioes")
            if prefix in "SE":
                self.bioes += 1
            elif label != previous:
                if prefix == "I":
                    self.iob1 += 1
                else:
                    self.iob2 += 1
            previous = label

    def detection(self) -> Detection:
        """The scheme the counts point to: BIOES on any ``S-``/``E-``, else the IOB scheme with more evidence.

        No evidence at all (only ``O``) means IOB2, today's common default; a
        tie goes to IOB2 as well. The minority's entity starts are repaired
        when the file is read in the chosen scheme, and the reason says so.
        """
        if self.bioes:
            plural = "" if self.bioes == 1 else "s"
            return Detection("bioes", f"BIOES: {self.bioes:,} tag{plural} with the S- or E- prefix")
        if not self.iob1 and not self.iob2:
            return Detection("iob2", "IOB2 by default: there are no entity tags")
        scheme: Scheme = "iob1" if self.iob1 > self.iob2 else "iob2"
        ours, theirs = ("I", "B") if scheme == "iob1" else ("B", "I")
        won, lost = (self.iob1, self.iob2) if scheme == "iob1" else (self.iob2, self.iob1)
        note = " (a tie goes to IOB2; repaired)" if won == lost else " (repaired)" if lost else ""
        return Detection(scheme, f"{scheme.upper()}: {_starts(won, ours)}, {lost:,} with {theirs}-{note}")


def detect_scheme(sequences: Iterable[Sequence[str]]) -> Detection:
    """The tag scheme of ``sequences`` (one tag list per sentence), from the tags alone (see :class:`SchemeEvidence`)."""
    evidence = SchemeEvidence()
    for tags in sequences:
        evidence.add(tags)
    return evidence.detection()
