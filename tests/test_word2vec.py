import itertools
import math
from collections import Counter
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


# --- the stage with `source: file` ---------------------------------------------------------------------------------

GLOVE = "Paris 0.5 1.0 -1.5\nfilm 0.25 -0.5 2.0\nthe 1.0 0.0 -0.25\n"


def file_project(root: Path, word2vec_section: str, ner_test: bool = False) -> Path:
    """A scratch project: params.yaml's word2vec section, a GloVe file, prepared NER (dev only) and sentiment splits."""
    import json

    (root / "params.yaml").write_text(f"word2vec:\n{word2vec_section}", encoding="utf-8")
    (root / "glove.txt").write_text(GLOVE, encoding="utf-8")
    splits = {"ner": {"dev": ["Paris", "film", "zzz", "film"]}, "sentiment": {"test": ["the", "film"], "dev": ["x"]}}
    if ner_test:
        splits["ner"]["test"] = ["the"]
    for task, by_split in splits.items():
        directory = root / "outputs" / "prepared" / task
        directory.mkdir(parents=True)
        for split, tokens in by_split.items():
            (directory / f"{split}.jsonl").write_text(json.dumps({"tokens": tokens}) + "\n", encoding="utf-8")
    return root / "glove.txt"


def test_stage_reads_a_vectors_file_instead_of_training(tmp_path, monkeypatch):
    """The usual outputs, from the file; OOV on NER's dev split (it has no test) and sentiment's test split."""
    import hashlib
    import json

    from pipeline.stages import word2vec as stage

    source = file_project(tmp_path, "  source: file\n  path: glove.txt\n  vector_size: 3\n  lowercase: false\n")
    monkeypatch.chdir(tmp_path)
    stage.main()
    out = tmp_path / "outputs" / "word2vec"
    kv = word2vec.load(out / model_dir.VECTORS)
    assert kv.index_to_key == ["Paris", "film", "the"]
    np.testing.assert_array_equal(kv["film"], np.array([0.25, -0.5, 2.0], dtype=np.float32))
    assert (out / model_dir.VECTOR_COUNTS).read_text().splitlines() == ["Paris\t3", "film\t2", "the\t1"]
    config = json.loads((out / model_dir.CONFIG).read_text())
    assert config["source"] == "file" and config["lowercase"] is False and config["digits_to_zero"] is True
    metrics = json.loads((tmp_path / "metrics" / "word2vec.json").read_text())
    assert metrics["source"] == "file" and metrics["format"] == "glove" and metrics["vocab_size"] == 3
    assert metrics["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert metrics["unreachable_words"] == 0
    assert not {"train_seconds", "words_per_s", "raw_words", "normalize_seconds"} & metrics.keys()
    assert {"analogy_accuracy", "wordsim353_spearman"} <= metrics.keys()
    assert metrics["conll_dev_token_oov"] == 1 / 4 and metrics["conll_dev_type_oov"] == 1 / 3
    assert metrics["imdb_test_token_oov"] == 0.0
    assert not any(key.startswith(("conll_test", "imdb_dev")) for key in metrics)


def test_oov_uses_test_when_there_is_one_and_skips_an_unprepared_task(tmp_path, monkeypatch):
    import shutil

    from pipeline.stages import word2vec as stage

    file_project(tmp_path, "", ner_test=True)
    shutil.rmtree(tmp_path / "outputs" / "prepared" / "sentiment")
    monkeypatch.chdir(tmp_path)
    assert stage.oov_splits() == [("conll_test", Path("outputs/prepared/ner/test.jsonl"))]


def test_file_words_normalisation_never_reaches_are_counted_and_warned(tmp_path, monkeypatch):
    import pytest

    from pipeline.config import load_section
    from pipeline.stages import word2vec as stage

    file_project(tmp_path, "  source: file\n  path: glove.txt\n  vector_size: 3\n")  # lowercase: true, yet 'Paris'
    monkeypatch.chdir(tmp_path)
    cfg = load_section(Word2VecConfig, "word2vec")
    with pytest.warns(UserWarning, match=r"1 of the 3 words in glove\.txt are never looked up, e\.g\. 'Paris'"):
        _kv, metrics = stage.from_file(cfg)
    assert metrics["unreachable_words"] == 1


def test_file_source_needs_a_path_and_its_dimension(tmp_path, monkeypatch):
    import pytest

    from pipeline.config import build_section
    from pipeline.errors import ConfigError
    from pipeline.stages import word2vec as stage

    with pytest.raises(ConfigError, match=r"word2vec\.path: .*required when source is 'file'") as info:
        build_section(Word2VecConfig, {"source": "file"}, "params.yaml", "word2vec")
    assert info.value.field == "word2vec.path"
    file_project(tmp_path, "")
    monkeypatch.chdir(tmp_path)
    cfg = Word2VecConfig(source="file", path=Path("glove.txt"), vector_size=100, lowercase=False)
    with pytest.raises(ConfigError, match=r"word2vec\.vector_size: is 100, but glove\.txt holds vectors of dimension 3"):
        stage.from_file(cfg)


def test_trainers_refuse_file_vectors_of_another_dimension(tmp_path, monkeypatch):
    """The stage's file vectors (3 dimensions) against models built for 4: a ConfigError naming the model's field."""
    import pytest

    from pipeline.embeddings.vocab import build_vocab
    from pipeline.errors import ConfigError
    from pipeline.stages import word2vec as stage
    from pipeline.training import ner_task, sentiment_task

    file_project(tmp_path, "  source: file\n  path: glove.txt\n  vector_size: 3\n  lowercase: false\n")
    monkeypatch.chdir(tmp_path)
    stage.main()
    vectors = tmp_path / "outputs" / "word2vec" / model_dir.VECTORS
    ner_cfg = ner_task.NerConfig.model_validate({"model": {"word_dim": 4}})
    with pytest.raises(ConfigError, match=r"ner\.model\.word_dim: is 4 but the vectors have 3 dimensions"):
        ner_task.build_model(ner_cfg, [(["Paris"], ["B-LOC"])], vectors)
    sentiment_cfg = sentiment_task.SentimentConfig.model_validate({"model": {"embedding_dim": 4}, "lowercase": False})
    kv = sentiment_task.load_vectors(vectors, sentiment_cfg)
    vocab = build_vocab(Counter(["film"]), kv, lowercase=False, digits_to_zero=True)
    with pytest.raises(ConfigError, match=r"sentiment\.model\.embedding_dim: is 4, the vectors have 3"):
        sentiment_task.build_model(sentiment_cfg, vocab, kv)


def test_wordsim_without_a_covered_pair_has_no_value():
    """Vectors sharing no WordSim-353 pair (another language, a tiny vocabulary) score None; two pairs score."""
    from conftest import keyed_vectors

    assert evaluate.wordsim_spearman(keyed_vectors(["Katze", "Hund"], dim=3)) is None
    assert math.isfinite(evaluate.wordsim_spearman(keyed_vectors(["Tiger", "cat", "tiger"], dim=3)))


def test_vocab_encode_memo_gives_the_same_ids_and_stays_bounded(tmp_path, monkeypatch):
    from pipeline.embeddings import vocab as vocab_module

    v = vocab_module.Vocab(["<pad>", "<unk>", "paris", "0000"])
    tokens = ["Paris", "PARIS", "1996", "Rome", "Paris"]
    assert v.encode(tokens) == v.encode(tokens) == [2, 2, 3, 1, 2]
    monkeypatch.setattr(vocab_module, "CACHE_SIZE", 2)
    v.encode(["a", "b", "c"])
    assert len(v.ids) == 3  # emptied when full (4 entries), then the 3 new tokens
    v.save(tmp_path / "vocab.json")
    assert vocab_module.Vocab.load(tmp_path / "vocab.json") == v  # the memo is not saved
