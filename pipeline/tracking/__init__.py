"""Run tracking: one small logging interface, filled by dvclive (DVC plots) and MLflow."""
