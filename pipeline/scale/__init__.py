"""Scale-out paths on Apache Spark (the optional ``spark`` extra): batch scoring and MLlib word2vec.

Nothing here is imported by the stages or at CLI start-up: pyspark and a
Java runtime are needed only when a Spark command runs (``make spark``).
The defaults the CLI shows live here, so showing them imports neither pandas nor pyspark.
"""

DEFAULT_MASTER = "local[2]"
DEFAULT_PREFIX = "pred_"  # of prediction columns: IMDB and CoNLL tables often carry a gold ``label`` column
