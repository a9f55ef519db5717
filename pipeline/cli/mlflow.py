"""``w2vp mlflow``: compare registered model versions, promote a champion, serve it over REST.

All commands use the project's tracking store: ``$MLFLOW_TRACKING_URI`` when
set, else the local ``mlflow.db`` (see :mod:`pipeline.tracking.mlflow_logger`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.runner import run

mlflow_app = typer.Typer(help="MLflow registry: compare versions, promote a champion, serve it.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Registered model name, e.g. w2v-ner or w2v-sentiment.")]
MetricOpt = Annotated[str, typer.Option(help="Test metric tagged on the versions, e.g. test_f1.")]


@mlflow_app.command()
def compare(
    name: NameArg,
    metric: MetricOpt,
    out_dir: Annotated[Path | None, typer.Option(help="Where NAME.md and NAME.html go [outputs/mlflow].")] = None,
) -> None:
    """Print every version with its test metrics and key params, best METRIC first; also write markdown and HTML."""
    from pipeline.tracking.registry import REPORT_DIR, to_markdown
    from pipeline.tracking.registry import compare as compare_versions

    def go() -> None:
        target = out_dir or REPORT_DIR
        table = compare_versions(name, metric, target)
        typer.echo(to_markdown(table), nl=False)
        typer.echo(f"written: {target / name}.md, {target / name}.html", err=True)

    run(go)


@mlflow_app.command()
def promote(
    name: NameArg,
    version: Annotated[int, typer.Argument(help="The challenger version.")],
    metric: MetricOpt,
    lower_is_better: Annotated[bool, typer.Option(help="For losses and error rates.")] = False,
) -> None:
    """Move the alias ``champion`` to VERSION if it beats the current champion on METRIC; else say why not."""
    from pipeline.tracking.registry import promote as promote_version

    def go() -> None:
        typer.echo(promote_version(name, version, metric, higher_is_better=not lower_is_better).reason)

    run(go)


def serve_command(name: str, port: int, host: str) -> list[str]:
    """``mlflow models serve`` of ``models:/NAME@champion`` in this environment (no new virtualenv or conda)."""
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{name}@champion",
            "--env-manager", "local", "--host", host, "--port", str(port)]


@mlflow_app.command()
def serve(
    name: NameArg,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5001,
    host: Annotated[str, typer.Option(help="Interface; 0.0.0.0 exposes it beyond this machine.")] = "127.0.0.1",
) -> None:
    """Serve the champion of NAME: POST texts to http://HOST:PORT/invocations, e.g. {"inputs": ["some text"]}."""
    from pipeline.tracking.mlflow_logger import tracking_uri

    command = serve_command(name, port, host)
    # MLflow execs ``uvicorn`` by name: this environment's bin directory must come first on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    os.execve(command[0], command, os.environ | {"MLFLOW_TRACKING_URI": tracking_uri(), "PATH": path})
