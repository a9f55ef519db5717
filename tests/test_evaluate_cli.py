"""``w2vp ner evaluate`` and ``w2vp sentiment evaluate`` end to end on the tiny session models, and
``model_directory`` on a local SQLite registry (``models:/NAME@ALIAS`` and ``models:/NAME/VERSION``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import MARKED, REVIEWS, gold_doc, iob2, register
from sklearn.metrics import precision_recall_fscore_support
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.data.tags import convert
from pipeline.errors import MissingDataError
from pipeline.evaluation.ner import entity_scores
from pipeline.predict.ner import NerPredictor
from pipeline.predict.sentiment import SentimentPredictor
from pipeline.tracking.registry import RegistryError, model_directory

runner = CliRunner()
NER_NAME, SENTIMENT_NAME = "test-eval-ner", "test-eval-sentiment"
GOLD = [([t.text for t in doc if not t.is_space], iob2(doc)) for doc in map(gold_doc, MARKED)]
SUPPORT = {"LOC": 9, "ORG": 4, "PER": 7}  # the entities of MARKED


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A project SQLite store in a scratch directory, the tracking URI for the rest of the module; its client."""
    import mlflow
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        patch.delenv("PIPELINE_MLFLOW_OPTIONAL", raising=False)
        patch.delenv("DVC_ROOT", raising=False)
        yield MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
        mlflow.set_tracking_uri(None)  # MlflowLogger set it globally; later modules set their own


def _register(store, kind: str, model_dir: Path, name: str) -> None:
    """Register ``model_dir`` as version 1 of ``name``, the ``champion``, as the evaluation stages would."""
    register(kind, model_dir, {"test_score": 0.5}, name)
    store.set_registered_model_alias(name, "champion", "1")


@pytest.fixture(scope="module")
def ner_registered(store, ner_model: Path) -> None:
    _register(store, "ner", ner_model, NER_NAME)


@pytest.fixture(scope="module")
def sentiment_registered(store, textcat_model: Path) -> None:
    _register(store, "sentiment", textcat_model, SENTIMENT_NAME)


def _conll(tmp_path: Path, scheme: str, separator: str = " ", name: str = "gold.conll") -> Path:
    """MARKED as a CoNLL file in ``scheme``, with a POS-like column between word and tag."""
    path = tmp_path / name
    path.write_text("".join(
        "".join(f"{word}{separator}X{separator}{tag}\n" for word, tag in zip(words, convert(tags, "iob2", scheme)))
        + "\n" for words, tags in GOLD), encoding="utf-8")
    return path


def _rows(output: str) -> dict[str, list[str]]:
    """The table rows of a printed score table, by their first cell."""
    return {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}


def test_model_directory_returns_a_local_directory_as_is(ner_model: Path, tmp_path: Path) -> None:
    assert model_directory(str(ner_model)) == ner_model
    with pytest.raises(MissingDataError, match="nope: not found"):
        model_directory(str(tmp_path / "nope"))
    with pytest.raises(RegistryError, match="expected models:/NAME@ALIAS or models:/NAME/VERSION"):
        model_directory("models:/w2v-ner")


@pytest.mark.parametrize("ref", [f"models:/{NER_NAME}@champion", f"models:/{NER_NAME}/1"])
def test_model_directory_downloads_the_registered_model_directory(ner_registered, ner_model: Path, tmp_path: Path,
                                                                  ref: str) -> None:
    local = model_directory(ref, tmp_path / "dl")
    assert local.is_relative_to(tmp_path / "dl") and (local / "config.json").is_file()
    original = sorted(p.relative_to(ner_model) for p in ner_model.rglob("*") if p.is_file())
    assert sorted(p.relative_to(local) for p in local.rglob("*") if p.is_file()) == original
    assert all((local / p).read_bytes() == (ner_model / p).read_bytes() for p in original)
    assert NerPredictor.load(local).predict_tokens([["Angela", "Merkel"]]) == \
        NerPredictor.load(ner_model).predict_tokens([["Angela", "Merkel"]])


def test_model_directory_downloads_through_a_tracking_server(tracking, ner_model: Path, tmp_path: Path) -> None:
    """Against a server the version's files are ``mlflow-artifacts:`` URIs, fetched through the server."""
    version = register("ner", ner_model, {"test_score": 0.5}, "test-eval-ner-server")
    local = model_directory(f"models:/test-eval-ner-server/{version.version}", tmp_path)
    assert (local / "model.safetensors").read_bytes() == (ner_model / "model.safetensors").read_bytes()


def test_model_directory_names_missing_aliases_and_versions(ner_registered) -> None:
    with pytest.raises(RegistryError, match=r"has no alias 'best' \(aliases: champion\)"):
        model_directory(f"models:/{NER_NAME}@best")
    with pytest.raises(RegistryError, match=f"models:/{NER_NAME}/7: no such registered version"):
        model_directory(f"models:/{NER_NAME}/7")
    with pytest.raises(RegistryError, match="no registered model 'no-such-model'"):
        model_directory("models:/no-such-model@champion")


def test_ner_evaluate_iob1_conll_prints_per_type_rows_and_writes_conlleval_input(ner_model: Path,
                                                                                 tmp_path: Path) -> None:
    source, output = _conll(tmp_path, "iob1"), tmp_path / "out.txt"
    result = runner.invoke(app, ["ner", "evaluate", str(source), "--model", str(ner_model), "--output", str(output)])
    assert result.exit_code == 0, result.output
    predicted = NerPredictor.load(ner_model).predict_tokens([words for words, _ in GOLD])
    expected = entity_scores([tags for _, tags in GOLD], predicted)
    rows = _rows(result.output)
    for label, support in SUPPORT.items():
        assert rows[label] == [f"{expected['per_type'][label][k]:.2f}" for k in ("precision", "recall", "f1")] \
            + [str(support)]
    assert rows["micro"] == ["avg", f"{expected['precision']:.2f}", f"{expected['recall']:.2f}",
                             f"{expected['f1']:.2f}", "20"]
    assert f"{len(GOLD)} sentences, {sum(len(w) for w, _ in GOLD)} tokens: 20 gold entities" in result.output
    sentences = output.read_text(encoding="utf-8").split("\n\n")[:-1]
    assert len(sentences) == len(GOLD)
    for block, (words, tags), guess in zip(sentences, GOLD, predicted):
        lines = [line.split() for line in block.splitlines()]
        assert all(len(line) == 3 for line in lines)
        assert lines == [list(row) for row in zip(words, tags, guess)]  # gold converted from IOB1 to IOB2


def test_ner_evaluate_reads_a_prepared_jsonl_and_chosen_columns_like_the_conll_file(ner_model: Path,
                                                                                   tmp_path: Path) -> None:
    split = tmp_path / "test.jsonl"
    split.write_text("".join(json.dumps({"tokens": w, "tags": t}) + "\n" for w, t in GOLD), encoding="utf-8")
    from_jsonl = runner.invoke(app, ["ner", "evaluate", str(split), "--model", str(ner_model)])
    tabbed = _conll(tmp_path, "bioes", "\t", "gold.tsv")
    from_columns = runner.invoke(app, ["ner", "evaluate", str(tabbed), "--model", str(ner_model),
                                       "--word-column", "0", "--tag-column", "2"])
    assert from_jsonl.exit_code == from_columns.exit_code == 0, from_jsonl.output + from_columns.output
    table = from_jsonl.output.splitlines()[1:]
    assert table == from_columns.output.splitlines()[1:] and len(table) == 1 + 1 + len(SUPPORT) + 2


def test_ner_evaluate_with_a_registered_model(ner_registered, ner_model: Path, tmp_path: Path) -> None:
    source = _conll(tmp_path, "iob2")
    local = runner.invoke(app, ["ner", "evaluate", str(source), "--model", str(ner_model)])
    registered = runner.invoke(app, ["ner", "evaluate", str(source), "--model", f"models:/{NER_NAME}@champion"])
    assert registered.exit_code == 0, registered.output
    assert registered.output.splitlines()[1:] == local.output.splitlines()[1:]


def test_ner_evaluate_errors_are_one_line_and_leave_no_output(ner_model: Path, tmp_path: Path) -> None:
    source, output = _conll(tmp_path, "iob2"), tmp_path / "out.txt"
    result = runner.invoke(app, ["ner", "evaluate", str(source), "--model", str(ner_model), "--tag-column", "3",
                                 "--output", str(output)])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {source}:1: tag column 3 is out of range: the line has 3 columns"
    assert not output.exists()
    missing = runner.invoke(app, ["ner", "evaluate", str(source), "--model", str(tmp_path / "no-model")])
    assert missing.exit_code == 1 and "no-model: not found" in missing.output


def _reviews() -> list[tuple[str, str]]:
    return [(text, label) for label, texts in REVIEWS.items() for text in texts]


def _sentiment_rows(output: str) -> dict[str, list[str]]:
    """The per-class rows: between the ``class`` header and the confusion matrix."""
    table = output.split("\nclass ")[1].split("\nconfusion matrix")[0]
    return {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:]}


def test_sentiment_evaluate_prepared_jsonl(textcat_model: Path, tmp_path: Path) -> None:
    split, output = tmp_path / "test.jsonl", tmp_path / "predictions.jsonl"
    split.write_text("".join(json.dumps({"tokens": t.split(), "label": y}) + "\n" for t, y in _reviews()))
    result = runner.invoke(app, ["sentiment", "evaluate", str(split), "--model", str(textcat_model),
                                 "--output", str(output)])
    assert result.exit_code == 0, result.output
    predictor = SentimentPredictor.load(textcat_model)
    predictions = predictor.predict_tokens([t.split() for t, _ in _reviews()])
    correct = sum(p.label == y for p, (_, y) in zip(predictions, _reviews()))
    assert f"6 examples: accuracy {100 * correct / 6:.2f}, macro-F1" in result.output
    rows = _sentiment_rows(result.output)
    assert predictor.labels == ["neg", "pos"] and list(rows) == ["neg", "pos"]
    assert rows["neg"][-1] == rows["pos"][-1] == "3"
    scores = precision_recall_fscore_support([y for _, y in _reviews()], [p.label for p in predictions],
                                             labels=["neg", "pos"], zero_division=0)
    for i, label in enumerate(["neg", "pos"]):
        assert rows[label][:3] == [f"{100 * scores[k][i]:.2f}" for k in range(3)]
    matrix = result.output.split("confusion matrix (rows: gold, columns: predicted)\n")[1].splitlines()
    assert matrix[0].split() == ["neg", "pos"]
    counts = [[int(n) for n in line.split()[1:]] for line in matrix[1:]]
    assert [sum(row) for row in counts] == [3, 3] and counts[0][0] + counts[1][1] == correct
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(r["line"], r["gold"], r["predicted"]) for r in records] == \
        [(i, y, p.label) for i, ((_, y), p) in enumerate(zip(_reviews(), predictions), start=1)]
    assert records[0]["probability"] == pytest.approx(predictions[0].probability) and "text" not in records[0]


@pytest.mark.parametrize(("name", "delimiter"), [("reviews.csv", ","), ("reviews.tsv", "\t")])
def test_sentiment_evaluate_table_with_named_columns(textcat_model: Path, tmp_path: Path, name: str,
                                                     delimiter: str) -> None:
    table, output = tmp_path / name, tmp_path / "predictions.jsonl"
    table.write_text(f"id{delimiter}review{delimiter}sentiment\n"
                     + "".join(f"{i}{delimiter}\"{t}\"{delimiter}{y}\n" for i, (t, y) in enumerate(_reviews())))
    result = runner.invoke(app, ["sentiment", "evaluate", str(table), "--model", str(textcat_model),
                                 "--text-column", "review", "--label-column", "sentiment", "--output", str(output)])
    assert result.exit_code == 0, result.output
    expected = SentimentPredictor.load(textcat_model).predict_texts([t for t, _ in _reviews()])
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(r["line"], r["text"], r["predicted"]) for r in records] == \
        [(i, t, p.label) for i, ((t, _), p) in enumerate(zip(_reviews(), expected), start=2)]
    wrong = runner.invoke(app, ["sentiment", "evaluate", str(table), "--model", str(textcat_model)])
    assert wrong.exit_code == 1
    assert wrong.output.strip() == (f"error: {table}:1: no column 'text' in the header (columns: id, review, "
                                    "sentiment): set --text-column/--label-column")


def test_sentiment_evaluate_unknown_label_names_file_and_line(textcat_model: Path, tmp_path: Path) -> None:
    split = tmp_path / "test.jsonl"
    split.write_text('{"tokens": ["great"], "label": "pos"}\n\n{"tokens": ["meh"], "label": "neutral"}\n')
    result = runner.invoke(app, ["sentiment", "evaluate", str(split), "--model", str(textcat_model)])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {split}:3: label 'neutral' is not one the model knows (neg, pos)"


def test_sentiment_evaluate_with_a_registered_model(sentiment_registered, textcat_model: Path, tmp_path: Path) -> None:
    split = tmp_path / "test.jsonl"
    split.write_text("".join(json.dumps({"tokens": t.split(), "label": y}) + "\n" for t, y in _reviews()))
    local = runner.invoke(app, ["sentiment", "evaluate", str(split), "--model", str(textcat_model)])
    registered = runner.invoke(app, ["sentiment", "evaluate", str(split), "--model",
                                     f"models:/{SENTIMENT_NAME}@champion"])
    assert registered.exit_code == 0, registered.output
    assert registered.output.splitlines()[1:] == local.output.splitlines()[1:]
