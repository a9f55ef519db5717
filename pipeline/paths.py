"""Where stages read and write, relative to the project root (``dvc.yaml`` declares the same paths)."""

from pathlib import Path

OUTPUTS = Path("outputs")
METRICS = Path("metrics")
PLOTS = Path("plots")

PREPARED = OUTPUTS / "prepared"
NER_SPLITS = PREPARED / "ner"
SENTIMENT_SPLITS = PREPARED / "sentiment"
CORPUS = PREPARED / "corpus.txt"
SOURCES = PREPARED / "sources.json"
WORD2VEC = OUTPUTS / "word2vec"
VECTORS_FILE = "vectors.bin"  # inside any word2vec output directory

CONLL_FILES = {"train": "conll2003/eng.train.gz", "dev": "conll2003/eng.testa.gz", "test": "conll2003/eng.testb.gz"}
IMDB_FILES = {"train": "aclimdb/train.jsonl.gz", "test": "aclimdb/test.jsonl.gz", "unsup": "aclimdb/unsup.jsonl.gz"}
