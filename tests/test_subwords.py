"""fastText vectors: gensim's n-gram vectors exactly, saved without pickle, used for unseen words by the tagger."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from test_ner_model import SENTENCES, TAGS
from test_word2vec import file_project

from pipeline import model_dir
from pipeline.config import Word2VecConfig
from pipeline.embeddings import evaluate, word2vec
from pipeline.embeddings.subwords import Subwords
from pipeline.embeddings.vocab import UNK_ID, build_vocab, embedding_matrix
from pipeline.errors import DataError
from pipeline.models.onnx_encoder import OnnxEncoder
from pipeline.models.tagger import Tagger, TaggerAssets, TaggerConfig, encode_batch

pytestmark = pytest.mark.usefixtures("one_thread")

TEXT = [["john", "lives", "in", "paris", "and", "mary", "lives", "in", "berlin"],
        ["the", "film", "was", "great", "and", "the", "actors", "were", "great"]] * 40
UNSEEN = ["parisian", "johnny", "berliner", "qzxj"]


@pytest.fixture(scope="module")
def fasttext():
    cfg = Word2VecConfig(model="fasttext", vector_size=8, bucket=100_003, min_count=1, workers=1, epochs=2)
    model, _stats = word2vec.train(TEXT, cfg, show_progress=False)
    return model.wv


def test_ngram_vectors_are_gensims(fasttext):
    subwords = Subwords.of(fasttext)
    assert subwords.table.shape == (100_003, 8)
    for word in UNSEEN:
        assert word not in fasttext.key_to_index
        np.testing.assert_array_equal(subwords.vector(word), fasttext.get_vector(word))
    assert not subwords.vector("").any()


def test_vectors_and_table_load_back_exactly_and_word2vec_removes_a_stale_table(tmp_path, fasttext):
    word2vec.save(fasttext, tmp_path)
    kv = word2vec.load(tmp_path / model_dir.VECTORS)
    loaded = word2vec.load_subwords(tmp_path / model_dir.VECTORS)
    np.testing.assert_array_equal(kv.vectors, fasttext.vectors)
    np.testing.assert_array_equal(loaded.table, fasttext.vectors_ngrams)
    assert (loaded.min_n, loaded.max_n) == (3, 6)
    np.testing.assert_array_equal(loaded.vector("parisian"), fasttext.get_vector("parisian"))
    word2vec.save(kv, tmp_path)  # plain word vectors now: the old table must not be read as theirs
    assert word2vec.load_subwords(tmp_path / model_dir.VECTORS) is None


def test_a_table_that_is_not_plain_float32_is_refused(tmp_path):
    np.save(tmp_path / model_dir.SUBWORDS, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / model_dir.SUBWORDS_CONFIG).write_text('{"min_n": 3, "max_n": 6}')
    with pytest.raises(DataError, match="subwords.npy"):
        Subwords.load(tmp_path)
    np.save(tmp_path / model_dir.SUBWORDS, np.zeros((4, 2), dtype=np.float64))
    with pytest.raises(DataError, match="float32"):
        Subwords.load(tmp_path)


def test_ngram_range_must_not_be_empty():
    with pytest.raises(ValidationError, match="at least min_n"):
        Word2VecConfig(model="fasttext", min_n=4, max_n=3)


def test_training_words_without_a_vector_start_at_their_ngram_vector(fasttext):
    subwords = Subwords.of(fasttext)
    vocab = build_vocab(Counter(["paris", "parisian", "zzzq"]), fasttext, True, True)
    matrix, coverage = embedding_matrix(vocab, 8, fasttext, seed=1, subwords=subwords)
    np.testing.assert_array_equal(matrix[vocab.index["parisian"]], subwords.vector("parisian"))
    np.testing.assert_array_equal(matrix[vocab.index["paris"]], fasttext["paris"])
    plain, _ = embedding_matrix(vocab, 8, fasttext, seed=1)
    assert not np.array_equal(plain[vocab.index["parisian"]], matrix[vocab.index["parisian"]])
    np.testing.assert_array_equal(plain[vocab.index["paris"]], matrix[vocab.index["paris"]])
    assert coverage == plain_coverage(vocab, fasttext)


def plain_coverage(vocab, kv) -> float:
    return sum(w in kv.key_to_index for w in vocab.words[2:]) / (len(vocab) - 2)


def test_oov_rates_count_words_no_ngram_covers(fasttext):
    rates = evaluate.oov_rates(fasttext, ["paris", "parisian", "qzxj", "qzxj"], str, Subwords.of(fasttext))
    assert rates["token_oov"] == 3 / 4 and rates["type_oov"] == 2 / 3
    assert rates["token_oov_subword"] == 2 / 4 and rates["type_oov_subword"] == 1 / 3  # qzxj: no n-gram of any word


def test_word2vec_stage_trains_fasttext_and_reports_subword_oov(tmp_path, monkeypatch):
    from pipeline import paths
    from pipeline.stages import word2vec as stage

    file_project(tmp_path, "  model: fasttext\n  vector_size: 8\n  bucket: 499\n  min_count: 1\n  workers: 1\n")
    (tmp_path / paths.CORPUS).write_text("".join(" ".join(s) + "\n" for s in TEXT))
    monkeypatch.chdir(tmp_path)
    stage.main()
    out = tmp_path / "outputs" / "word2vec"
    assert Subwords.load(out).table.shape == (499, 8)
    metrics = json.loads((tmp_path / "metrics" / "word2vec.json").read_text())
    assert metrics["model"] == "fasttext"
    assert metrics["conll_dev_token_oov"] == 1 / 4  # zzz
    assert 0 <= metrics["conll_dev_token_oov_subword"] <= metrics["conll_dev_token_oov"]
    assert metrics["imdb_test_type_oov_subword"] == 0.0


def tagger_with_subwords(fasttext) -> tuple[Tagger, TaggerAssets]:
    subwords = Subwords.of(fasttext)
    vocab = build_vocab(Counter(t for s in SENTENCES for t in s), fasttext, True, True)
    chars = ["<pad>", "<unk>", *sorted({c for s in SENTENCES for t in s for c in t})]
    assets = TaggerAssets(vocab, chars, TAGS, "bioes", vocab.trained, subwords)
    matrix, _ = embedding_matrix(vocab, 8, fasttext, seed=0, subwords=subwords)
    torch.manual_seed(0)
    cfg = TaggerConfig(word_dim=8, casing_dim=3, char_dim=5, char_size=6, hidden_size=7)
    return Tagger(cfg, assets, matrix).eval(), assets


def test_unseen_words_get_their_ngram_vector_in_torch_and_onnx(fasttext):
    model, assets = tagger_with_subwords(fasttext)
    sentences = [["Parisian", "lives", "in", "Berliner"], ["Johnny", "!"]]
    batch = encode_batch(sentences, assets)
    assert batch.words[0, 0] == UNK_ID and batch.words[0, 3] == UNK_ID and batch.words[1, 0] == UNK_ID
    with torch.inference_mode():
        features = model._features(batch)  # (N,in): tokens sentence after sentence
        np.testing.assert_array_equal(features[0, :8].numpy(), assets.subwords.vector("parisian"))
        np.testing.assert_array_equal(features[4, :8].numpy(), assets.subwords.vector("johnny"))
        np.testing.assert_array_equal(features[1, :8].numpy(), model.words.weight[assets.vocab.index["lives"]])
        expected = model._encode(features, batch)
        torch.testing.assert_close(OnnxEncoder(model)(batch)[batch.mask], expected, rtol=1e-5, atol=1e-5)
    assert encode_batch([["lives", "in"]], assets).subword_at is None  # every word known: nothing to place


def test_assets_keep_the_table_through_save_and_load(tmp_path, fasttext):
    _model, assets = tagger_with_subwords(fasttext)
    assets.save(tmp_path)
    loaded = TaggerAssets.load(tmp_path)
    np.testing.assert_array_equal(loaded.subwords.table, assets.subwords.table)
    np.testing.assert_array_equal(loaded.token_ids("Parisian").subword, assets.token_ids("Parisian").subword)


def test_a_tagger_trained_on_fasttext_vectors_saves_loads_and_tags_unseen_words_alike(tmp_path, fasttext):
    from test_ner_training import RECORDS, config

    from pipeline.atomic import write_json
    from pipeline.predict.ner import NerPredictor
    from pipeline.training.logger import NullLogger
    from pipeline.training.ner_task import train

    word2vec.save(fasttext, tmp_path / "vectors")
    write_json(tmp_path / "vectors" / model_dir.CONFIG, Word2VecConfig(model="fasttext").model_dump(mode="json"))
    result = train(config(epochs=2), RECORDS, RECORDS, tmp_path / "vectors" / model_dir.VECTORS, tmp_path / "out",
                   NullLogger())
    assert (result.model_dir / model_dir.SUBWORDS).exists()
    sentences = [["Johnny", "Smithson", "lives", "in", "Parisian", "Spainland"], ["Mary", "visited", "Berliner"]]
    loaded = NerPredictor.load(result.model_dir, engine="torch")
    assert loaded.assets.token_ids("Parisian").subword is not None
    scored = loaded.predict_scored(sentences)
    onnx = NerPredictor.load(result.model_dir, engine="onnx").predict_scored(sentences)
    assert [tags for tags, _ in onnx] == [tags for tags, _ in scored]
    np.testing.assert_allclose(sum((p for _, p in onnx), []), sum((p for _, p in scored), []), rtol=1e-4)
    batch = encode_batch(sentences, loaded.assets, docs=[0, 1])
    with torch.inference_mode():
        emissions = loaded.model.emissions(batch)[batch.mask].numpy()  # the numpy engine places n-gram vectors too
    numpy_scores, _ = NerPredictor.load(result.model_dir, engine="numpy").fast.scores(sentences, [0, 1])
    np.testing.assert_allclose(numpy_scores, emissions, rtol=1e-4, atol=1e-5)
    Subwords.remove(result.model_dir)  # the same weights with <unk> for the unseen words score them otherwise
    assert NerPredictor.load(result.model_dir, engine="torch").predict_scored(sentences) != scored
