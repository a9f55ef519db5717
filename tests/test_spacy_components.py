"""The spaCy components ``w2v_ner`` and ``w2v_textcat`` on tiny models trained in seconds.

The models (the ``ner_model``, ``textcat_model`` and ``nlp`` fixtures of
``conftest.py``) are trained with the project's own training code on a
handful of marked-up sentences and reviews, so they predict real entities
and classes; the tests check the spaCy protocol around them (saving,
loading, batching, alignment, scoring), not the models' quality.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import spacy
from conftest import MARKED, REVIEWS, gold_doc, iob2, parse_marked
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from typer.testing import CliRunner

from pipeline import paths
from pipeline.predict.ner import NerPredictor
from pipeline.spacy_components.errors import ComponentError
from pipeline.spacy_components.ner import segments, sentence_starts
from pipeline.spacy_components.pipeline_builder import assemble, build_pipeline
from pipeline.spacy_components.scoring import evaluate_stream

BLANK = spacy.blank("en")


def texts() -> list[str]:
    return [parse_marked(m)[0] for m in MARKED]


pytestmark = pytest.mark.usefixtures("one_thread")


def annotations(doc: Doc) -> tuple:
    """Everything the components write, comparable across pipelines and processes."""
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents], {k: round(v, 6) for k, v in doc.cats.items()}


def test_add_pipe_on_blank_sets_ents_and_cats(nlp):
    doc = nlp(texts()[0])
    assert [(e.text, e.label_) for e in doc.ents] == [("Angela Merkel", "PER"), ("Paris", "LOC")]
    assert set(doc.cats) == {"neg", "pos"} and sum(doc.cats.values()) == pytest.approx(1.0)
    assert nlp("a wonderful and great film").cats["pos"] > 0.5 > nlp("an awful boring movie").cats["pos"]
    assert nlp.get_pipe("w2v_ner").labels == ("LOC", "ORG", "PER")


def test_to_disk_then_spacy_load_gives_identical_annotations(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "w2v_ner" / "model" / "model.safetensors").is_file()
    assert (tmp_path / "pipe" / "w2v_textcat" / "model" / "vocab.json").is_file()
    loaded = spacy.load(tmp_path / "pipe")
    assert loaded.pipe_names == ["w2v_ner", "w2v_textcat"]
    assert [annotations(d) for d in loaded.pipe(texts())] == [annotations(d) for d in nlp.pipe(texts())]


def test_built_pipeline_names_no_path_and_survives_its_models_moving(ner_model, textcat_model, tmp_path):
    import shutil

    ner_copy, textcat_copy = shutil.copytree(ner_model, tmp_path / "n"), shutil.copytree(textcat_model, tmp_path / "t")
    built = build_pipeline(ner_copy, textcat_copy, tmp_path / "spacy_pipeline")
    expected = [annotations(d) for d in built.pipe(texts())]
    shutil.rmtree(ner_copy), shutil.rmtree(textcat_copy)
    config = (tmp_path / "spacy_pipeline" / "config.cfg").read_text()
    assert str(tmp_path) not in config and "model = null" in config
    loaded = spacy.load(tmp_path / "spacy_pipeline")
    assert [annotations(d) for d in loaded.pipe(texts())] == expected
    loaded.to_disk(tmp_path / "spacy_pipeline")  # saving onto itself keeps the model files
    assert [annotations(d) for d in spacy.load(tmp_path / "spacy_pipeline").pipe(texts())] == expected


def test_pipe_equals_single_calls(nlp):
    batch = texts() + ["", "Paris !", texts()[1] * 3]
    assert [annotations(d) for d in nlp.pipe(batch, batch_size=3)] == [annotations(nlp(t)) for t in batch]


@pytest.mark.parametrize("text", ["", "   ", " \n\n\t  \n"])
def test_empty_and_whitespace_only_docs(nlp, text):
    doc = nlp(text)
    assert doc.ents == () and sum(doc.cats.values()) == pytest.approx(1.0)


def test_emoji_and_non_latin_text(nlp):
    text = "Angela Merkel 😀 visited Paris 🎉 , then 東京 and Москва — naïve café !"
    doc = nlp(text)
    assert ("Angela Merkel", "PER") in [(e.text, e.label_) for e in doc.ents]
    for ent in doc.ents:
        assert text[ent.start_char : ent.end_char] == ent.text


def test_n_process_2_equals_n_process_1(nlp):
    batch = texts()[:4]
    one = [annotations(d) for d in nlp.pipe(batch, batch_size=2, n_process=1)]
    assert [annotations(d) for d in nlp.pipe(batch, batch_size=2, n_process=2)] == one


def test_long_doc_is_segmented_and_tagged_like_its_sentences(nlp):
    sentence = texts()[0]
    single = nlp(sentence)
    sentences = " ".join([sentence] * 1100)
    doc = nlp(sentences + " " + "paris " * 1000)
    assert len(doc) > 10_000
    sentence_ents = [e for e in doc.ents if e.end_char <= len(sentences)]
    assert len(sentence_ents) == 1100 * len(single.ents)
    assert all(len(segment) <= 200 for segment in segments([t.text for t in doc], 200))


def test_segments_skip_whitespace_and_cut_at_sentence_ends():
    doc = BLANK.make_doc("One two .  Three? Four\n\nfive six seven eight")
    words = [[doc[i].text for i in seg] for seg in segments([t.text for t in doc], 3)]
    assert words == [["One", "two", "."], ["Three", "?"], ["Four", "five", "six"], ["seven", "eight"]]


def test_segments_follow_the_docs_sentences_where_set(nlp):
    words = ["One", "two", "three", " ", "Four", "five", ".", "six"]
    starts = [True, False, True, True, False, False, False, False]
    assert segments(words, 3, starts) == [[0, 1], [2], [4, 5, 6], [7]]
    doc = Doc(nlp.vocab, words=words, sent_starts=starts)
    assert sentence_starts(doc) == starts and sentence_starts(nlp.make_doc("No sentences set .")) is None


def test_evaluate_stream_scores_as_nlp_evaluate(nlp):
    keys = ("ents_p", "ents_r", "ents_f", "ents_per_type", "cats_score", "cats_macro_f", "cats_macro_auc",
            "cats_f_per_type")
    expected = nlp.evaluate(scoring_examples(nlp))
    streamed = evaluate_stream(nlp, iter(scoring_examples(nlp)), batch_size=3)
    assert {k: streamed[k] for k in keys} == {k: expected[k] for k in keys}
    examples = scoring_examples(nlp)
    apart = (evaluate_stream(nlp, iter(examples[: len(MARKED)]), pipes=["w2v_ner"])
             | evaluate_stream(nlp, iter(examples[len(MARKED) :]), pipes=["w2v_textcat"]))
    assert {k: apart[k] for k in keys} == {k: expected[k] for k in keys} and nlp.pipe_names == ["w2v_ner", "w2v_textcat"]
    assert evaluate_stream(nlp, iter([])) == {}


def test_entity_offsets_round_trip_with_the_project_tokenizer(nlp, ner_model):
    """Same entities, same character offsets as tagging the project tokenizer's tokens directly."""
    predictor = NerPredictor.load(ner_model)
    for text in texts() + ["Shares of Deutsche  Bank rose in New\nYork ."]:
        doc = nlp(text)
        direct = [(e["start_char"], e["end_char"], e["label"]) for e in predictor.predict_text(text)["entities"]]
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == direct
        for ent in doc.ents:
            span = doc.char_span(ent.start_char, ent.end_char)
            assert (span.start, span.end, span.text) == (ent.start, ent.end, text[ent.start_char : ent.end_char])
    assert sum(len(nlp(t).ents) for t in texts()) >= 15


def test_existing_entities_kept_or_overwritten(ner_model):
    for overwrite in (True, False):
        nlp = spacy.blank("en")
        nlp.add_pipe("w2v_ner", config={"model": str(ner_model), "overwrite_ents": overwrite})
        doc = nlp.make_doc(texts()[0])
        doc.ents = [Span(doc, 0, 1, label="CUSTOM")]
        labels = [e.label_ for e in nlp.get_pipe("w2v_ner")(doc).ents]
        assert labels == (["PER", "LOC"] if overwrite else ["CUSTOM", "LOC"])


def scoring_examples(nlp) -> list[Example]:
    """Gold entities on the marked sentences, gold cats on the reviews."""
    examples = [Example(nlp.make_doc(g.text), g) for g in map(gold_doc, MARKED)]
    for label, rows in REVIEWS.items():
        for text in rows:
            reference = nlp.make_doc(text)
            reference.cats = {"pos": float(label == "pos"), "neg": float(label == "neg")}
            examples.append(Example(nlp.make_doc(text), reference))
    return examples


def test_evaluate_reports_ents_and_cats(nlp):
    scores = nlp.evaluate(scoring_examples(nlp))
    assert scores["ents_f"] > 0.8 and set(scores["ents_per_type"]) == {"LOC", "ORG", "PER"}
    assert scores["cats_score"] == pytest.approx(1.0) and "cats_macro_auc" in scores


def test_spacy_evaluate_on_a_docbin(nlp, tmp_path):
    from spacy.cli.evaluate import evaluate

    nlp.to_disk(tmp_path / "pipe")
    DocBin(docs=[e.reference for e in scoring_examples(nlp)], store_user_data=True).to_disk(tmp_path / "test.spacy")
    scores = evaluate(str(tmp_path / "pipe"), tmp_path / "test.spacy", silent=True)
    assert scores["ents_f"] > 0.8 and scores["cats_score"] == pytest.approx(1.0)


def test_missing_model_path_is_named(tmp_path):
    missing = tmp_path / "no_such_model"
    with pytest.raises(ComponentError, match=re.escape(str(missing))):
        spacy.blank("en").add_pipe("w2v_ner", config={"model": str(missing)})
    (tmp_path / "empty").mkdir()
    with pytest.raises(ComponentError, match="not a sentiment model directory: model.safetensors, config.json"):
        spacy.blank("en").add_pipe("w2v_textcat", config={"model": str(tmp_path / "empty")})


def test_component_without_model_or_with_bad_settings_says_how_to_fix(ner_model):
    nlp = spacy.blank("en")
    nlp.add_pipe("w2v_textcat")
    with pytest.raises(ComponentError, match=r"\[W2V003\].*config=\{'model': PATH\}"):
        nlp("text")
    with pytest.raises(ComponentError, match="'batch_size' is 0"):
        spacy.blank("en").add_pipe("w2v_ner", config={"model": str(ner_model), "batch_size": 0})
    with pytest.raises(ComponentError, match="'quantize' is 'int4'.*none, int8"):
        spacy.blank("en").add_pipe("w2v_ner", config={"model": str(ner_model), "quantize": "int4"})


def test_int8_component_saves_its_setting_and_tags_as_float(nlp, ner_model, tmp_path):
    int8 = spacy.blank("en")
    int8.add_pipe("w2v_ner", config={"model": str(ner_model), "quantize": "int8"})
    int8.to_disk(tmp_path / "int8")
    loaded = spacy.load(tmp_path / "int8")
    assert loaded.get_pipe("w2v_ner").predictor.model.onnx.quantize == "int8"
    expected = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts())]
    assert [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in loaded.pipe(texts())] == expected


def test_displacy_command_writes_html(nlp, tmp_path):
    from pipeline.cli.spacy import spacy_app

    nlp.to_disk(tmp_path / "pipe")
    (tmp_path / "in.txt").write_text(texts()[0] + "\n\n" + texts()[4] + "\n", encoding="utf-8")
    result = CliRunner().invoke(spacy_app, ["displacy", str(tmp_path / "in.txt"), "--pipeline", str(tmp_path / "pipe"),
                                            "--out", str(tmp_path / "out.html")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "Angela Merkel" in html and "PER" in html and "2 document(s)" in result.output
    missing = CliRunner().invoke(spacy_app, ["displacy", "text", "--pipeline", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "nope" in missing.output


def test_package_spacy_stage(ner_model, textcat_model, tmp_path, monkeypatch):
    import shutil

    from pipeline.stages import package_spacy

    shutil.copytree(ner_model, tmp_path / "outputs/ner/model")
    shutil.copytree(textcat_model, tmp_path / "outputs/sentiment/model")
    (tmp_path / "outputs/prepared/ner").mkdir(parents=True)
    (tmp_path / "outputs/prepared/sentiment").mkdir(parents=True)
    gold = [gold_doc(m) for m in MARKED]
    (tmp_path / "outputs/prepared/ner/test.jsonl").write_text(  # two sentences to a document
        "".join(json.dumps({"tokens": [t.text for t in d if not t.is_space], "tags": iob2(d), "doc": n // 2}) + "\n"
                for n, d in enumerate(gold)))
    (tmp_path / "outputs/prepared/sentiment/test.jsonl").write_text(
        "".join(json.dumps({"tokens": t.split(), "label": label}) + "\n" for label, rows in REVIEWS.items() for t in rows))
    (tmp_path / "params.yaml").write_text("tracking:\n  required: true\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.chdir(tmp_path)
    documents = list(package_spacy.ner_examples(assemble(ner_model, textcat_model),
                                                Path("outputs/prepared/ner/test.jsonl")))
    assert len(documents) == (len(gold) + 1) // 2
    assert [len(list(d.predicted.sents)) for d in documents][:1] == [2]
    package_spacy.main()
    metrics = json.loads((tmp_path / "metrics/spacy.json").read_text())
    assert metrics["ents_f"] > 0.8 and metrics["cats_score"] == pytest.approx(1.0)
    import mlflow

    logged = mlflow.search_runs(experiment_names=[paths.SPACY_EXPERIMENT])
    assert len(logged) == 1 and logged["metrics.ents_f"][0] == pytest.approx(metrics["ents_f"])
    assert spacy.load(tmp_path / "spacy_pipeline")("Angela Merkel visited Paris.").ents


def test_to_disk_copies_model_files_but_not_leftover_temp_files(nlp, ner_model, tmp_path):
    """A ``.x.tmp`` left in the model directory by a killed write is not carried into the saved pipeline,
    and saving over an existing pipeline leaves no staging directory behind."""
    leftover = Path(ner_model) / ".model.safetensors.abc.tmp"
    leftover.write_bytes(b"half a file")
    try:
        nlp.to_disk(tmp_path / "p")
        nlp.to_disk(tmp_path / "p")
    finally:
        leftover.unlink()
    saved = tmp_path / "p" / "w2v_ner" / "model"
    assert (saved / "model.safetensors").is_file() and not list(saved.glob(".*"))
    assert not list((tmp_path / "p" / "w2v_ner").glob(".*"))
