"""Champion/challenger on the MLflow model registry: compare registered versions, promote the better one.

The registry is the project's tracking store (``$MLFLOW_TRACKING_URI`` or
the local ``mlflow.db``) unless a client is passed. A version's metrics and
key params are those of the run that registered it (the evaluation stage's),
read from the run: versions carry only a description and a few tags (see
:mod:`pipeline.tracking.pyfunc_models`). The alias ``champion`` marks the
version that ``models:/<name>@champion`` serves; it moves only to a version
that beats the current champion on the chosen metric.
"""

from __future__ import annotations

import html
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model

from pipeline.atomic import atomic_open
from pipeline.errors import MissingDataError, PipelineError
from pipeline.tracking.mlflow_logger import store_lock, tracking_uri
from pipeline.tracking.pyfunc_models import (
    MODEL_DIR_ARTIFACT,
    NER_KEY_PARAMS,
    SENTIMENT_KEY_PARAMS,
)

CHAMPION = "champion"
KEY_PARAMS = tuple(dict.fromkeys(NER_KEY_PARAMS + SENTIMENT_KEY_PARAMS))
REPORT_DIR = Path("outputs/mlflow")
MODELS_URI = "models:/"
_MODEL_REF = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


class RegistryError(PipelineError):
    """A registered model, version or metric asked for does not exist."""


@dataclass(frozen=True)
class Promotion:
    """The outcome of :func:`promote`: whether the alias moved, and why (one sentence for the user)."""

    promoted: bool
    champion: str  # the champion version after the decision
    reason: str


def versions(name: str, client: MlflowClient) -> list[ModelVersion]:
    """All versions of ``name``, oldest first; a clear error when the model was never registered."""
    found = client.search_model_versions(f"name = '{name}'")
    if not found:
        raise RegistryError(f"no registered model {name!r}: run the training and evaluation stages first")
    return sorted(found, key=lambda v: int(v.version))


def run_of(version: ModelVersion, client: MlflowClient) -> Run:
    """The run that registered ``version``: its metrics and params are the version's."""
    try:
        return client.get_run(version.run_id)
    except MlflowException as exc:
        raise RegistryError(f"{version.name} version {version.version}: its run {version.run_id} cannot be read "
                            f"({exc.message})") from None


def metric_of(version: ModelVersion, metric: str, client: MlflowClient) -> float:
    """The metric of the version's run; the error lists the metrics it has, since a typo is the likely cause."""
    metrics = run_of(version, client).data.metrics
    if metric not in metrics:
        raise RegistryError(f"{version.name} version {version.version} has no metric {metric!r} "
                            f"(it has {sorted(metrics)})")
    return float(metrics[metric])


def resolve_alias(name: str, alias: str = CHAMPION, client: MlflowClient | None = None) -> str:
    """The version number ``models:/NAME@ALIAS`` stands for now; an error naming the aliases there are."""
    client = client or MlflowClient(tracking_uri())
    try:
        aliases = client.get_registered_model(name).aliases
    except MlflowException as exc:
        raise RegistryError(f"no registered model {name!r} ({exc.message}): run the training and evaluation "
                            "stages first") from None
    if alias not in aliases:
        raise RegistryError(f"{name} has no alias {alias!r} (aliases: {', '.join(sorted(aliases)) or 'none'})")
    return str(aliases[alias])


def aliases_by_version(name: str, client: MlflowClient) -> dict[str, list[str]]:
    """Aliases of each version, from the registered model's alias map (the SQL store's
    ``search_model_versions`` leaves ``ModelVersion.aliases`` empty)."""
    by_version: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(name).aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    return by_version


def row_of(version: ModelVersion, aliases: list[str], run: Run) -> dict[str, object]:
    """One table row: version, aliases, run, then every metric of its run and its key params."""
    row: dict[str, object] = {"version": int(version.version), "aliases": ",".join(sorted(aliases)),
                              "run_id": version.run_id}
    row |= dict(sorted(run.data.metrics.items()))
    return row | {key: run.data.params[key] for key in KEY_PARAMS if key in run.data.params}


def comparison_table(name: str, metric: str, client: MlflowClient | None = None) -> pd.DataFrame:
    """Every version of ``name`` as a row, best ``metric`` first (versions without it last)."""
    client = client or MlflowClient(tracking_uri())
    registered = versions(name, client)  # first: it says clearly when the model was never registered
    aliases = aliases_by_version(name, client)
    table = pd.DataFrame([row_of(v, aliases.get(str(v.version), []), run_of(v, client)) for v in registered])
    if metric not in table.columns:
        raise RegistryError(f"no version of {name!r} has metric {metric!r}")
    table[metric] = pd.to_numeric(table[metric])
    return table.sort_values([metric, "version"], ascending=[False, True], na_position="last").reset_index(drop=True)


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table (pandas' own needs the optional ``tabulate``)."""
    cells = table.fillna("").astype(str)
    lines = ["| " + " | ".join(cells.columns) + " |", "|" + "---|" * len(cells.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def compare(name: str, metric: str, out_dir: Path = REPORT_DIR, client: MlflowClient | None = None) -> pd.DataFrame:
    """The comparison table, also written to ``out_dir/<name>.md`` and ``.html`` for sharing."""
    table = comparison_table(name, metric, client)
    with atomic_open(out_dir / f"{name}.md") as fh:
        fh.write(f"# {name}: registered versions by {metric}\n\n" + to_markdown(table))
    with atomic_open(out_dir / f"{name}.html") as fh:
        fh.write(f"<h1>{html.escape(name)}: registered versions by {html.escape(metric)}</h1>\n"
                 + table.to_html(index=False, na_rep=""))
    return table


def current_champion(name: str, client: MlflowClient) -> str | None:
    """The version number holding the ``champion`` alias, or None before the first promotion.

    Read from the registered model's alias map: a missing alias is a normal
    state here, not an error (``get_model_version_by_alias`` raises on it).
    """
    champion = client.get_registered_model(name).aliases.get(CHAMPION)
    return None if champion is None else str(champion)


def promote(name: str, version: str | int, metric: str, higher_is_better: bool = True,
            client: MlflowClient | None = None) -> Promotion:
    """Move ``champion`` to ``version`` if it beats the champion on ``metric`` (strictly); else say why not.

    A tie keeps the champion: replacing a served model needs evidence that
    the new one is better, not merely as good. Reading the champion and moving
    the alias happen under :func:`~pipeline.tracking.mlflow_logger.store_lock`,
    so two evaluation stages running at once cannot both read the old champion
    and the worse one win by writing last.
    """
    client = client or MlflowClient(tracking_uri())
    with store_lock(client.tracking_uri):
        return _promote(name, version, metric, higher_is_better, client)


def _promote(name: str, version: str | int, metric: str, higher_is_better: bool, client: MlflowClient) -> Promotion:
    """:func:`promote` without the lock."""
    known = {str(v.version): v for v in versions(name, client)}  # the SQL store returns ints, the REST one strs
    if str(version) not in known:
        raise RegistryError(f"{name} has no version {version} (versions: {', '.join(known)})")
    challenger = known[str(version)]
    score = metric_of(challenger, metric, client)
    champion_version = current_champion(name, client)
    if champion_version is None:
        client.set_registered_model_alias(name, CHAMPION, challenger.version)
        return Promotion(True, str(challenger.version), f"version {version} is the first champion ({metric}={score:g})")
    champion = known[champion_version]
    if champion_version == str(version):
        return Promotion(False, champion_version, f"version {version} already is the champion")
    best = metric_of(champion, metric, client)
    better = score > best if higher_is_better else score < best
    direction = "higher" if higher_is_better else "lower"
    if not better:
        return Promotion(False, champion_version, f"version {version} has {metric}={score:g}, not {direction} than "
                                                  f"champion version {champion.version} ({metric}={best:g}): kept")
    client.set_registered_model_alias(name, CHAMPION, challenger.version)
    return Promotion(True, str(challenger.version), f"version {version} ({metric}={score:g}) beats version "
                                               f"{champion.version} ({metric}={best:g}): now champion")


def model_directory(ref: str, dest: Path | None = None) -> Path:
    """The local directory of the model ``ref`` names, ready for ``NerPredictor.load``/``SentimentPredictor.load``.

    A local path is returned as is (it must exist). ``models:/NAME@ALIAS``
    or ``models:/NAME/VERSION`` is looked up in the registry of
    :func:`~pipeline.tracking.mlflow_logger.tracking_uri`, and only the
    version's ``MLmodel`` and its model directory artifact (config, weights,
    vocabularies; see :func:`~pipeline.tracking.pyfunc_models.log_pyfunc_model`)
    are downloaded, under ``dest`` (a new temporary directory, the caller's to
    remove, when ``None``).
    """
    if not ref.startswith(MODELS_URI):
        path = Path(ref)
        if not path.is_dir():
            raise MissingDataError(path, "expected a trained model directory, models:/NAME@ALIAS or "
                                         "models:/NAME/VERSION")
        return path
    match = _MODEL_REF.match(ref)
    if match is None:
        raise RegistryError(f"{ref}: expected models:/NAME@ALIAS or models:/NAME/VERSION")
    client = MlflowClient(tracking_uri())
    name = match["name"]
    version = match["version"] or resolve_alias(name, match["alias"], client)
    try:
        source = client.get_model_version_download_uri(name, version)
    except MlflowException as exc:
        raise RegistryError(f"{ref}: no such registered version ({exc.message})") from None
    target = dest or Path(tempfile.mkdtemp(prefix="w2vp-model-"))
    mlmodel = mlflow.artifacts.download_artifacts(f"{source}/MLmodel", dst_path=str(target),
                                                  tracking_uri=client.tracking_uri)
    artifacts = Model.load(mlmodel).flavors.get("python_function", {}).get("artifacts", {})
    if MODEL_DIR_ARTIFACT not in artifacts:
        raise RegistryError(f"{ref} ({name} version {version}) has no {MODEL_DIR_ARTIFACT!r} artifact: it was not "
                            "registered by this project's evaluation stages")
    relative = artifacts[MODEL_DIR_ARTIFACT]["path"]
    return Path(mlflow.artifacts.download_artifacts(f"{source}/{relative}", dst_path=str(target),
                                                    tracking_uri=client.tracking_uri))
