"""MLflow "models from code" entry point of the NER pyfunc model (executed by MLflow when it logs or loads the model)."""

from mlflow.models import set_model

from pipeline.tracking.pyfunc_models import NerModel

set_model(NerModel())
