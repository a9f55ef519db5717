"""Fuzzing (hypothesis) with arbitrary unicode: the tokenizer, the tag schemes and the spaCy components.

Text from users is anything: emoji, combining marks, right-to-left
scripts, control characters, whitespace only, one enormous token. None of
it may raise, and every offset handed back must point into the text.
``tests/test_tags.py`` covers round trips over PER/LOC sequences; here the
entity types and the tag strings themselves are arbitrary.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.data.tags import TagError, convert, spans_from_tags, tags_from_spans
from pipeline.data.tokenizer import spacy_tokenizer, tokenize, tokenize_many

SCHEMES = ["iob1", "iob2", "bioes"]
PIECES = [  # fragments hypothesis combines with arbitrary characters: the known troublemakers
    "Angela Merkel", "Paris", " ", "  ", "\n", "\t", "\r\n", "\u00a0", "\u2028", "\u3000", "\x00", "\x1c", "\x7f",
    "😀", "👩‍👩‍👧", "🇩🇪", "e\u0301", "\u0301", "a\u0308\u0323", "שלום", "مرحبا", "\u200f", "\u202e", "\u200b",
    "東京", "Москва", "ﬁ", "İ", "ß", ".", "...", "?!", "U.S.", "'s", "--", "\ufeff", "\ufffd",
]
FUZZ = settings(max_examples=200, deadline=None)
text_strategy = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=30).map("".join),
    # one very long token (no lone surrogates: st.text() leaves them out too, and no decoded file holds one);
    # not longer: spaCy splits a run of punctuation or emoji in time quadratic in its length
    st.builds("{}{}{}".format, st.text(max_size=5), st.characters(exclude_categories=("Cs",)).map(lambda c: c * 1000),
              st.text(max_size=5)),
    st.text(alphabet=" \t\n\r\u00a0\u2028\u3000\x0b\x0c", max_size=50),  # whitespace only
)
prefixed = st.builds("{}-{}".format, st.sampled_from("BIES"), st.text(min_size=1, max_size=6))


# --- tokenizer ------------------------------------------------------------------------------------------------------


@FUZZ
@given(text=text_strategy)
def test_tokenizer_offsets_are_in_order_and_rebuild_the_text(text):
    """spaCy's Doc under the project tokenizer covers the text exactly: each token sits at its offset, in
    order, and tokens plus their trailing whitespace give back the text (entity offsets rely on it)."""
    doc = spacy_tokenizer()(text)
    assert "".join(t.text_with_ws for t in doc) == text
    position = 0
    for token in doc:
        assert token.idx == position and text[token.idx : token.idx + len(token)] == token.text
        position += len(token.text_with_ws)


@FUZZ
@given(text=text_strategy)
def test_project_tokens_are_the_text_minus_whitespace(text):
    """``tokenize`` keeps every non-whitespace character, in order, with nothing between tokens but whitespace,
    and no token is whitespace only (the models never saw one)."""
    tokens = tokenize(text)
    position = 0
    for token in tokens:
        assert token and not token.isspace()
        found = text.index(token, position)
        assert text[position:found].strip() == ""
        position = found + len(token)
    assert text[position:].strip() == ""


@settings(max_examples=50, deadline=None)
@given(texts=st.lists(text_strategy, max_size=8), batch_size=st.integers(1, 4))
def test_tokenize_many_equals_tokenize(texts, batch_size):
    """The batched path (``prepare`` uses it) splits every text as the single-text path does."""
    assert list(tokenize_many(texts, batch_size=batch_size)) == [tokenize(t) for t in texts]


# --- tag schemes ----------------------------------------------------------------------------------------------------


@st.composite
def unicode_spans(draw: st.DrawFn) -> tuple[list[tuple[int, int, str]], int]:
    """Sorted, non-overlapping spans whose entity types are arbitrary text (a dash, an emoji, RTL, ``O``)."""
    types = draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=3))
    pieces = draw(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 4), st.sampled_from(types)), max_size=10))
    spans, position = [], 0
    for gap, length, label in pieces:
        spans.append((position + gap, position + gap + length, label))
        position += gap + length
    return spans, position + draw(st.integers(0, 2))


@pytest.mark.parametrize("scheme", SCHEMES)
@FUZZ
@given(data=unicode_spans())
def test_unicode_entity_types_round_trip(scheme, data):
    """Any non-empty entity type survives encoding and strict decoding in every scheme (the first dash
    separates the prefix, so types may themselves contain dashes, like WORK-OF-ART)."""
    spans, length = data
    assert spans_from_tags(tags_from_spans(spans, length, scheme), scheme, invalid="reject") == spans


@pytest.mark.parametrize("scheme", SCHEMES)
@FUZZ
@given(tags=st.lists(st.one_of(st.just("O"), prefixed), max_size=40))
def test_repair_never_raises_on_well_formed_tags(scheme, tags):
    """With ``invalid='repair'`` any sequence of well-formed tags decodes (only a prefix foreign to the
    scheme, E-/S- in IOB, is an error), and converting it to every scheme gives strictly valid tags."""
    if scheme != "bioes" and any(tag[0] in "ES" for tag in tags):
        with pytest.raises(TagError):
            spans_from_tags(tags, scheme, invalid="repair")
        return
    spans = spans_from_tags(tags, scheme, invalid="repair")
    assert all(0 <= start < end <= len(tags) for start, end, _ in spans)
    for target in SCHEMES:
        assert spans_from_tags(convert(tags, scheme, target), target, invalid="reject") == spans


@pytest.mark.parametrize("scheme", SCHEMES)
@FUZZ
@given(tags=st.lists(st.one_of(st.text(max_size=8), prefixed, st.just("O")), max_size=20))
def test_arbitrary_strings_as_tags_fail_only_with_tag_error(scheme, tags):
    """A corrupt tag column (any string at all) is either decoded or a TagError naming a real token index:
    never an IndexError, KeyError or a silent garbage span."""
    try:
        spans = spans_from_tags(tags, scheme, invalid="repair")
    except TagError as err:
        assert err.index is not None and 0 <= err.index < len(tags)
    else:
        assert all(0 <= start < end <= len(tags) and label for start, end, label in spans)


# --- spaCy components (the ``nlp`` fixture of conftest.py: both components on the tiny trained models) ---------------


@pytest.mark.usefixtures("one_thread")
@settings(max_examples=100, deadline=None)
@given(text=text_strategy)
def test_components_on_arbitrary_text(nlp, text):
    """``nlp(text)`` never raises; entities are sorted, disjoint, inside the text and spell their own text;
    ``doc.cats`` is a probability distribution over the model's classes."""
    doc = nlp(text)
    end = 0
    for ent in doc.ents:
        assert end <= ent.start_char < ent.end_char <= len(text)
        assert doc.text[ent.start_char : ent.end_char] == ent.text and ent.text.strip()
        end = ent.end_char
    assert set(doc.cats) == {"neg", "pos"}
    assert all(0.0 <= p <= 1.0 for p in doc.cats.values()) and sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.usefixtures("one_thread")
@settings(max_examples=30, deadline=None)
@given(texts=st.lists(text_strategy, min_size=1, max_size=6))
def test_pipe_on_arbitrary_texts_equals_single_calls(nlp, texts):
    """Batched ``nlp.pipe`` gives each arbitrary text the same entities and classes as ``nlp(text)``."""
    def annotations(doc):
        return [(e.start_char, e.end_char, e.label_) for e in doc.ents], {k: round(v, 5) for k, v in doc.cats.items()}

    assert [annotations(d) for d in nlp.pipe(texts, batch_size=2)] == [annotations(nlp(t)) for t in texts]
