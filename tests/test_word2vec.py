import math

import numpy as np

from pipeline import model_dir
from pipeline.config import Word2VecConfig
from pipeline.data.corpus import TokenCorpus
from pipeline.data.imdb import read_imdb
from pipeline.data.tokenizer import tokenize_many
from pipeline.embeddings import evaluate, word2vec
from pipeline.embeddings.normalize import normalize_token, normalizer


def test_normalize_token():
    assert normalize_token("Paris1996", lowercase=True, digits_to_zero=True) == "paris0000"
    assert normalize_token("Paris1996", lowercase=False, digits_to_zero=False) == "Paris1996"


def _sample_corpus(sample_root, tmp_path):
    texts = (r.text for r in read_imdb(sample_root / "aclimdb" / "unsup.jsonl.gz"))
    path = tmp_path / "corpus.txt"
    path.write_text("".join(" ".join(tokens) + "\n" for tokens in tokenize_many(texts)))
    return path


def test_train_save_load_evaluate(sample_root, tmp_path):
    cfg = Word2VecConfig(vector_size=16, epochs=1, min_count=3, workers=1)
    corpus = TokenCorpus(_sample_corpus(sample_root, tmp_path), transform=normalizer(True, True))
    model, stats = word2vec.train(corpus, cfg, show_progress=False)
    assert stats.raw_words == corpus.count_tokens() and stats.words_per_s > 0
    word2vec.save(model.wv, tmp_path / "w2v")
    loaded = word2vec.load(tmp_path / "w2v" / model_dir.VECTORS)
    assert loaded.index_to_key == model.wv.index_to_key
    np.testing.assert_allclose(loaded["film"], model.wv["film"], rtol=1e-6)
    vocab_lines = (tmp_path / "w2v" / model_dir.VECTOR_COUNTS).read_text().splitlines()
    assert vocab_lines[0].split("\t")[0] == model.wv.index_to_key[0]
    assert 0.0 <= evaluate.analogy_accuracy(loaded) <= 1.0
    assert math.isfinite(evaluate.wordsim_spearman(loaded))
    rates = evaluate.oov_rates(loaded, ["film", "Film", "zzzqqq"], normalizer(True, True))
    assert rates == {"token_oov": 1 / 3, "type_oov": 1 / 2}


def test_bad_vectors_file(tmp_path):
    import pytest

    from pipeline.errors import DataError

    bad = tmp_path / "vectors.bin"
    bad.write_bytes(b"not a header\n\x00\x01")
    with pytest.raises(DataError, match="vectors.bin"):
        word2vec.load(bad)


def test_train_file_normalises_once_then_trains(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("The Film of 1996 .\nthe film of 1997 !\n" * 50)
    cfg = Word2VecConfig(vector_size=8, epochs=1, min_count=1, workers=1)
    model, stats = word2vec.train_file(corpus, cfg, show_progress=False)
    assert set(model.wv.key_to_index) == {"the", "film", "of", "0000", ".", "!"}
    assert stats.raw_words == 500 and stats.normalize_seconds > 0
