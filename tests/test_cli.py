"""The CLI's contract: user errors are one line naming file:line, exit 1, no traceback unless --debug."""

import subprocess
import sys

from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def test_valid_sample_file(sample_root):
    result = runner.invoke(app, ["validate-conll", str(sample_root / "conll2003" / "eng.testa.gz")])
    assert result.exit_code == 0
    assert "100 sentences" in result.output


def test_malformed_conll_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("EU NNP I-NP I-ORG\nrejects VBZ I-VP X-PER\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "validate-conll", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error: {bad}:2: invalid tag 'X-PER': unknown prefix 'X' (expected B, I, E or S)"]
    assert "Traceback" not in proc.stderr


def test_debug_flag_shows_traceback(tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("EU I-ORG\nrejects B-\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "--debug", "validate-conll", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and f"{bad}:2" in proc.stderr


def test_validate_imdb_counts_labels(sample_root):
    result = runner.invoke(app, ["validate-imdb", str(sample_root / "aclimdb" / "test.jsonl.gz")])
    assert result.exit_code == 0
    assert "neg=100, pos=100" in result.output
