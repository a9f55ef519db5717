"""Your own data through the pipeline, with spaCy's NER and TF-IDF + LR trained on the same files beside it.

It runs ``dvc repro`` in a project whose ``params.yaml`` ``data`` section names
the files (``--project``; a run that is up to date costs nothing), then trains
spaCy's efficiency ``ner`` on the very splits ``prepare`` wrote (train, and
dev, carved or not) and scores it on the same test split with the same scorer
as the project's tagger. The TF-IDF + LR baseline is the pipeline's own
``baseline_sentiment`` stage, on the same splits. Writes
``benchmarks/results/own_data.json`` (in the project).

Without ``--project`` it builds the default comparison: a fresh clone of this
checkout whose data are CoNLL-2003 and IMDB rewritten the way users' files look
(IOB2, tab-separated, two columns, no dev file; IMDB's ratings grouped into four
classes in a CSV with other column names; the unlabelled reviews as plain text),
trained with the full profile.

    python benchmarks/own_data.py --project . --spacy-epochs 10     # your project, after dvc repro
    python benchmarks/own_data.py --data ../shared/data              # the default comparison (an hour or more)
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import ROOT, load_avg
from spacy_peer import score_spacy, train_spacy

from pipeline import paths
from pipeline.atomic import atomic_open, write_json
from pipeline.data.conll import read_conll
from pipeline.data.imdb import read_imdb
from pipeline.data.splits import read_split
from pipeline.model_dir import read_json_if_written

RESULTS = Path("benchmarks/results/own_data.json")  # relative to the project
CLASSES = {1: "terrible", 2: "terrible", 3: "poor", 4: "poor", 7: "good", 8: "good", 9: "excellent", 10: "excellent"}
DATA_SECTION = {  # the rewritten files, as a user would name them in params.yaml
    "root": "data/own",
    "ner": {"train": "ner/train.tsv", "dev": None, "test": "ner/test.tsv", "format": "conll", "word_column": 0,
            "tag_column": -1, "scheme": "auto"},
    "sentiment": {"train": "reviews/train.csv", "dev": None, "test": "reviews/test.csv", "format": "auto",
                  "text_column": "review_text", "label_column": "stars_class", "id_column": "review_id"},
    "corpus": {"files": ["unlabelled/*.txt"], "labelled_train": True},
}


def write_ner(source: Path, target: Path) -> None:
    """A CoNLL-2003 file as ``word<TAB>IOB2 tag``, its -DOCSTART- lines kept (document boundaries)."""
    with atomic_open(target) as out:
        doc = -1
        for sentence in read_conll(source, scheme="iob1", target="iob2"):
            if sentence.doc != doc:
                out.write("-DOCSTART-\tO\n\n")
                doc = sentence.doc
            out.write("".join(f"{w}\t{t}\n" for w, t in zip(sentence.words, sentence.tags)) + "\n")


def write_reviews(source: Path, target: Path) -> None:
    """IMDB reviews as a CSV ``review_id,review_text,stars_class`` with four classes from their ratings."""
    with atomic_open(target) as out:
        writer = csv.writer(out)
        writer.writerow(["review_id", "review_text", "stars_class"])
        for review in read_imdb(source):
            writer.writerow([review.id, review.text, CLASSES[review.rating]])


def write_unlabelled(source: Path, target: Path) -> None:
    """The unlabelled reviews as plain text, one a line."""
    with atomic_open(target) as out:
        out.writelines(" ".join(review.text.split()) + "\n" for review in read_imdb(source))


def build_project(data: Path, work: Path) -> Path:
    """A clone of this checkout with the rewritten data and its data section, on the full profile."""
    project = work / "project"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(project)], check=True)
    own = project / DATA_SECTION["root"]
    for folder in ("ner", "reviews", "unlabelled"):
        (own / folder).mkdir(parents=True, exist_ok=True)
    write_ner(data / "conll2003" / "eng.train.gz", own / "ner" / "train.tsv")
    write_ner(data / "conll2003" / "eng.testb.gz", own / "ner" / "test.tsv")
    write_reviews(data / "aclimdb" / "train.jsonl.gz", own / "reviews" / "train.csv")
    write_reviews(data / "aclimdb" / "test.jsonl.gz", own / "reviews" / "test.csv")
    write_unlabelled(data / "aclimdb" / "unsup.jsonl.gz", own / "unlabelled" / "reviews.txt")
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["data"] |= DATA_SECTION | {"profile": "full"}
    params["prepare"]["sentiment_dev_split"] = "random"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return project


def run_pipeline(project: Path, log: Path) -> float:
    """``dvc repro`` in ``project``, its output in ``log``; returns the wall seconds."""
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        done = subprocess.run(["dvc", "repro"], cwd=project, env=os.environ | {"PIPELINE_PROGRESS": "log"},
                              stdout=fh, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        sys.exit(f"error: dvc repro exited {done.returncode} in {project}; its output is in {log}")
    return time.perf_counter() - start


def peer_ner(project: Path, work: Path, cap_s: int, epochs: int | None) -> dict:
    """spaCy's NER on the prepared NER splits; scored on test (or, without one, on dev)."""
    splits = {s: project / paths.NER_SPLITS / f"{s}.jsonl" for s in ("train", "dev", "test")}
    data = {s: read_split(p) for s, p in splits.items() if p.exists()}
    trained = train_spacy(data["train"], data["dev"], work / "spacy", cap_s, epochs)
    scored = "test" if "test" in data else "dev"
    scores, words_per_s = score_spacy(trained.pop("model"), data[scored])
    return {f"{scored}_f1": round(scores["f1"], 2), f"{scored}_per_type_f1":
            {t: round(s["f1"], 2) for t, s in scores["per_type"].items()}, **trained, "words_per_s": round(words_per_s)}


def pick(metrics: dict, keys: tuple[str, ...]) -> dict:
    """The ``keys`` a metrics file has."""
    return {k: metrics[k] for k in keys if k in metrics}


def collect(project: Path, spacy: dict, wall_s: float | None) -> dict:
    """The comparison: the pipeline's figures (metrics/*.json) beside the peers'."""
    metrics = {n: read_json_if_written(project / paths.METRICS / f"{n}.json")
               for n in ("prepare", "ner", "sentiment", "baseline")}
    dataset = read_json_if_written(project / paths.DATASET)
    sentiment_keys = ("dev_accuracy", "test_accuracy", "test_macro_f1", "test_n")
    return {
        "data": {"ner_types": dataset.get("ner", {}).get("types"), "ner_dev": dataset.get("ner", {}).get("dev"),
                 "sentiment_classes": dataset.get("sentiment", {}).get("labels"), "counts": metrics["prepare"]},
        "ner": {"project": pick(metrics["ner"], ("dev_f1", "test_f1", "words_per_s")), "spacy": spacy},
        "sentiment": {"project": pick(metrics["sentiment"], sentiment_keys),
                      "tfidf": pick(metrics["baseline"], ("C", *sentiment_keys))},
        "wall_s": None if wall_s is None else round(wall_s),
        "load_avg_at_end": load_avg(),
    }


def print_table(result: dict) -> None:
    """Each task's headline figure, the project beside its peer."""
    ner, sentiment = result["ner"], result["sentiment"]
    split = "test" if "test_f1" in ner["project"] else "dev"
    rows = [(f"NER {split} F1 (peer: spaCy)", ner["project"].get(f"{split}_f1"), ner["spacy"].get(f"{split}_f1"), 2)]
    rows += [(f"sentiment {key} (peer: TF-IDF)", sentiment["project"].get(key), sentiment["tfidf"].get(key), 4)
             for key in ("test_accuracy", "test_macro_f1")]
    print(f"{'':36}{'project':>10}{'peer':>10}")
    for name, ours, peer, digits in rows:
        print(f"{name:36}" + "".join("         -" if v is None else f"{v:>10.{digits}f}" for v in (ours, peer)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a project whose params.yaml names your data (default: build one)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="CoNLL-2003 + IMDB, for the default comparison")
    parser.add_argument("--work", type=Path, help="the log and spaCy's files (default: outputs/own_data_benchmark in "
                        "--project, else $TMPDIR/own_data)")
    parser.add_argument("--spacy-cap-s", type=int, default=1800, help="wall seconds spaCy may train")
    parser.add_argument("--spacy-epochs", type=int, help="spaCy's training.max_epochs (default: its own)")
    args = parser.parse_args()
    if args.work is None:  # a run on a project keeps its files there, apart from any other project's run
        args.work = args.project / "outputs" / "own_data_benchmark" if args.project else Path(tempfile.gettempdir()) / "own_data"
    args.work.mkdir(parents=True, exist_ok=True)
    project = args.project.resolve() if args.project else build_project(args.data, args.work)
    wall_s = run_pipeline(project, args.work / "pipeline.log")
    result = collect(project, peer_ner(project, args.work, args.spacy_cap_s, args.spacy_epochs), wall_s)
    result["command"] = " ".join(["python benchmarks/own_data.py", *sys.argv[1:]])
    write_json(project / RESULTS, result)
    print_table(result)
    print(f"written to {project / RESULTS}")
    if not args.project:
        write_json(ROOT / RESULTS, result)


if __name__ == "__main__":
    main()
