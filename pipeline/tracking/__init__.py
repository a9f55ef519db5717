"""Run tracking: dvclive and MLflow back ends of the logging interface, the model registry, the pyfunc models and the stages' run wrapper."""
