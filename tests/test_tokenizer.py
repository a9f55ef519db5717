from pipeline.data.tokenizer import tokenize, tokenize_many


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
