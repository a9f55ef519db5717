from pipeline.data.tokenizer import MAX_RUN, pieces, tokenize, tokenize_many


def test_spacy_rules_split_punctuation_and_keep_abbreviations():
    assert tokenize("Angela Merkel's visit to the U.S. cost $3.5 million.") == [
        "Angela", "Merkel", "'s", "visit", "to", "the", "U.S.", "cost", "$", "3.5", "million", ".",
    ]


def test_whitespace_tokens_are_dropped():
    assert tokenize("  two\n\nwords  ") == ["two", "words"]
    assert tokenize("") == []


def test_many_equals_single_calls():
    texts = ["A film.", "", "Not bad - really!"]
    assert list(tokenize_many(texts, batch_size=2)) == [tokenize(t) for t in texts]


def test_long_runs_without_spaces_are_cut_and_keep_every_character():
    """A 20,000-character run of emoji and commas (quadratic for spaCy's affix rules) is cut into ≤ MAX_RUN pieces."""
    run = "🙂," * 10_000
    text = f"Paris {run} Berlin"
    assert all(len(p) <= MAX_RUN for p in pieces(run)) and "".join(pieces(text)) == text
    tokens = tokenize(text)
    assert tokens[0] == "Paris" and tokens[-1] == "Berlin"
    assert "".join(tokens) == text.replace(" ", "")


def test_ordinary_text_is_one_piece():
    text = "See https://example.com/a/very/long/path?with=query&and=more for details."
    assert pieces(text) == [text]


def test_many_equals_single_calls_with_long_runs():
    texts = ["a " + "!" * 450 + " b", "", "Plain text.", "x" * 101]
    assert list(tokenize_many(texts, batch_size=2)) == [tokenize(t) for t in texts]
