"""``w2vp spark``: the Spark paths (optional ``spark`` extra, ``make spark``): batch scoring and MLlib word2vec.

``score`` writes a registered model's predictions beside a text column of a
Parquet/CSV/JSONL collection; ``word2vec`` trains the vectors with Spark
MLlib into the files the ``word2vec`` stage writes. pyspark is imported only
inside the commands, so ``w2vp`` starts as fast without it. See docs/spark.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline import paths
from pipeline.runner import run
from pipeline.scale import DEFAULT_MASTER, DEFAULT_PREFIX

spark_app = typer.Typer(help="Spark: batch scoring with a registered model, MLlib word2vec.", no_args_is_help=True)

MasterOpt = Annotated[str, typer.Option(help="Spark master: local[N], spark://HOST:PORT, yarn, ...")]


@spark_app.command()
def score(
    input_path: Annotated[str, typer.Argument(help="Texts: .parquet, .csv or .jsonl[.gz], a file or a dataset.")],
    output_path: Annotated[str, typer.Argument(help="Where the scored dataset goes: .parquet, .csv or .jsonl.")],
    model_uri: Annotated[str, typer.Option(help="NER or sentiment model, e.g. models:/w2v-ner@champion.")],
    text_column: Annotated[str, typer.Option(help="The column holding the texts.")] = "text",
    master: MasterOpt = DEFAULT_MASTER,
    prefix: Annotated[str, typer.Option(help="Of the new columns: label, probability or entities.")] = DEFAULT_PREFIX,
    overwrite: Annotated[bool, typer.Option(help="Replace OUTPUT_PATH if it exists.")] = False,
) -> None:
    """Score the text column of INPUT_PATH with MODEL_URI; write its columns plus the predictions to OUTPUT_PATH."""
    from pipeline.scale.spark_score import score as score_table

    def go() -> None:
        kind, uri = score_table(input_path, output_path, model_uri, text_column, master, prefix, overwrite)
        typer.echo(f"{output_path}: {kind} predictions of {uri}")

    run(go)


@spark_app.command()
def word2vec(
    corpus: Annotated[str, typer.Argument(help="Tokenized .txt/.gz file, a directory of them, or a URI.")] = str(paths.CORPUS),
    out_dir: Annotated[Path, typer.Option(help="Where vectors.bin, vocab.tsv and config.json go.")] = paths.WORD2VEC,
    params: Annotated[Path, typer.Option(help="Its word2vec section configures training.")] = Path("params.yaml"),
    master: MasterOpt = DEFAULT_MASTER,
    partitions: Annotated[int, typer.Option(min=1, help="MLlib numPartitions: faster with more, less accurate.")] = 1,
) -> None:
    """Train word2vec with Spark MLlib; write the files the word2vec stage writes, for the later stages."""
    from pipeline.config import Word2VecConfig, load_section
    from pipeline.scale.spark_word2vec import train_to_dir

    def go() -> None:
        cfg = load_section(Word2VecConfig, "word2vec", params)
        words = train_to_dir(corpus, out_dir, cfg, params, master, partitions)
        typer.echo(f"{out_dir}: {words} word vectors of dimension {cfg.vector_size}")

    run(go)
