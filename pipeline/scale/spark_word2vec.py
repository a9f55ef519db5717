"""word2vec on Spark MLlib for a corpus beyond one machine, written exactly as the ``word2vec`` stage writes it.

The stage (gensim) streams its corpus, so one machine's memory is no limit;
its time is. This path trains MLlib's ``Word2Vec`` on a Spark cluster and
writes ``vectors.bin`` (word2vec binary) and ``vocab.tsv`` with
:func:`pipeline.embeddings.word2vec.save` and ``config.json`` as the stage
does, so ``train_ner``, ``train_sentiment`` and the models' vocabulary
builders read the result unchanged.

The ``word2vec`` section of ``params.yaml`` maps onto MLlib as follows:

* ``vector_size`` → ``vectorSize``, ``window`` → ``windowSize``,
  ``min_count`` → ``minCount``, ``epochs`` → ``maxIter``, ``seed`` → ``seed``;
* ``lowercase``, ``digits_to_zero``: each line goes through the stage's own
  normaliser (:func:`pipeline.embeddings.normalize.normalizer`) before it is
  split on whitespace, so the vocabulary is the one gensim would see.

No MLlib equivalent:

* ``sg``: MLlib trains skip-gram only, so ``sg: 0`` (CBOW) is refused rather
  than silently trained as skip-gram;
* ``negative``: MLlib uses hierarchical softmax, not negative sampling;
* ``sample``: MLlib does not down-sample frequent words;
* ``workers``: Spark's parallelism is its cores and ``num_partitions``
  (MLlib's ``numPartitions``; more partitions train faster but merge their
  updates only once per iteration, so quality drops: keep it near the cores).

MLlib cuts sentences longer than its ``maxSentenceLength`` (1000 tokens) into
pieces; gensim truncates at 10,000. Corpus lines are sentences, far shorter.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline.atomic import write_json
from pipeline.config import Word2VecConfig
from pipeline.data.corpus import iter_corpus_files
from pipeline.embeddings import word2vec
from pipeline.embeddings.normalize import normalizer
from pipeline.errors import ConfigError, DataError
from pipeline.model_dir import CONFIG
from pipeline.scale import DEFAULT_MASTER
from pipeline.scale.session import is_remote, spark_session

if TYPE_CHECKING:
    from gensim.models import KeyedVectors
    from pyspark.ml.feature import Word2VecModel
    from pyspark.sql import DataFrame, SparkSession

TOKENS = "tokens"
CORPUS_GLOB = "*.{txt,gz}"  # the stage's corpus files (pipeline.data.corpus.CORPUS_SUFFIXES)


def check_config(cfg: Word2VecConfig, source: str | Path) -> None:
    """Refuse what MLlib cannot train, before a JVM starts."""
    if cfg.sg != 1:
        raise ConfigError(source, "word2vec.sg", "Spark MLlib trains skip-gram only: set sg: 1, "
                                                 "or train CBOW with the gensim stage (dvc repro word2vec)")


def corpus_tokens(spark: SparkSession, corpus: str, cfg: Word2VecConfig) -> DataFrame:
    """One row per non-blank corpus line: its tokens after the stage's normalisation.

    A local corpus is checked by the stage's own reader rules first (a file,
    or a directory of ``.txt``/``.gz`` files); Spark reads the same files.
    """
    from pyspark.sql import functions as F

    if not is_remote(corpus):
        iter_corpus_files(corpus)
    normalize = normalizer(cfg.lowercase, cfg.digits_to_zero)

    @F.pandas_udf("array<string>")
    def tokens(lines: pd.Series) -> pd.Series:
        return lines.map(lambda line: normalize(line).split())

    lines = spark.read.option("recursiveFileLookup", "true").option("pathGlobFilter", CORPUS_GLOB).text(corpus)
    return lines.select(tokens("value").alias(TOKENS)).where(F.size(TOKENS) > 0)


def word_counts(tokens: DataFrame, min_count: int) -> DataFrame:
    """``word``, ``count`` of each word seen ``min_count`` times: MLlib's vocabulary, with the counts it keeps hidden."""
    from pyspark.sql import functions as F

    return (tokens.select(F.explode(TOKENS).alias("word")).groupBy("word").count()
            .where(F.col("count") >= min_count))


def fit(tokens: DataFrame, cfg: Word2VecConfig, partitions: int) -> Word2VecModel:
    """MLlib ``Word2Vec`` with the section's parameters (see the module docstring for the mapping)."""
    from pyspark.ml.feature import Word2Vec

    return Word2Vec(vectorSize=cfg.vector_size, windowSize=cfg.window, minCount=cfg.min_count, maxIter=cfg.epochs,
                    seed=cfg.seed, numPartitions=partitions, inputCol=TOKENS).fit(tokens)


def keyed_vectors(model: Word2VecModel, counts: DataFrame) -> KeyedVectors:
    """The model's vectors with their corpus counts, most frequent first as gensim orders them (ties by word:
    a distributed corpus has no first occurrence to keep)."""
    from gensim.models import KeyedVectors
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    table = (model.getVectors().join(counts, "word").orderBy(F.desc("count"), "word")
             .select("word", "count", vector_to_array("vector", "float32").alias("vector")).toPandas())
    kv = KeyedVectors(vector_size=model.getVectorSize())
    kv.add_vectors(table["word"].tolist(), np.stack(table["vector"].to_numpy()))
    kv.allocate_vecattrs(["count"], [np.int64])
    kv.expandos["count"][:] = table["count"].to_numpy()
    return kv


def train_to_dir(corpus: str, out_dir: Path, cfg: Word2VecConfig, source: str | Path = "params.yaml",
                 master: str = DEFAULT_MASTER, partitions: int = 1) -> int:
    """Train on ``corpus`` (a path or URI Spark reads), write the stage's three files into ``out_dir``; the vocabulary size.

    Tokens and counts are persisted: the tokens are read twice (counts, MLlib), the counts twice (check, export).
    """
    check_config(cfg, source)
    spark = spark_session(master, "w2vp-word2vec")
    tokens = corpus_tokens(spark, corpus, cfg).persist()
    counts = word_counts(tokens, cfg.min_count).persist()
    try:
        if counts.isEmpty():
            raise DataError(corpus, None, f"no word occurs min_count={cfg.min_count} times; lower word2vec.min_count")
        kv = keyed_vectors(fit(tokens, cfg, partitions), counts)
    finally:
        counts.unpersist()
        tokens.unpersist()
    word2vec.save(kv, out_dir)
    write_json(out_dir / CONFIG, cfg.model_dump(mode="json"))
    return len(kv)
