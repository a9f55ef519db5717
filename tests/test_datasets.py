"""The ``data`` section's readers and ``prepare`` on users' files: formats, columns, globs, carved dev splits, checksums,
and each bad input as one error naming the file, line or field."""

import hashlib
import json

import pytest
import spacy
from spacy.tokens import Doc, DocBin

from pipeline.config import DataConfig, PrepareConfig, build_section
from pipeline.data.carve import carve_documents
from pipeline.data.conll import Sentence
from pipeline.data.labelled import Columns, read_labelled
from pipeline.data.ner_files import NerFormat, read_ner
from pipeline.data.sources import checksums, expand
from pipeline.errors import ConfigError, DataError, MissingDataError
from pipeline.stages import prepare


def data_config(root, **sections) -> DataConfig:
    values = {"root": str(root), "ner": {"train": "ner.tsv"},
              "sentiment": {"train": "reviews.csv", "text_column": "body", "label_column": "verdict"},
              "corpus": {"files": []}} | sections
    return build_section(DataConfig, values, "params.yaml", "data")


def write_ner(path, sentences: int, types=("person", "creative-work"), docs: bool = False) -> None:
    lines = []
    for number in range(sentences):
        if docs and number % 2 == 0:
            lines += ["-DOCSTART-\tO", ""]
        lines += [f"w{number}\tB-{types[number % len(types)]}", "saw\tO", "it\tO", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_csv(path, rows: list[tuple[str, str]], header="body,verdict") -> None:
    path.write_text("\n".join([header, *(f'"{text}",{label}' for text, label in rows)]) + "\n", encoding="utf-8")


def test_labelled_csv_tsv_jsonl_with_named_columns(tmp_path):
    write_csv(tmp_path / "r.csv", [("Good &amp; fun<br />film", "good"), ("dull, dull", "bad")])
    (tmp_path / "r.tsv").write_text("verdict\tbody\nmeh\tso so\n", encoding="utf-8")
    (tmp_path / "r.jsonl").write_text(json.dumps({"t": "ok", "y": 3, "k": 9}) + "\n", encoding="utf-8")
    csv = list(read_labelled(tmp_path / "r.csv", Columns("body", "verdict")))
    assert [(r.text, r.label, r.id) for r in csv] == [("Good & fun film", "good", "r/1"), ("dull, dull", "bad", "r/2")]
    assert [(r.text, r.label) for r in read_labelled(tmp_path / "r.tsv", Columns("body", "verdict"))] == [("so so", "meh")]
    (one,) = read_labelled(tmp_path / "r.jsonl", Columns("t", "y", "k"))
    assert (one.text, one.label, one.id) == ("ok", "3", "9")  # labels are strings, whatever the file held


@pytest.mark.parametrize(("content", "message"), [
    ("text,label\n", None),  # header only: an empty split is refused later, by prepare
    ("body,stars\nfine,5\n", r"r\.csv:1: no column 'verdict' in the header \(columns: body, stars\)"),
    ('body,verdict\n"fine",\n', r"r\.csv:2: field 'verdict' must be a non-empty label"),
    ("body,verdict\nfine,good,extra\n", r"r\.csv:2: expected 2 fields, found 3"),
])
def test_labelled_errors_name_the_line(tmp_path, content, message):
    (tmp_path / "r.csv").write_text(content, encoding="utf-8")
    if message is None:
        with pytest.raises(DataError, match="no column 'body'"):
            list(read_labelled(tmp_path / "r.csv", Columns("body", "verdict")))
        return
    with pytest.raises(DataError, match=message):
        list(read_labelled(tmp_path / "r.csv", Columns("body", "verdict")))


def test_ner_formats_read_alike(tmp_path):
    write_ner(tmp_path / "a.tsv", 4)
    conll, detection = read_ner(tmp_path / "a.tsv", NerFormat())
    assert detection.scheme == "iob2" and conll[1].tags == ["B-creative-work", "O", "O"]
    with open(tmp_path / "a.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"tokens": s.words, "tags": s.tags}) + "\n" for s in conll)
    jsonl, _ = read_ner(tmp_path / "a.jsonl", NerFormat(format="jsonl"))
    nlp = spacy.blank("en")
    docs = DocBin()
    for s in conll:
        docs.add(Doc(nlp.vocab, words=s.words, ents=s.tags))
    docs.to_disk(tmp_path / "a.spacy")
    docbin, _ = read_ner(tmp_path / "a.spacy", NerFormat(format="spacy"))
    assert [(s.words, s.tags) for s in jsonl] == [(s.words, s.tags) for s in docbin] == [(s.words, s.tags) for s in conll]


def test_ner_jsonl_errors_name_the_line(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"tokens": ["a"], "tags": ["B-x"]}\n{"tokens": ["a", "b"], "tags": ["O"]}\n')
    with pytest.raises(DataError, match=r"a\.jsonl:2: expected non-empty 'tokens' and 'tags' lists"):
        read_ner(tmp_path / "a.jsonl", NerFormat(format="jsonl"))
    (tmp_path / "b.spacy").write_bytes(b"not a docbin")
    with pytest.raises(DataError, match=r"b\.spacy"):
        read_ner(tmp_path / "b.spacy", NerFormat(format="spacy"))


def test_carving_keeps_documents_whole():
    sentences = [Sentence([f"w{i}"], ["O"], "f", i, doc=i // 3) for i in range(30)]
    train, dev = carve_documents(sentences, 0.2, seed=1, source="f")
    assert len(dev) == 6 and not {s.doc for s in dev} & {s.doc for s in train}
    assert carve_documents(sentences, 0.2, seed=1, source="f") == (train, dev)  # seeded
    with pytest.raises(DataError, match=r"leaves 1 training and 0 dev sentences"):
        carve_documents(sentences[:1], 0.1, seed=1, source="f")


def test_globs_folders_and_checksums(tmp_path):
    for name in ("a.txt", "b.txt", "sub/c.txt", "skip.csv"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(name, encoding="utf-8")
    assert [p.name for p in expand(tmp_path, "*.txt")] == ["a.txt", "b.txt"]
    assert [p.name for p in expand(tmp_path, "sub")] == ["c.txt"]
    with pytest.raises(DataError, match="no file matches"):
        expand(tmp_path, "*.gz")
    files = [tmp_path / "a.txt", tmp_path / "b.txt"]
    digests = checksums(tmp_path, files, check=True)  # no SHA256SUMS: recorded, not verified
    assert digests["a.txt"] == hashlib.sha256(b"a.txt").hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{digests['a.txt']}  a.txt\n", encoding="utf-8")
    with pytest.raises(DataError, match="no checksum listed for b.txt"):
        checksums(tmp_path, files, check=True)


def test_prepare_without_dev_or_test(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    write_ner(tmp_path / "data" / "ner.tsv", 40, docs=True)
    write_csv(tmp_path / "data" / "reviews.csv", [(f"text {i}", ["good", "bad", "meh"][i % 3]) for i in range(30)])
    data, cfg = data_config("data"), PrepareConfig(sentiment_dev_split="random")
    inputs = prepare.locate(data)
    ner, info, _ = prepare.read_ner_splits(data, cfg, inputs.ner)
    assert set(ner) == {"train", "dev"} and info["dev"].startswith("carved") and info["types"] == ["creative-work", "person"]
    sentiment, info, _ = prepare.read_sentiment_splits(data, cfg, inputs.sentiment)
    assert set(sentiment) == {"train", "dev"} and info["labels"] == ["bad", "good", "meh"]
    assert sorted(r["label"] for r in sentiment["dev"]) == ["bad", "good", "meh"]  # stratified: one of each


def test_prepare_refuses_bad_data(tmp_path):
    write_ner(tmp_path / "ner.tsv", 10)
    write_csv(tmp_path / "reviews.csv", [("a", "good"), ("b", "good"), ("c", "good")])
    data, cfg = data_config(tmp_path), PrepareConfig()
    with pytest.raises(DataError, match=r"reviews\.csv: one class only \(\['good'\]\)"):
        prepare.read_sentiment_splits(data, cfg, prepare.locate(data).sentiment)
    with pytest.raises(MissingDataError, match="nope.tsv"):
        prepare.locate(data_config(tmp_path, ner={"train": "nope.tsv"}))
    with pytest.raises(ConfigError, match=r"data\.corpus\.files: .*is a test file"):
        prepare.locate(data_config(tmp_path, ner={"train": "ner.tsv", "test": "ner.tsv"}, corpus={"files": ["*.tsv"]}))
    with pytest.raises(DataError, match=r"tag column 5 is out of range"):
        prepare.read_ner_splits(data_config(tmp_path, ner={"train": "ner.tsv", "tag_column": 5}), cfg,
                                {"train": tmp_path / "ner.tsv"})
