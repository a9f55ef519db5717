"""Ops tooling around the pipeline: the team's PostgreSQL + ``mlflow server`` process control (``make team-up``)."""
