"""``python -m pipeline.cli``: the same as ``w2vp``."""

from pipeline.cli.main import app

app()
