"""Every case of ``tests/bad_inputs/cases.yaml``: a clear error naming file and line, or a correct parse.

An error case passes only with the PipelineError subclass the manifest names
and a message matching its regex; a bare ``ValueError``, ``UnicodeDecodeError``
or gensim exception escaping a reader fails the test. A representative subset
also runs through the command line, as a user meets it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from pipeline import errors
from pipeline.config import DataConfig, PrepareConfig, Word2VecConfig, load_section
from pipeline.data.conll import read_conll
from pipeline.data.corpus import iter_lines
from pipeline.data.imdb import read_imdb
from pipeline.data.jsonl import read_jsonl
from pipeline.embeddings import word2vec
from pipeline.training.ner_task import NerConfig

BAD = ROOT / "tests" / "bad_inputs"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))["cases"]
CLI_CASES = [case for case in CASES if case.get("cli")]
MIN_ERROR_CASES = 40
SECTIONS = {"data": DataConfig, "prepare": PrepareConfig, "word2vec": Word2VecConfig, "ner": NerConfig}
OLD_OUTPUT = "output of an earlier, successful run\n"


def _conll(path: Path, scheme: str = "iob1", invalid: str = "repair") -> list[dict]:
    return [{"words": s.words, "tags": s.tags} for s in read_conll(path, scheme=scheme, invalid=invalid)]


def _vectors(path: Path) -> dict[str, list[float]]:
    kv = word2vec.load(path)
    return {word: kv[word].tolist() for word in kv.index_to_key}


def _config(path: Path, section: str) -> dict:
    return load_section(SECTIONS[section], section, path).model_dump(mode="json")


LOADERS: dict[str, Callable[..., object]] = {
    "conll": _conll,
    "imdb": lambda path: [dataclasses.asdict(review) for review in read_imdb(path)],
    "corpus": lambda path: list(iter_lines(path)),
    "vectors": _vectors,
    "config": _config,
    "prepared": lambda path: list(read_jsonl(path)),
}


def _long_sentence(path: Path) -> None:
    """10,000 tokens and no blank line: 70 kB, cheaper to write than to commit."""
    path.write_text("word O\n" * 10_000, encoding="utf-8")


def _unclosed_quote(path: Path) -> None:
    """A review opening a quote it never closes, then 170 kB of rows it swallows: past csv's field size limit."""
    rows = "Another fine film.,positive\n" * 6_000
    path.write_text('review,sentiment\n"Unclosed,positive\n' + rows, encoding="utf-8")


GENERATORS: dict[str, Callable[[Path], None]] = {"long_sentence": _long_sentence, "unclosed_quote": _unclosed_quote}


def case_path(case: dict, tmp_path: Path) -> Path:
    """The committed file of ``case``, or one its generator writes under ``tmp_path``."""
    if "generate" not in case:
        return BAD / case["file"]
    path = tmp_path / case["file"]
    path.parent.mkdir(parents=True, exist_ok=True)
    GENERATORS[case["generate"]](path)
    return path


def message_pattern(regex: str, path: Path | str) -> re.Pattern:
    """The manifest's regex with ``{path}`` standing for ``path``, escaped."""
    return re.compile(regex.replace("{path}", re.escape(str(path))))


def case_id(case: dict) -> str:
    return case["file"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_bad_input(case: dict, tmp_path: Path, bad_input_tally: dict[str, int]) -> None:
    """The named PipelineError with a matching message, or a parse equal to ``result`` (and no stray warning)."""
    path = case_path(case, tmp_path)
    load = LOADERS[case["loader"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if case["expect"] == "error":
            with pytest.raises(errors.PipelineError) as info:  # any other exception escapes and fails the test
                load(path, **case.get("args", {}))
        else:
            result = load(path, **case.get("args", {}))
    if case["expect"] == "error":
        assert type(info.value) is getattr(errors, case["error"])
        assert message_pattern(case["match"], path).match(str(info.value)), str(info.value)
    else:
        if "warning" in case:
            assert len(caught) == 1 and message_pattern(case["warning"], path).match(str(caught[0].message))
        else:
            assert not caught, [str(w.message) for w in caught]
        expected = case["result"]
        assert ({k: result[k] for k in expected} if case["loader"] == "config" else result) == expected
    bad_input_tally[case["expect"]] += 1


def test_manifest_is_complete() -> None:
    """Every case is well formed and its error names the file; every committed file belongs to a case."""
    for case in CASES:
        assert case["loader"] in LOADERS and case["expect"] in ("error", "ok"), case
        if case["expect"] == "error":
            assert case["match"].startswith("{path}"), case
            assert issubclass(getattr(errors, case["error"]), errors.PipelineError), case
        else:
            assert "result" in case and "match" not in case, case
        assert ("generate" in case) != (BAD / case["file"]).exists(), case
    claimed = [BAD / case["file"] for case in CASES]
    for file in BAD.rglob("*"):
        if file.is_file() and file.name not in ("cases.yaml", ".gitattributes"):
            assert any(file == path or path in file.parents for path in claimed), f"{file}: in no case"


def test_enough_error_cases() -> None:
    """The issue asks for at least 40 error cases; a corpus shrinking below that is a regression."""
    errors_ = sum(case["expect"] == "error" for case in CASES)
    assert errors_ >= MIN_ERROR_CASES, f"only {errors_} error cases"


# --- the command line: the same files as a user meets them -------------------------------------------

PRESET = """\
model: {{embeddings: {embeddings}, embedding_dim: 3, encoder: rnn, hidden_sizes: [4], bidirectional: false}}
train: {{epochs: 1, batch_size: 2}}
"""
SPLIT = '{"tokens": ["a", "fine", "film"], "label": "pos"}\n{"tokens": ["dull"], "label": "neg"}\n'


@dataclasses.dataclass
class Command:
    """A command line run in ``cwd``; its message names ``shown`` (the path as the command saw it).

    ``outputs`` are files an earlier run left: a failing run must leave them untouched.
    """

    argv: list[str]
    cwd: Path
    shown: Path | str
    outputs: list[Path] = dataclasses.field(default_factory=list)


def _validate(case: dict, path: Path, tmp_path: Path) -> Command:
    """``w2vp validate-conll`` / ``validate-imdb``: read only, nothing to write."""
    if case["loader"] == "imdb":
        return Command(["-m", "pipeline.cli", "validate-imdb", str(path)], tmp_path, path)
    args = case.get("args", {})
    argv = ["-m", "pipeline.cli", "validate-conll", str(path), "--scheme", args.get("scheme", "iob1")]
    return Command(argv + (["--reject-invalid"] if args.get("invalid") == "reject" else []), tmp_path, path)


def _word2vec_stage(case: dict, path: Path, tmp_path: Path) -> Command:
    """The ``word2vec`` DVC stage in a scratch project: the bad file is its corpus or its params.yaml."""
    corpus = tmp_path / "outputs" / "prepared" / "corpus.txt"
    corpus.parent.mkdir(parents=True)
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    corpus.write_text("the cat sat on the mat\n" * 20, encoding="utf-8")
    target = tmp_path / ("params.yaml" if case["loader"] == "config" else corpus)
    shutil.copy(path, target)
    outputs = [tmp_path / "outputs" / "word2vec" / "vectors.bin", tmp_path / "metrics" / "word2vec.json"]
    return Command(["-m", "pipeline.stages.word2vec"], tmp_path, target.relative_to(tmp_path), outputs)


def _sentiment_preset(case: dict, path: Path, tmp_path: Path) -> Command:
    """``w2vp sentiment preset`` in a scratch project: the bad file is its vectors or its training split."""
    vectors = case["loader"] == "vectors"
    preset = tmp_path / "configs" / "presets" / "probe.yaml"
    preset.parent.mkdir(parents=True)
    preset.write_text(PRESET.format(embeddings="frozen" if vectors else "random"), encoding="utf-8")
    splits = tmp_path / "splits"
    splits.mkdir()
    for split in ("train", "dev", "test"):
        (splits / f"{split}.jsonl").write_text(SPLIT, encoding="utf-8")
    shown = path if vectors else Path("splits") / "train.jsonl"
    if not vectors:
        shutil.copy(path, tmp_path / shown)
    argv = ["-m", "pipeline.cli", "sentiment", "preset", "probe", "--data-dir", "splits",
            "--vectors", str(path if vectors else tmp_path / "none.bin"), "--out-dir", "out"]
    outputs = [tmp_path / "out" / "metrics.json", tmp_path / "out" / "model" / "config.json"]
    return Command(argv, tmp_path, shown, outputs)


COMMANDS: dict[str, Callable[[dict, Path, Path], Command]] = {
    "conll": _validate,
    "imdb": _validate,
    "corpus": _word2vec_stage,
    "config": _word2vec_stage,
    "vectors": _sentiment_preset,
    "prepared": _sentiment_preset,
}


def test_command_line_cases_cover_every_kind() -> None:
    assert {case["loader"] for case in CLI_CASES} == set(LOADERS)


@pytest.mark.parametrize("case", CLI_CASES, ids=case_id)
def test_bad_input_on_the_command_line(case: dict, tmp_path: Path) -> None:
    """Exit 1, one ``error:`` line naming the file, no traceback, earlier outputs untouched."""
    work = tmp_path / "project"
    work.mkdir()
    command = COMMANDS[case["loader"]](case, case_path(case, tmp_path), work)
    for output in command.outputs:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(OLD_OUTPUT, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "PIPELINE_DEBUG"} | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, *command.argv], cwd=command.cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert message_pattern(case["match"], command.shown).match(lines[0].removeprefix("error: ")), lines[0]
    for output in command.outputs:
        assert output.read_text(encoding="utf-8") == OLD_OUTPUT, f"{output} was overwritten by a failing run"
