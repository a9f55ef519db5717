"""Tag schemes: round trips (hypothesis), repair/reject of invalid sequences, CoNLL IOB1 examples, detection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.data.tags import (
    Detection,
    SchemeEvidence,
    TagError,
    convert,
    detect_scheme,
    is_tag,
    spans_from_tags,
    split_tag,
    tags_from_spans,
)

SCHEMES = ["iob1", "iob2", "bioes"]
TYPES = ["PER", "LOC", "ORG", "MISC"]


@st.composite
def span_lists(draw: st.DrawFn) -> tuple[list[tuple[int, int, str]], int]:
    """Sorted, non-overlapping spans and a sentence length; gap 0 makes entities touch,
    and a small type pool makes touching entities of the *same* type common."""
    pieces = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4), st.sampled_from(TYPES)), max_size=8))
    spans, position = [], 0
    for gap, length, label in pieces:
        start = position + gap
        spans.append((start, start + length, label))
        position = start + length
    return spans, position + draw(st.integers(0, 3))


any_tags = st.lists(
    st.one_of(st.just("O"), st.builds("{}-{}".format, st.sampled_from("BIES"), st.sampled_from(["PER", "LOC"]))),
    max_size=12,
)


def _bioes_only(tags: list[str]) -> bool:
    return not any(tag[0] in "ES" for tag in tags)


@pytest.mark.parametrize("scheme", SCHEMES)
@given(data=span_lists())
def test_spans_round_trip(scheme: str, data: tuple[list, int]) -> None:
    spans, length = data
    tags = tags_from_spans(spans, length, scheme)
    assert len(tags) == length
    assert spans_from_tags(tags, scheme, invalid="reject") == spans


@given(data=span_lists())
def test_conversion_chain_preserves_spans(data: tuple[list, int]) -> None:
    spans, length = data
    iob1 = tags_from_spans(spans, length, "iob1")
    iob2 = convert(iob1, "iob1", "iob2", invalid="reject")
    bioes = convert(iob2, "iob2", "bioes", invalid="reject")
    back = convert(bioes, "bioes", "iob1", invalid="reject")
    assert back == iob1
    for tags, scheme in [(iob2, "iob2"), (bioes, "bioes"), (back, "iob1")]:
        assert spans_from_tags(tags, scheme) == spans


@pytest.mark.parametrize("scheme", SCHEMES)
@given(tags=any_tags)
def test_repair_always_yields_valid_spans(scheme: str, tags: list[str]) -> None:
    """Whatever the input, repair gives spans that encode and decode cleanly;
    and reject either raises or agrees with repair without any repair call."""
    if scheme != "bioes" and not _bioes_only(tags):
        with pytest.raises(TagError):
            spans_from_tags(tags, scheme)
        return
    repairs: list[tuple[int, str]] = []
    spans = spans_from_tags(tags, scheme, on_repair=lambda i, m: repairs.append((i, m)))
    assert all(0 <= index < len(tags) for index, _ in repairs)
    assert spans_from_tags(tags_from_spans(spans, len(tags), scheme), scheme, invalid="reject") == spans
    try:
        assert spans_from_tags(tags, scheme, invalid="reject") == spans
        assert repairs == []
    except TagError as err:
        assert repairs and err.index == repairs[0][0]


def test_split_tag() -> None:
    assert split_tag("O") == ("O", None)
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("I-WORK-OF-ART") == ("I", "WORK-OF-ART")


@pytest.mark.parametrize("tag", ["X-PER", "B-", "I-", "BPER", "", "O-PER", "b-PER", "-PER"])
def test_invalid_tag_is_tag_error(tag: str) -> None:
    with pytest.raises(TagError):
        split_tag(tag)
    with pytest.raises(TagError) as info:
        spans_from_tags(["O", tag], "iob2")
    assert info.value.index == 1
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("scheme", ["iob1", "iob2"])
def test_bioes_prefix_in_iob_scheme_is_error(scheme: str) -> None:
    with pytest.raises(TagError, match="does not exist in"):
        spans_from_tags(["S-PER"], scheme)


def test_iob2_i_after_o_repaired_with_callback() -> None:
    calls: list[tuple[int, str]] = []
    spans = spans_from_tags(["O", "I-PER", "I-PER", "I-LOC"], "iob2", on_repair=lambda i, m: calls.append((i, m)))
    assert spans == [(1, 3, "PER"), (3, 4, "LOC")]
    assert [i for i, _ in calls] == [1, 3]
    assert "I-PER" in calls[0][1]


def test_iob2_i_after_o_rejected() -> None:
    with pytest.raises(TagError) as info:
        spans_from_tags(["B-PER", "O", "I-PER"], "iob2", invalid="reject")
    assert info.value.index == 2


@pytest.mark.parametrize(
    ("tags", "spans", "bad"),
    [
        (["B-PER", "I-PER"], [(0, 2, "PER")], [1]),  # B without E, at the end
        (["B-PER", "O"], [(0, 1, "PER")], [1]),  # B without E, before O
        (["O", "I-PER", "E-PER"], [(1, 3, "PER")], [1]),  # I after O
        (["O", "E-PER"], [(1, 2, "PER")], [1]),  # E without B
        (["B-PER", "B-PER", "E-PER"], [(0, 1, "PER"), (1, 3, "PER")], [1]),
        (["B-PER", "E-LOC"], [(0, 1, "PER"), (1, 2, "LOC")], [1]),
        (["B-PER", "S-PER"], [(0, 1, "PER"), (1, 2, "PER")], [1]),
    ],
)
def test_bioes_broken_sequences(tags: list[str], spans: list, bad: list[int]) -> None:
    calls: list[int] = []
    assert spans_from_tags(tags, "bioes", on_repair=lambda i, m: calls.append(i)) == spans
    assert calls == bad
    with pytest.raises(TagError) as info:
        spans_from_tags(tags, "bioes", invalid="reject")
    assert info.value.index == bad[0]


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["I-ORG", "O", "I-MISC", "O", "O", "O", "I-MISC", "O", "O"], [(0, 1, "ORG"), (2, 3, "MISC"), (6, 7, "MISC")]),
        (["I-PER", "I-PER"], [(0, 2, "PER")]),  # Peter Blackburn
        (["I-PER", "I-LOC"], [(0, 1, "PER"), (1, 2, "LOC")]),  # type change starts an entity
        (["I-MISC", "B-MISC", "I-MISC", "O"], [(0, 1, "MISC"), (1, 3, "MISC")]),  # B- where same types touch
    ],
)
def test_iob1_conll_examples(tags: list[str], spans: list) -> None:
    assert spans_from_tags(tags, "iob1", invalid="reject") == spans
    assert tags_from_spans(spans, len(tags), "iob1") == tags


def test_iob1_b_without_same_type_before_is_repaired() -> None:
    calls: list[int] = []
    assert spans_from_tags(["O", "B-PER", "I-PER"], "iob1", on_repair=lambda i, m: calls.append(i)) == [(1, 3, "PER")]
    assert calls == [1]
    with pytest.raises(TagError):
        spans_from_tags(["O", "B-PER"], "iob1", invalid="reject")


def test_tags_from_spans_all_schemes() -> None:
    spans = [(0, 1, "PER"), (1, 3, "PER"), (4, 5, "LOC")]
    assert tags_from_spans(spans, 5, "iob1") == ["I-PER", "B-PER", "I-PER", "O", "I-LOC"]
    assert tags_from_spans(spans, 5, "iob2") == ["B-PER", "B-PER", "I-PER", "O", "B-LOC"]
    assert tags_from_spans(spans, 5, "bioes") == ["S-PER", "B-PER", "E-PER", "O", "S-LOC"]


@pytest.mark.parametrize(
    "spans",
    [[(0, 2, "PER"), (1, 3, "LOC")], [(2, 3, "PER"), (0, 1, "PER")], [(1, 1, "PER")], [(0, 9, "PER")], [(0, 1, "")]],
)
def test_bad_spans_are_value_error(spans: list) -> None:
    with pytest.raises(ValueError, match="span"):
        tags_from_spans(spans, 5, "iob2")


def test_unknown_scheme_or_mode() -> None:
    with pytest.raises(ValueError, match="unknown tag scheme"):
        spans_from_tags(["O"], "bilou")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid must be"):
        spans_from_tags(["O"], "iob2", invalid="ignore")  # type: ignore[arg-type]


def test_empty_sequence() -> None:
    for scheme in SCHEMES:
        assert spans_from_tags([], scheme) == []
        assert tags_from_spans([], 0, scheme) == []


@pytest.mark.parametrize(("sequences", "scheme", "reason"), [
    ([["I-ORG", "O", "I-MISC"], ["I-PER", "I-PER"]], "iob1", "IOB1: 3 entities start with I-, 0 with B-"),
    ([["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]], "iob2", "IOB2: 3 entities start with B-, 0 with I-"),
    ([["B-PER", "E-PER", "O"], ["S-LOC"]], "bioes", "BIOES: 2 tags with the S- or E- prefix"),
    ([["B-PER", "I-PER", "O"], ["S-LOC", "I-LOC"]], "bioes", "BIOES: 1 tag with the S- or E- prefix"),  # S- wins
    ([["O", "O"], [], ["O"]], "iob2", "IOB2 by default: there are no entity tags"),
    ([], "iob2", "IOB2 by default: there are no entity tags"),
    ([["B-PER"], ["B-LOC"], ["O", "I-PER"]], "iob2", "IOB2: 2 entities start with B-, 1 with I- (repaired)"),
    ([["I-PER"], ["I-LOC"], ["O", "B-PER"]], "iob1", "IOB1: 2 entities start with I-, 1 with B- (repaired)"),
    ([["B-PER"], ["I-LOC"]], "iob2", "IOB2: 1 entity starts with B-, 1 with I- (a tie goes to IOB2; repaired)"),
])
def test_detect_scheme(sequences: list, scheme: str, reason: str) -> None:
    assert detect_scheme(sequences) == Detection(scheme, reason)


@pytest.mark.parametrize(("tags", "iob1", "iob2"), [
    (["I-PER", "B-PER", "I-PER"], 1, 0),  # B- right after its own type is legal in both: no evidence
    (["B-PER", "B-PER"], 0, 1),
    (["I-PER", "I-LOC"], 2, 0),  # a type change starts an entity
    (["B-PER", "B-LOC", "I-LOC"], 0, 2),
    (["I-PER", "O", "I-PER"], 2, 0),  # after O
])
def test_scheme_evidence_counts_entity_starts(tags: list[str], iob1: int, iob2: int) -> None:
    evidence = SchemeEvidence()
    evidence.add(tags)
    assert (evidence.iob1, evidence.iob2, evidence.bioes) == (iob1, iob2, 0)


def test_detect_scheme_lower_case_hyphenated_types_and_thousands() -> None:
    found = detect_scheme([["B-creative-work", "I-creative-work", "O", "B-person"]] * 1000 + [["I-person"]])
    assert found == Detection("iob2", "IOB2: 2,000 entities start with B-, 1 with I- (repaired)")


def test_detect_scheme_malformed_tag_is_tag_error_with_index() -> None:
    with pytest.raises(TagError, match="unknown prefix 'X'") as info:
        detect_scheme([["O", "B-PER"], ["O", "O", "X-PER"]])
    assert info.value.index == 2


@pytest.mark.parametrize(("text", "valid"), [("O", True), ("B-PER", True), ("S-creative-work", True),
                                             ("#", False), ("=", False), ("B-", False), ("0", False)])
def test_is_tag(text: str, valid: bool) -> None:
    assert is_tag(text) is valid
