"""Where stages read and write, relative to the project root (``dvc.yaml`` declares the same paths), and the
names runs and models are registered under in MLflow."""

from pathlib import Path

from pipeline import model_dir

OUTPUTS = Path("outputs")
METRICS = Path("metrics")
PLOTS = Path("plots")

PREPARED = OUTPUTS / "prepared"
NER_SPLITS = PREPARED / "ner"
SENTIMENT_SPLITS = PREPARED / "sentiment"
CORPUS = PREPARED / "corpus.txt"
SOURCES = PREPARED / "sources.json"
DATASET = PREPARED / "dataset.json"  # what prepare read: schemes, entity types, classes, dev origin, language
WORD2VEC = OUTPUTS / "word2vec"
VECTORS = WORD2VEC / model_dir.VECTORS

NER_OUT = OUTPUTS / "ner"  # model/, checkpoints/, report.html, confusion.json
NER_MODEL = NER_OUT / "model"
LM_OUT = OUTPUTS / "lm"  # model/, checkpoints/: the pretrained forward and backward language model
LM_MODEL = LM_OUT / "model"  # what ner.model.lm and sentiment.lm read
SENTIMENT_OUT = OUTPUTS / "sentiment"  # model/, checkpoints/
SENTIMENT_MODEL = SENTIMENT_OUT / "model"
BASELINE = OUTPUTS / "baseline"
SPACY_PIPELINE = Path("spacy_pipeline")
NER_LIVE = Path("dvclive/ner")
LM_LIVE = Path("dvclive/lm")
SENTIMENT_LIVE = Path("dvclive/sentiment")
SENTIMENT_PLOTS = PLOTS / "sentiment"
BASELINE_PLOTS = PLOTS / "baseline"
REPORT = OUTPUTS / "report.html"  # the run's one HTML report (stage report)

NER_MODEL_NAME = "w2v-ner"  # registered model, and the experiment of its training and evaluation runs
SENTIMENT_MODEL_NAME = "w2v-sentiment"
LM_EXPERIMENT = "w2v-lm"  # the language model's pretraining runs (not registered: a task that uses it saves its own copy)
BASELINE_EXPERIMENT = "tfidf-baseline"
SPACY_EXPERIMENT = "spacy-pipeline"  # each assembled pipeline, as an artifact
REPORT_EXPERIMENT = "run-report"

