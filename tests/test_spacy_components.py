"""The spaCy components ``w2v_ner`` and ``w2v_textcat`` on tiny models trained here in seconds.

The models are trained with the project's own training code on a handful
of marked-up sentences and reviews, so they predict real entities and
classes; the tests check the spaCy protocol around them (saving, loading,
batching, alignment, scoring), not the models' quality.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import spacy
import torch
from gensim.models import KeyedVectors
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from typer.testing import CliRunner

from pipeline import paths
from pipeline.config import build_section
from pipeline.predict.ner import NerPredictor
from pipeline.spacy_components.errors import ComponentError
from pipeline.spacy_components.ner import segments
from pipeline.spacy_components.pipeline_builder import build_pipeline
from pipeline.training.logger import NullLogger
from pipeline.training.ner_task import NerConfig, train
from pipeline.training.sentiment_task import SentimentConfig, train_sentiment

MARKED = [  # [entity text|LABEL]: real sentences with punctuation, hyphens, quotes and numbers
    "[Angela Merkel|PER] visited [Paris|LOC] on 3 May 2021 .",
    '" [Apple Inc.|ORG] " said [Tim Cook|PER] , the [Cupertino|LOC]-based CEO , on Monday .',
    "[Jean-Claude Juncker|PER] met [Boris Johnson|PER] in [Brussels|LOC] ( [Belgium|LOC] ) -- again !",
    "The [U.S.|LOC] economy grew 2.5 % in Q3 , according to the [IMF|ORG] 's report .",
    "Shares of [Deutsche Bank|ORG] rose 1,200 points in [New York|LOC] on Friday .",
    "[Emmanuel Macron|PER] and [Olaf Scholz|PER] spoke in [Berlin|LOC] .",
    "[Siemens|ORG] hired 4,500 workers in [Munich|LOC] last year .",
    "[Serena Williams|PER] won in [London|LOC] 6-3 , 6-4 .",
]
REVIEWS = {
    "pos": ["a great and wonderful film", "brilliant acting , loved it", "wonderful , moving and great fun"],
    "neg": ["an awful and boring movie", "terrible plot , hated it", "boring , dull and awful acting"],
}
BLANK = spacy.blank("en")


def parse_marked(marked: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Plain text and gold entity character spans of a marked-up sentence."""
    text, spans, position = "", [], 0
    for match in re.finditer(r"\[([^|\]]+)\|(\w+)\]", marked):
        text += marked[position : match.start()]
        spans.append((len(text), len(text) + len(match.group(1)), match.group(2)))
        text += match.group(1)
        position = match.end()
    return text + marked[position:], spans


def gold_doc(marked: str) -> Doc:
    """The sentence tokenized by spaCy (the project tokenizer) with its gold entities."""
    text, spans = parse_marked(marked)
    doc = BLANK.make_doc(text)
    doc.ents = [doc.char_span(start, end, label=label) for start, end, label in spans]
    return doc


def iob2(doc: Doc) -> list[str]:
    return [t.ent_iob_ if t.ent_iob_ == "O" else f"{t.ent_iob_}-{t.ent_type_}" for t in doc if not t.is_space]


def texts() -> list[str]:
    return [parse_marked(m)[0] for m in MARKED]


def write_vectors(directory: Path, words: list[str]) -> Path:
    """Tiny random word2vec vectors (plus their normalisation config), with words beyond the training ones."""
    directory.mkdir()
    kv = KeyedVectors(vector_size=16)
    kv.add_vectors(words, np.random.default_rng(0).normal(0, 0.1, (len(words), 16)).astype(np.float32))
    kv.save_word2vec_format(str(directory / "vectors.bin"), binary=True)
    (directory / "config.json").write_text(json.dumps({"lowercase": True, "digits_to_zero": True}))
    return directory / "vectors.bin"


@pytest.fixture(scope="session")
def ner_model(tmp_path_factory) -> Path:
    """A small tagger fitted to MARKED on tiny vectors."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("ner")
    records = [([t.text for t in d if not t.is_space], iob2(d)) for d in map(gold_doc, MARKED)]
    vectors = write_vectors(root / "vectors", sorted({t.lower() for tokens, _ in records for t in tokens} | {"rome", "tokyo"}))
    cfg = build_section(NerConfig, {
        "model": {"word_dim": 16, "casing_dim": 4, "char_dim": 8, "char_size": 16, "hidden_size": 24, "dropout": 0.0},
        "train": {"epochs": 20, "batch_size": 2, "lr": 0.02, "patience": 3},  # stops once it fits MARKED
    }, "test", "ner")
    return train(cfg, records, records, vectors, root / "out", NullLogger()).model_dir


@pytest.fixture(scope="session")
def textcat_model(tmp_path_factory) -> Path:
    """A small binary sentiment classifier fitted to REVIEWS."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("sentiment")
    lines = [json.dumps({"tokens": text.split(), "label": label}) for label, rows in REVIEWS.items() for text in rows]
    for split in ("train", "dev"):
        (root / f"{split}.jsonl").write_text("\n".join(lines * (4 if split == "train" else 1)) + "\n")
    cfg = build_section(SentimentConfig, {
        "model": {"embeddings": "random", "embedding_dim": 16, "hidden_sizes": [16], "dropout": 0.0},
        "train": {"epochs": 8, "batch_size": 4, "lr": 0.01, "patience": 2},
        "max_len": 50,
    }, "test", "sentiment")
    return train_sentiment(cfg, root, None, root / "out", NullLogger()).model_dir


@pytest.fixture(scope="session")
def nlp(ner_model, textcat_model):
    nlp = spacy.blank("en")
    nlp.add_pipe("w2v_ner", config={"model": str(ner_model)})
    nlp.add_pipe("w2v_textcat", config={"model": str(textcat_model)})
    return nlp


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
    (tmp_path / "outputs/prepared/ner/test.jsonl").write_text(
        "".join(json.dumps({"tokens": [t.text for t in d if not t.is_space], "tags": iob2(d)}) + "\n" for d in gold))
    (tmp_path / "outputs/prepared/sentiment/test.jsonl").write_text(
        "".join(json.dumps({"tokens": t.split(), "label": label}) + "\n" for label, rows in REVIEWS.items() for t in rows))
    (tmp_path / "params.yaml").write_text("tracking:\n  required: true\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.chdir(tmp_path)
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
