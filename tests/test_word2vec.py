import itertools
import math
from pathlib import Path

import numpy as np
from conftest import write_sample_corpus
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from pipeline import model_dir
from pipeline.config import Word2VecConfig
from pipeline.data.corpus import TokenCorpus
from pipeline.embeddings import evaluate, word2vec
from pipeline.embeddings.normalize import normalize_token, normalizer


def test_normalize_token():
    assert normalize_token("Paris1996", lowercase=True, digits_to_zero=True) == "paris0000"
    assert normalize_token("Paris1996", lowercase=False, digits_to_zero=False) == "Paris1996"


def test_train_save_load_evaluate(tmp_path):
    cfg = Word2VecConfig(vector_size=16, epochs=1, min_count=3, workers=1)
    corpus = TokenCorpus(write_sample_corpus(tmp_path), transform=normalizer(True, True))
    model, stats = word2vec.train(corpus, cfg, show_progress=False)
    assert stats.raw_words == corpus.count_tokens() and stats.words_per_s > 0
    word2vec.save(model.wv, tmp_path / "w2v")
    loaded = word2vec.load(tmp_path / "w2v" / model_dir.VECTORS)
    assert loaded.index_to_key == model.wv.index_to_key
    np.testing.assert_allclose(loaded["film"], model.wv["film"], rtol=1e-6)
    vocab_lines = (tmp_path / "w2v" / model_dir.VECTOR_COUNTS).read_text().splitlines()
    assert vocab_lines[0].split("\t")[0] == model.wv.index_to_key[0]
    assert evaluate.analogy_accuracy(loaded) == evaluate.analogy_accuracy(model.wv)
    assert math.isfinite(evaluate.wordsim_spearman(loaded))
    rates = evaluate.oov_rates(loaded, ["film", "Film", "zzzqqq"], normalizer(True, True))
    assert rates == {"token_oov": 1 / 3, "type_oov": 1 / 2}


def capital_vectors(shift: int) -> KeyedVectors:
    """Lowercased vectors of the capitals and countries of the analogy set's first section: country ``i`` is the
    unit vector ``e_i``, its capital ``e_(i+shift) + e_n`` (``e_n`` the shared "capital of" direction)."""
    lines = Path(datapath("questions-words.txt")).read_text(encoding="utf-8").splitlines()
    section = itertools.takewhile(lambda line: not line.startswith(":"), lines[1:])
    pairs = sorted({pair for line in section for pair in (tuple(line.split()[:2]), tuple(line.split()[2:]))})
    n = len(pairs)
    eye = np.eye(n + 1, dtype=np.float32)
    kv = KeyedVectors(vector_size=n + 1)
    for i, (capital, country) in enumerate(pairs):
        kv.add_vectors([country.lower(), capital.lower()], np.stack([eye[i], eye[(i + shift) % n] + eye[n]]))
    return kv


def test_analogy_accuracy_counts_the_questions_answered_right():
    """Capital = country + one shared offset answers every covered question (case-insensitively: the vectors are
    lowercase, the questions capitalised); the same words with each capital moved to the next country answer
    almost none. Questions with a word outside the vectors are skipped, not counted wrong."""
    assert evaluate.analogy_accuracy(capital_vectors(shift=0)) == 1.0
    assert evaluate.analogy_accuracy(capital_vectors(shift=1)) < 0.01


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
