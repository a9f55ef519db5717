from pathlib import Path

import pytest

from pipeline.config import DATA_ENV, DataConfig, Word2VecConfig, build_section, load_section
from pipeline.errors import ConfigError, MissingDataError


def test_defaults_and_profile_roots(monkeypatch):
    assert DataConfig().root == Path("data/sample")
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert DataConfig(profile="full").root == Path("../shared/data")
    monkeypatch.setenv(DATA_ENV, "/elsewhere")
    assert DataConfig(profile="full").root == Path("/elsewhere")


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


def test_repo_params_are_valid():
    root = Path(__file__).resolve().parents[1]
    assert load_section(Word2VecConfig, "word2vec", root / "params.yaml").epochs >= 1
