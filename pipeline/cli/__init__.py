"""``w2vp``, the project's command line: one module per command group, mounted on :data:`app` in :mod:`.main`.

The ``w2vp`` entry point (``pipeline.cli:app``) and ``python -m pipeline.cli`` both run :data:`app`.
"""

from pipeline.cli.main import app

__all__ = ["app"]
