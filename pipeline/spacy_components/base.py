"""What the two spaCy components share: model directories in and out, batching, the Pipe protocol.

A component wraps one of the project's predictors, which loads from a
*model directory* (``model.safetensors`` + ``config.json`` + vocabulary and
label files, see :mod:`pipeline.model_dir`). ``nlp.to_disk`` copies
that directory's plain files into ``<pipeline>/<component>/model`` and
``from_disk`` loads them back, so a saved pipeline is self-contained: no
pickle, and the files are the very ones the training stage wrote.

Subclasses set :attr:`ModelComponent.kind` and :attr:`ModelComponent.files`
and implement ``_load_predictor``, ``predict`` and ``set_annotations``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from spacy.attrs import ORTH
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc
from spacy.util import from_disk, minibatch, to_disk

from pipeline.model_dir import CONFIG, WEIGHTS, model_language
from pipeline.spacy_components.errors import ComponentError, Errors

MODEL_SUBDIR = "model"  # <pipeline>/<component>/model holds the copied model directory


def check_model_dir(component: str, path: str | Path, kind: str, files: Iterable[str]) -> Path:
    """``path`` as a :class:`Path`, after checking it is a model directory of ``kind`` (a clear error names it if not)."""
    path = Path(path)
    if not path.is_dir():
        raise ComponentError(Errors.W2V001.format(component=component, path=path))
    missing = [name for name in files if not (path / name).is_file()]
    if missing:
        raise ComponentError(Errors.W2V002.format(component=component, path=path, kind=kind, missing=", ".join(missing)))
    return path


def copy_model_dir(source: Path, target: Path) -> None:
    """Replace ``target`` by a copy of the files of ``source`` (a no-op when saving a pipeline onto itself).

    The files are copied into a hidden sibling first and swapped in by
    renames, so a crash leaves the old copy or none, never a half-copied
    model that loads. Hidden files (``.x.tmp`` of an interrupted atomic
    write) are not model files and are left behind.
    """
    if target.exists() and target.resolve() == source.resolve():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new."))
    retired = target.parent / f"{staging.name}.old"
    try:
        for file in source.iterdir():
            if file.is_file() and not file.name.startswith("."):
                shutil.copy2(file, staging / file.name)
        if target.exists():
            os.replace(target, retired)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)


def check_setting(component: str, field: str, value: Any, valid: bool, expected: str) -> None:
    """Range checks spaCy's type validation cannot express (``batch_size >= 1``, ``0 <= threshold <= 1``)."""
    if not valid:
        raise ComponentError(Errors.W2V004.format(component=component, field=field, value=value, expected=expected))


def token_texts(doc: Doc) -> list[str]:
    """Each token's text, looked up from its ``ORTH`` hash: iterating the Doc (``doc.text`` does) would build a
    ``Token`` object per token, which costs three times the lookups."""
    strings = doc.vocab.strings
    return [strings[orth] for orth in doc.to_array(ORTH).tolist()]


class ModelComponent(Pipe):
    """A spaCy pipe around a project predictor loaded from a model directory.

    Created with ``model = None`` it holds no model until :meth:`load_model`
    or :meth:`from_disk`: that is how ``spacy.load`` builds it before reading
    the saved files, and how :func:`~pipeline.spacy_components.pipeline_builder.build_pipeline`
    keeps the saved ``config.cfg`` free of machine-specific paths.
    """

    kind = ""  # "NER" / "sentiment": named in errors
    files: tuple[str, ...] = (WEIGHTS, CONFIG)  # what a model directory of this kind must contain

    def __init__(self, nlp: Language, name: str, model: str | None, batch_size: int) -> None:
        check_setting(name, "batch_size", batch_size, batch_size >= 1, "expected an integer >= 1")
        self.vocab = nlp.vocab
        self.lang = nlp.lang
        self.name = name
        self.batch_size = batch_size
        self.model_dir: Path | None = None
        self.predictor: Any = None
        if model is not None:
            self.load_model(model)

    def _load_predictor(self, model_dir: Path) -> Any:
        """The task's predictor (``NerPredictor``, ``SentimentPredictor``) for a checked model directory."""
        raise NotImplementedError

    def load_model(self, model_dir: str | Path) -> ModelComponent:
        """Load the trained model in ``model_dir`` (replacing any model loaded before)."""
        path = check_model_dir(self.name, model_dir, self.kind, self.files)
        trained_on = model_language(path)
        if trained_on != self.lang:
            raise ComponentError(Errors.W2V006.format(component=self.name, path=path, model_lang=trained_on,
                                                      nlp_lang=self.lang))
        self.predictor = self._load_predictor(path)
        self.model_dir = path
        return self

    def require_predictor(self) -> Any:
        """The predictor, or an error saying how to give the component a model."""
        if self.predictor is None:
            raise ComponentError(Errors.W2V003.format(component=self.name))
        return self.predictor

    def predict(self, docs: list[Doc]) -> Any:
        """The model's output for a batch of Docs, without touching them (spaCy's contract)."""
        raise NotImplementedError

    def set_annotations(self, docs: list[Doc], predictions: Any) -> None:
        """Write ``predict``'s output onto the Docs."""
        raise NotImplementedError

    def __call__(self, doc: Doc) -> Doc:
        """Annotate one doc (``nlp(text)``); ``pipe`` is the fast path for many."""
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Annotate docs ``batch_size`` at a time: one batched model run per group of docs, not one per doc."""
        error_handler: Callable = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size):
            try:
                self.set_annotations(docs, self.predict(docs))
                yield from docs
            except Exception as exc:  # spaCy's error handler decides: it re-raises unless the user set one
                error_handler(self.name, self, docs, exc)

    def _save_model(self, path: Path) -> None:
        """Copy the loaded model's directory to ``path`` (it must still exist: the files are not held in memory)."""
        self.require_predictor()
        if not self.model_dir.is_dir():
            raise ComponentError(Errors.W2V005.format(component=self.name, path=self.model_dir))
        copy_model_dir(self.model_dir, path)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Write the model directory's files to ``path/model``."""
        to_disk(path, {MODEL_SUBDIR: self._save_model}, exclude)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> ModelComponent:
        """Load the model that :meth:`to_disk` wrote under ``path``."""
        from_disk(path, {MODEL_SUBDIR: self.load_model}, exclude)
        return self
