"""What a run prints: progress that fits where it runs, one warning per file, quiet libraries, a one-screen summary."""

import logging
import re
import warnings

import pytest
from mlflow.tracking import MlflowClient
from tqdm import tqdm

from pipeline import progress as progress_module
from pipeline.data.batching import Batches
from pipeline.data.conll import read_conll
from pipeline.progress import LogProgress, progress
from pipeline.runner import configure_output
from pipeline.tracking.summary import WIDTH, summary_lines


def test_a_log_gets_one_line_per_kept_step_with_its_total(monkeypatch, capsys):
    monkeypatch.setenv("PIPELINE_PROGRESS", "log")
    for _ in progress(Batches([[0], [1], [2]], lambda ids: ids), desc="epoch 1", unit="batch", leave=False):
        pass
    for _ in progress(range(4), desc="tokenize", unit="review"):
        pass
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and re.fullmatch(r"tokenize: 4/4 reviews \(100%\), \d+\.\d s", lines[0])


def test_a_long_step_prints_every_interval_with_an_eta(monkeypatch, capsys):
    monkeypatch.setenv("PIPELINE_PROGRESS", "log")
    monkeypatch.setattr(progress_module, "LOG_INTERVAL_S", 0.0)
    bar = progress(total=4, desc="word2vec", unit="epoch", leave=False)
    bar.set_postfix(loss="0.5")
    bar.update(1)
    assert re.fullmatch(r"word2vec: 1/4 epochs \(25%\), [\d.]+ s, eta \d+ s, loss=0.5\n", capsys.readouterr().err)


def test_a_terminal_gets_a_bar_and_a_bad_mode_is_an_error(monkeypatch):
    monkeypatch.setenv("PIPELINE_PROGRESS", "bar")
    bar = progress(Batches([[0], [1]], lambda ids: ids), desc="epoch 1", unit="batch", leave=False)
    assert isinstance(bar, tqdm) and bar.total == 2
    bar.close()
    monkeypatch.setenv("PIPELINE_PROGRESS", "off")
    assert isinstance(progress(range(2), desc="x", unit="y"), LogProgress)
    monkeypatch.setenv("PIPELINE_PROGRESS", "sometimes")
    with pytest.raises(ValueError, match="PIPELINE_PROGRESS='sometimes'"):
        progress(range(2), desc="x", unit="y")


def test_repairs_are_one_warning_per_file_and_each_one_a_verbose_line(tmp_path, caplog):
    path = tmp_path / "iob2.conll"
    path.write_text("".join(f"w{i} O\nName I-PER\n\n" for i in range(7)))
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.INFO, logger="pipeline.data.conll"):
        warnings.simplefilter("always")
        sentences = list(read_conll(path, scheme="iob2"))
    assert len(sentences) == 7 and all(s.tags == ["O", "B-PER"] for s in sentences)
    assert [str(w.message) for w in caught] == [
        f"{path}: 7 IOB2 tags repaired (lines 2, 5, 8, 11, 14, ...; --verbose lists each)"]
    assert [r.getMessage() for r in caplog.records][-1] == f"{path}:20: I-PER does not continue an entity of type PER " \
                                                          "(expected B-PER) (repaired)"
    assert len(caplog.records) == 7


def test_libraries_log_warnings_only_unless_asked(monkeypatch):
    monkeypatch.delenv("PIPELINE_LOG", raising=False)
    configure_output()
    assert logging.getLogger("gensim").level == logging.WARNING == logging.getLogger("mlflow").level
    assert warnings.formatwarning("careful", UserWarning, "x.py", 1) == "warning: careful\n"
    monkeypatch.setenv("PIPELINE_LOG", "info")
    configure_output()
    assert logging.getLogger("gensim").level == logging.INFO
    monkeypatch.setenv("PIPELINE_LOG", "loud")
    with pytest.raises(ValueError, match="PIPELINE_LOG='loud'"):
        configure_output()
    monkeypatch.delenv("PIPELINE_LOG")
    configure_output()


def test_summary_fits_one_screen_and_names_what_is_missing(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "params.yaml").write_text("data:\n  profile: sample\n")
    (tmp_path / "metrics/ner.json").write_text('{"dev_f1": 31.5, "test_f1": 60.25}')
    (tmp_path / "metrics/baseline.json").write_text('{"C": 4.0, "dev_acc_C4": 0.62, "test_accuracy": 0.745}')
    lines = summary_lines(tmp_path, MlflowClient(f"sqlite:///{tmp_path}/mlflow.db"))
    text = "\n".join(lines)
    assert max(map(len, lines)) <= WIDTH and len(lines) < 25
    assert "data profile: sample" in text
    assert re.search(r"w2v-ner\)\s+31\.50\s+60\.25\s+not registered", text)
    assert re.search(r"w2v-sentiment\)\s+-\s+-\s+not evaluated yet", text)
    assert re.search(r"TF-IDF \+ logistic regression\s+0\.620\s+0\.745", text)
    assert "(not written yet: dvc repro report)" in text and "w2vp ner predict" in text


def test_review_counts_give_progress_totals(sample_root, tmp_path):
    from pipeline.data.imdb import count_reviews, read_imdb

    jsonl = sample_root / "aclimdb" / "train.jsonl.gz"
    assert count_reviews(jsonl) == sum(1 for _ in read_imdb(jsonl)) == 500
    tree = tmp_path / "train"
    for label, n in (("pos", 2), ("neg", 3)):
        (tree / label).mkdir(parents=True)
        for i in range(n):
            (tree / label / f"{i}_7.txt").write_text("fine film")
    assert count_reviews(tree) == 5 == sum(1 for _ in read_imdb(tree))
    (tmp_path / "r.csv").write_text('review,sentiment\n"two\nlines",positive\n')
    assert count_reviews(tmp_path / "r.csv") is None
