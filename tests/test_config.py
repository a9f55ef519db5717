from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from pipeline.config import (
    DataConfig,
    PrepareConfig,
    Word2VecConfig,
    build_section,
    load_section,
)
from pipeline.errors import ConfigError, MissingDataError


def test_data_section_names_files_under_the_root(tmp_path):
    data = load_section(DataConfig, "data", ROOT / "params.yaml")
    assert data.root == Path("data/sample") and data.path(data.ner.train) == Path("data/sample/conll2003/eng.train.gz")
    assert data.sentiment.dev is None and data.path(data.sentiment.dev) is None
    with pytest.raises(ConfigError, match=r"data\.root: .*holds the project itself"):
        build_section(DataConfig, {"root": ".", "ner": {"train": "a"}, "sentiment": {"train": "b"}}, "params.yaml", "data")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"vector_sise": 50}, "word2vec.vector_sise"),  # unknown key (typo)
        ({"window": "wide"}, "word2vec.window"),  # wrong type
        ({"epochs": 0}, "word2vec.epochs"),  # out of range
        ({"sg": 2}, "word2vec.sg"),  # not an allowed value
    ],
)
def test_bad_values_name_the_field(values, field):
    with pytest.raises(ConfigError, match=f"params.yaml: {field}:"):
        build_section(Word2VecConfig, values, "params.yaml", "word2vec")


def test_load_section_reads_yaml(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("word2vec:\n  vector_size: 32\n  sg: 0\n")
    cfg = load_section(Word2VecConfig, "word2vec", params)
    assert (cfg.vector_size, cfg.sg, cfg.window) == (32, 0, 5)


def test_missing_params_file(tmp_path):
    with pytest.raises(MissingDataError, match="params.yaml"):
        load_section(Word2VecConfig, "word2vec", tmp_path / "params.yaml")


def sets(given: object, loaded: object) -> bool:
    """Whether every value in ``given`` (nested dicts from YAML) is the one in ``loaded``."""
    if isinstance(given, dict):
        return isinstance(loaded, dict) and all(k in loaded and sets(v, loaded[k]) for k, v in given.items())
    return given == loaded


def test_repo_params_are_valid():
    """Each section of the committed params.yaml loads, and every value it sets is the value its stage gets."""
    from pipeline.baselines.tfidf import BaselineConfig
    from pipeline.tracking.mlflow_logger import TrackingConfig
    from pipeline.training.ner_task import NerConfig
    from pipeline.training.sentiment_task import SentimentConfig

    sections = {"data": DataConfig, "prepare": PrepareConfig, "word2vec": Word2VecConfig, "ner": NerConfig,
                "sentiment": SentimentConfig, "baseline": BaselineConfig, "tracking": TrackingConfig}
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    assert sections.keys() <= params.keys()
    for name, section in sections.items():
        loaded = load_section(section, name, ROOT / "params.yaml").model_dump(mode="json")
        assert sets(params[name], loaded), (name, params[name], loaded)


def write_profile(tmp_path: Path, overlay: str) -> Path:
    """A params.yaml on the ``full`` profile and its configs/profiles/full.yaml holding ``overlay``."""
    (tmp_path / "configs/profiles").mkdir(parents=True)
    (tmp_path / "configs/profiles/full.yaml").write_text(overlay)
    params = tmp_path / "params.yaml"
    params.write_text("data:\n  profile: full\nner:\n  threads: 1\n  model:\n    word_dropout: 0.3\n    casing: false\n")
    return params


def test_profile_keys_replace_whole_keys(tmp_path):
    from pipeline.training.ner_task import NerConfig

    params = write_profile(tmp_path, "ner:\n  model:\n    hidden_size: 64\n")
    cfg = load_section(NerConfig, "ner", params)
    assert cfg.model.hidden_size == 64 and cfg.threads == 1
    assert (cfg.model.word_dropout, cfg.model.casing) == (NerConfig().model.word_dropout, NerConfig().model.casing)
    assert load_section(NerConfig, "ner", params, profile="sample").model.word_dropout == 0.3


def test_profile_errors_name_the_file(tmp_path):
    from pipeline.training.ner_task import NerConfig

    params = write_profile(tmp_path, "ner:\n  model:\n    hidden_sise: 64\n")
    with pytest.raises(ConfigError, match=r"full\.yaml: ner\.model\.hidden_sise: unknown key"):
        load_section(NerConfig, "ner", params)
    with pytest.raises(ConfigError, match=r"'large' has no file .*profiles: sample, full"):
        load_section(NerConfig, "ner", params, profile="large")
    (tmp_path / "configs/profiles/full.yaml").write_text("ner: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"full\.yaml: ner: must be a mapping"):
        load_section(NerConfig, "ner", params)


def test_full_profile_is_valid():
    from pipeline.training.ner_task import NerConfig
    from pipeline.training.sentiment_task import SentimentConfig

    ner = load_section(NerConfig, "ner", ROOT / "params.yaml", profile="full")
    sentiment = load_section(SentimentConfig, "sentiment", ROOT / "params.yaml", profile="full")
    assert (ner.model.doc_context, ner.train.epochs) == (True, 30)
    assert (sentiment.model.hidden_sizes, sentiment.max_len, sentiment.model.word_dropout) == ([128], 1000, 0.0)
