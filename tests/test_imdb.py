"""IMDB readers: the committed sample, an aclImdb tree, a CSV and every malformed input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import SAMPLE

from pipeline.data.imdb import Review, clean_text, read_imdb
from pipeline.errors import DataError, MissingDataError

IMDB = SAMPLE / "aclimdb"


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def row(**overrides: object) -> dict:
    return {"id": "train/pos/1", "label": "pos", "rating": 8, "text": "Good film."} | overrides


@pytest.mark.parametrize(("split", "count"), [("train", 500), ("test", 200), ("unsup", 1000)])
def test_sample_counts(split: str, count: int) -> None:
    reviews = list(read_imdb(IMDB / f"{split}.jsonl.gz"))
    assert len(reviews) == count
    assert all("<br" not in r.text for r in reviews)
    assert len({r.id for r in reviews}) == count


def test_sample_labels() -> None:
    train = list(read_imdb(IMDB / "train.jsonl.gz"))
    assert {r.label for r in train} == {"pos", "neg"}
    assert all(1 <= r.rating <= 10 for r in train)
    unsup = list(read_imdb(IMDB / "unsup.jsonl.gz"))
    assert all(r.label is None and r.rating is None for r in unsup)


def test_clean_text() -> None:
    assert clean_text("a<br />b<br/>c<BR>d") == "a b c d"
    assert clean_text("Tom &amp; Jerry &quot;hi&quot;") == 'Tom & Jerry "hi"'
    assert clean_text("  keep   spacing ") == "  keep   spacing "


def test_jsonl_plain_and_gz(tmp_path: Path) -> None:
    rows = [row(text="A &amp; B<br />C"), row(id="unsup/2", label=None, rating=0, text="x")]
    plain = write_jsonl(tmp_path / "r.jsonl", rows)
    gz = tmp_path / "r.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    expected = [Review("train/pos/1", "A & B C", "pos", 8), Review("unsup/2", "x", None, None)]
    assert list(read_imdb(plain)) == expected
    assert list(read_imdb(gz)) == expected


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_acl_tree(tmp_path: Path) -> None:
    split = make_tree(
        tmp_path / "aclImdb" / "train",
        {"pos/10_7.txt": "ten", "pos/9_9.txt": "nine<br />x", "neg/3_2.txt": "bad", "unsup/5_0.txt": "u"},
    )
    (split / "urls_pos.txt").write_text("ignored: not in a label directory")
    assert list(read_imdb(split)) == [
        Review("train/neg/3", "bad", "neg", 2),
        Review("train/pos/9", "nine x", "pos", 9),
        Review("train/pos/10", "ten", "pos", 7),
        Review("train/unsup/5", "u", None, None),
    ]


def test_acl_tree_bad_name(tmp_path: Path) -> None:
    split = make_tree(tmp_path / "train", {"pos/1_9.txt": "ok", "pos/notes.txt": "?"})
    with pytest.raises(DataError, match="notes.txt"):
        list(read_imdb(split))


def test_acl_tree_empty_review(tmp_path: Path) -> None:
    split = make_tree(tmp_path / "train", {"neg/4_1.txt": " <br /> "})
    with pytest.raises(DataError, match=r"4_1\.txt.*empty text"):
        list(read_imdb(split))


def test_not_a_split_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no pos/, neg/ or unsup/"):
        list(read_imdb(tmp_path))


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "IMDB Dataset.csv"
    path.write_text('review,sentiment\n"Great,<br />really &lt;great&gt;",positive\n"Multi\nline",negative\n')
    assert list(read_imdb(path)) == [
        Review("IMDB Dataset/1", "Great, really <great>", "pos", None),
        Review("IMDB Dataset/2", "Multi\nline", "neg", None),
    ]


def test_csv_wrong_header(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nhello,positive\n")
    expected = r"bad\.csv:1: expected columns \['review', 'sentiment'\], found \['text', 'label'\]"
    with pytest.raises(DataError, match=expected):
        list(read_imdb(path))


def test_csv_unknown_sentiment(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("review,sentiment\nfine,positive\nhmm,meh\n")
    with pytest.raises(DataError, match=r"bad\.csv:3: .*unknown label 'meh'"):
        list(read_imdb(path))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "invalid JSON"),
        (row(label="meh"), "unknown label 'meh'"),
        ({"id": "x", "rating": 1, "text": "t"}, "missing key.*label"),
        ({"id": "x", "label": "pos", "rating": 1}, "missing key.*text"),
        (row(text=" <br/> \n"), "empty text"),
        (row(rating=11), "rating must be an integer 0-10"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_jsonl_malformed(tmp_path: Path, bad: object, message: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [row(), bad])
    with pytest.raises(DataError, match=rf"bad\.jsonl:2: .*{message}") as info:
        list(read_imdb(path))
    assert info.value.line == 2


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="nope.jsonl.gz: not found"):
        read_imdb(tmp_path / "nope.jsonl.gz")


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "reviews.parquet"
    path.write_bytes(b"x")
    with pytest.raises(DataError, match="unknown IMDB format"):
        read_imdb(path)
