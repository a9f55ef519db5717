"""``data.language``: the tokenizer it names, stored with every model, and refused by a spaCy pipeline of another."""

import shutil

import pytest
import spacy

import pipeline.spacy_components  # noqa: F401  (registers the factories)
from pipeline.config import DataConfig, build_section
from pipeline.data.tokenizer import tokenize
from pipeline.errors import ConfigError
from pipeline.model_dir import model_language, write_data_info
from pipeline.predict.ner import NerPredictor
from pipeline.spacy_components.errors import ComponentError
from pipeline.stages.prepare import locate


def test_models_record_their_language_and_older_ones_read_as_english(ner_model, tmp_path):
    assert model_language(ner_model) == "en"  # trained before the record existed (no data.json)
    german = shutil.copytree(ner_model, tmp_path / "de")
    write_data_info(german, "de")
    assert model_language(german) == "de" and NerPredictor.load(german).language == "de"


def test_a_pipeline_of_another_language_is_refused(ner_model, tmp_path):
    german = shutil.copytree(ner_model, tmp_path / "de")
    write_data_info(german, "de")
    with pytest.raises(ComponentError, match=r"W2V006.*trained on 'de' text.*language is 'en'"):
        spacy.blank("en").add_pipe("w2v_ner", config={"model": str(german)})
    nlp = spacy.blank("de")
    nlp.add_pipe("w2v_ner", config={"model": str(german)})
    assert [t.text for t in nlp("Das Haus.")] == ["Das", "Haus", "."]


def test_tokenizer_follows_the_language():
    assert tokenize("don't", "en") == ["do", "n't"] and tokenize("don't", "de") == ["don't"]


def test_unknown_language_is_a_config_error(tmp_path):
    data = build_section(DataConfig, {"root": str(tmp_path), "language": "zz", "ner": {"train": "a"},
                                      "sentiment": {"train": "b"}}, "params.yaml", "data")
    with pytest.raises(ConfigError, match=r"data\.language: spaCy has no tokenizer for 'zz'"):
        locate(data)
