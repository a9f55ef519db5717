"""``w2vp mlflow``: compare registered model versions, promote a champion, serve it over REST, flush pending logs.

All commands use the project's tracking store: ``$MLFLOW_TRACKING_URI`` when
set, else the local ``mlflow.db`` (see :mod:`pipeline.tracking.mlflow_logger`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from pipeline.runner import run

mlflow_app = typer.Typer(help="MLflow registry: compare versions, promote a champion, serve it; flush pending logs.",
                         no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Registered model name, e.g. w2v-ner or w2v-sentiment.")]
MetricOpt = Annotated[str, typer.Option(help="A metric of the versions' runs, e.g. dev_f1 or test_f1.")]


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


@mlflow_app.command()
def serve(
    name: NameArg,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5001,
    host: Annotated[str, typer.Option(help="Interface; 0.0.0.0 exposes it beyond this machine.")] = "127.0.0.1",
    workers: Annotated[int, typer.Option(min=1, help="Server processes, each with its own copy of the model.")] = 1,
    alias: Annotated[str, typer.Option(help="The alias to serve, resolved to its version at start.")] = "champion",
    max_texts: Annotated[int | None, typer.Option(min=1, help="Most texts in one request [1000].")] = None,
    max_text_chars: Annotated[int | None, typer.Option(min=1, help="Most characters in one text [100000].")] = None,
    max_request_bytes: Annotated[int | None, typer.Option(min=1, help="Largest request body [10485760].")] = None,
) -> None:
    """Serve models:/NAME@ALIAS over REST: POST texts to http://HOST:PORT/invocations, e.g. {"inputs": ["some text"]}.

    The alias is resolved to its version once; the server answers with that version (header x-model-uri) until
    it is restarted. It runs MLflow's scoring app (the one `mlflow models serve` runs) under uvicorn, behind a
    check that refuses malformed requests with a 4xx saying what was expected.
    """
    def go() -> None:
        import mlflow
        import uvicorn

        from pipeline.tracking import pyfunc_models as served
        from pipeline.tracking.mlflow_logger import tracking_uri
        from pipeline.tracking.registry import resolve_alias

        mlflow.set_tracking_uri(tracking_uri())
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar line per file otherwise
        model_uri = f"models:/{name}/{resolve_alias(name, alias)}"
        limits = served.Limits(max_texts or served.MAX_TEXTS, max_text_chars or served.MAX_TEXT_CHARS)
        body_bytes = max_request_bytes or served.MAX_REQUEST_BYTES
        with tempfile.TemporaryDirectory(prefix="w2vp-serve-") as workdir:
            os.environ.update({  # read by every worker's serving_app
                served.SERVE_MODEL_ENV: mlflow.artifacts.download_artifacts(model_uri, dst_path=workdir),
                served.SERVE_URI_ENV: model_uri,
                served.SERVE_LIMITS_ENV: json.dumps(limits.as_config() | {"max_request_bytes": body_bytes}),
            })
            typer.echo(f"serving {model_uri} ({name}@{alias}) on http://{host}:{port} with {workers} "
                       f"worker{'s' if workers > 1 else ''}; limits: {limits.max_texts} texts a request, "
                       f"{limits.max_text_chars} characters a text, {body_bytes} bytes a request")
            uvicorn.run("pipeline.tracking.pyfunc_models:serving_app", factory=True, host=host, port=port,
                        workers=workers)

    run(go)


@mlflow_app.command()
def flush(
    pending: Annotated[Path | None, typer.Option(help="Directory of pending files [outputs/mlflow/pending].")] = None,
) -> None:
    """Log what stages could not log while the tracking server was away (see tracking.deadline_s in params.yaml)."""
    from pipeline.tracking.mlflow_logger import flush_pending, pending_dir

    def go() -> None:
        done = flush_pending(pending)
        for line in done:
            typer.echo(line)
        if not done:
            typer.echo(f"nothing to log: no pending runs in {pending or pending_dir()}")

    run(go)
