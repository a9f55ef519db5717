"""word2vec + recurrent-network NER and sentiment pipeline (DVC, MLflow, spaCy)."""

__version__ = "0.1.0"
