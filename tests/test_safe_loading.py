"""``scripts/check_safe_loading.py`` finds every unpickling load, and a tampered checkpoint is refused unrun."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT

from pipeline.errors import DataError
from pipeline.model_dir import save_weights
from pipeline.training.checkpoint import OPTIMIZER, STATE, load_checkpoint

SCRIPT = ROOT / "scripts" / "check_safe_loading.py"


def check(*paths: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, paths)], cwd=cwd, capture_output=True, text=True)


def plant(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "planted.py"
    path.write_text(source, encoding="utf-8")
    return path


def test_the_committed_tree_passes() -> None:
    proc = check()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no unsafe loads" in proc.stdout


@pytest.mark.parametrize(
    ("source", "reported"),
    [
        ("import torch\ntorch.load(path)\n", "torch.load without weights_only=True"),
        ("import torch\ntorch.load(path, weights_only=False)\n", "torch.load without weights_only=True"),
        ("from torch import load as restore\nrestore(path)\n", "torch.load without weights_only=True"),
        ("import pickle\npickle.load(fh)\n", "pickle.load"),
        ("import pickle\npickle.loads(data)\n", "pickle.loads"),
        ("from pickle import loads\nloads(data)\n", "pickle.loads"),
        ("import cPickle\ncPickle.load(fh)\n", "cPickle.load"),
        ("import yaml\nyaml.load(text)\n", "yaml.load without Loader=yaml.SafeLoader"),
        ("import yaml\nyaml.load(text, Loader=yaml.Loader)\n", "yaml.load without Loader=yaml.SafeLoader"),
        ("import yaml\nyaml.unsafe_load(text)\n", "yaml.unsafe_load"),
        ("import yaml\nyaml.full_load(text)\n", "yaml.full_load"),
        ("import joblib\njoblib.load(path)\n", "joblib.load"),
        ("import numpy as np\nnp.load(path, allow_pickle=True)\n", "numpy.load with allow_pickle enabled"),
        ("from gensim.models import Word2Vec\nWord2Vec.load(path)\n", "Word2Vec.load"),
        ("from gensim.models import KeyedVectors\nKeyedVectors.load(path)\n", "KeyedVectors.load"),
        ("from gensim.models.fasttext import FastText\nFastText.load(path)\n", "FastText.load"),
        # an exemption must give its reason
        ("import torch\ntorch.load(path)  # safe-load: ok\n", "torch.load without weights_only=True"),
    ],
)
def test_unsafe_load_is_reported(tmp_path: Path, source: str, reported: str) -> None:
    proc = check(plant(tmp_path, source), cwd=tmp_path)
    assert proc.returncode == 1
    (line,) = proc.stdout.splitlines()
    assert line.startswith(f"planted.py:2: {reported}"), line


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ntorch.load(p, weights_only=True)\n",
        "import yaml\nyaml.safe_load(text)\nyaml.load(text, Loader=yaml.SafeLoader)\n",
        "from yaml import CSafeLoader, load\nload(text, CSafeLoader)\n",
        "import numpy as np\nnp.load(path)\nnp.load(path, allow_pickle=False)\n",
        "from gensim.models import KeyedVectors\nKeyedVectors.load_word2vec_format(path, binary=True)\n",
        "import pickle\npickle.dumps(obj)\n",
        "import torch\ntorch.load(  # safe-load: ok a fixture this test wrote itself\n    path)\n",
    ],
)
def test_safe_load_passes(tmp_path: Path, source: str) -> None:
    proc = check(plant(tmp_path, source), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: the marker file appearing would prove code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_checkpoint_with_malicious_pickle_is_refused(tmp_path: Path) -> None:
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    directory = tmp_path / "checkpoints" / "epoch-1"
    save_weights(directory, model, {})
    marker = tmp_path / "code-ran"
    torch.save({"optimizer": _Payload(marker), "scheduler": {}}, directory / OPTIMIZER)
    (directory / STATE).write_text("{}", encoding="utf-8")
    expected = rf"{re.escape(str(directory / OPTIMIZER))}: refused to load: it references \S*open, not only tensors"
    with pytest.raises(DataError, match=expected):
        load_checkpoint(directory, model, optimizer, scheduler)
    assert not marker.exists()
