"""The README's "Your own data" steps, run exactly as written, on files this test writes in a repository copy.

The data is nothing the project has seen: a tab-separated IOB2 file with
lower-case hyphenated types and whitespace-only blank lines, no dev file, a
three-class CSV whose columns are named differently, and a plain-text corpus.
The README's YAML block goes into params.yaml, its shell lines run in order,
and its Python block runs last.
"""

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, copy_repo

PEOPLE = ["anna", "boris", "chen", "dara", "emil", "fatima", "gus", "hana"]
WORKS = [["the", "long", "night"], ["blue", "river"], ["a", "quiet", "house"], ["iron", "sky"], ["paper", "moon"]]
VERDICTS = {"good": ["wonderful", "great", "moving", "superb"], "mixed": ["uneven", "okay", "patchy", "fine"],
            "bad": ["awful", "dull", "boring", "terrible"]}
FILLER = ["the", "film", "was", "and", "its", "story", "felt", "really", "quite", "plot", "acting", "ending"]


def section(text: str, title: str) -> str:
    """The README text from heading ``title`` to the next heading of the same level."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of ``language`` in ``text``, in order."""
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def ner_sentence(rng: random.Random) -> list[tuple[str, str]]:
    """``anna watched the long night with boris`` tagged IOB2 with ``person`` and ``creative-work``."""
    person, work, friend = rng.choice(PEOPLE), rng.choice(WORKS), rng.choice(PEOPLE)
    rows = [(person, "B-person"), ("watched", "O")]
    rows += [(word, ("B-" if i == 0 else "I-") + "creative-work") for i, word in enumerate(work)]
    return rows + [("with", "O"), (friend, "B-person"), (".", "O")]


def write_ner(path: Path, sentences: int, rng: random.Random) -> None:
    """Tab-separated two-column IOB2 with blank lines that hold only whitespace."""
    lines = []
    for _ in range(sentences):
        lines += [f"{word}\t{tag}" for word, tag in ner_sentence(rng)] + [" \t "]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_reviews(path: Path, count: int, rng: random.Random) -> None:
    """A CSV with columns ``review_id,body,verdict`` over three classes."""
    rows = ["review_id,body,verdict"]
    for number in range(count):
        verdict = list(VERDICTS)[number % 3]
        words = [rng.choice(FILLER) for _ in range(8)] + rng.sample(VERDICTS[verdict], 2)
        rng.shuffle(words)
        rows.append(f"r{number},\"{' '.join(words)}, truly.\",{verdict}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_user_files(root: Path) -> None:
    """The files the README's "I have these files" lists."""
    rng = random.Random(7)
    for folder in ("ner", "reviews", "corpus"):
        (root / folder).mkdir(parents=True)
    write_ner(root / "ner" / "train.tsv", 80, rng)
    write_ner(root / "ner" / "test.tsv", 20, rng)
    write_reviews(root / "reviews" / "train.csv", 120, rng)
    write_reviews(root / "reviews" / "test.csv", 45, rng)
    text = [" ".join(w for _, w in ner_sentence(rng)) for _ in range(200)]
    text += [" ".join(rng.choice(FILLER + [w for words in VERDICTS.values() for w in words]) for _ in range(12)) for _ in range(200)]
    (root / "corpus" / "notes.txt").write_text("\n".join(text) + "\n", encoding="utf-8")


def apply_yaml(repo: Path, block: str) -> None:
    """Set the README block's keys in params.yaml: each section's keys replace the same keys."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for name, values in yaml.safe_load(block).items():
        params[name] = {**params.get(name, {}), **values}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.mark.slow
def test_readme_own_data_steps(tmp_path):
    steps = section((ROOT / "README.md").read_text(encoding="utf-8"), "Your own data")
    repo = copy_repo(tmp_path / "repo", without=("outputs", "metrics", "dvc.lock", "mlflow.db", "mlruns", "spacy_pipeline"))
    write_user_files(repo / "data" / "mine")
    (yaml_block,) = blocks(steps, "yaml")
    apply_yaml(repo, yaml_block)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("PIPELINE_PROGRESS", None)
    printed = {}
    for block in blocks(steps, "bash"):
        for line in filter(None, (raw.split("  #")[0].strip() for raw in block.splitlines())):
            proc = subprocess.run(line, shell=True, cwd=repo, env=env, capture_output=True, text=True, check=False)
            assert proc.returncode == 0, f"{line}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
            printed[line] = proc.stdout + proc.stderr
    (python_block,) = blocks(steps, "python")
    used = subprocess.run([sys.executable, "-c", python_block], cwd=repo, env=env, capture_output=True, text=True,
                          check=False)
    assert used.returncode == 0, used.stderr[-3000:]

    check = next(out for line, out in printed.items() if line.startswith("w2vp data check"))
    assert "2 entity types creative-work, person" in check and "iob2" in check and "3 classes bad, good, mixed" in check
    prepared = json.loads((repo / "metrics" / "prepare.json").read_text())
    assert prepared["ner_dev_carved"] == 1 and prepared["ner_dev"] > 0 and prepared["sentiment_classes"] == 3
    ner = json.loads((repo / "metrics" / "ner.json").read_text())
    assert ner["test_f1"] > 50.0  # the patterns are easy: an untrained tagger scores about 0
    sentiment = json.loads((repo / "metrics" / "sentiment.json").read_text())
    assert sentiment["test_accuracy"] > 0.5 and "test_macro_f1" in sentiment  # chance is 1/3
    evaluated = next(out for line, out in printed.items() if line.startswith("w2vp ner evaluate"))
    assert "creative-work" in evaluated and "person" in evaluated
    assert "v1, champion" in next(out for line, out in printed.items() if line.startswith("w2vp summary"))
    assert {"bad", "good", "mixed"} <= set(used.stdout.split())
    compared = json.loads((repo / "benchmarks" / "results" / "own_data.json").read_text())
    assert {"project", "spacy"} <= set(compared["ner"]) and {"project", "tfidf"} <= set(compared["sentiment"])
    assert (repo / "outputs" / "own_data_benchmark" / "pipeline.log").exists()  # its files stay in the project
