"""MLflow "models from code" entry point of the sentiment pyfunc model (executed by MLflow when it logs or loads the model)."""

from mlflow.models import set_model

from pipeline.tracking.pyfunc_models import SentimentModel

set_model(SentimentModel())
