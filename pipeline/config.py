"""Typed configuration: ``params.yaml`` is read once into these objects.

Each DVC stage reads only its own section (``load_section``); unknown keys,
wrong types and out-of-range values are :class:`~pipeline.errors.ConfigError`
naming the field, so a typo in ``params.yaml`` never passes silently.
The resolved section is stored beside every model it produced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from pipeline.data.textio import read_text
from pipeline.errors import ConfigError, DataError, MissingDataError

PARAMS_FILE = Path("params.yaml")
PROFILES = Path("configs/profiles")  # beside params.yaml: <profile>.yaml overrides its sections (apply_profile)


class Section(BaseModel):
    """Base for config sections: strict about unknown keys, frozen once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)


NerFormat = Literal["conll", "jsonl", "spacy"]
SentimentFormat = Literal["auto", "csv", "tsv", "jsonl", "aclimdb"]


class NerData(Section):
    """The NER files and how to read them; paths are relative to ``data.root`` (or absolute).

    ``conll``: one token a line, any whitespace between columns, the word in
    ``word_column`` and the tag in ``tag_column`` (Python indices: -1 is the
    last), blank lines between sentences, ``-DOCSTART-`` between documents.
    ``jsonl``: ``{"tokens": [...], "tags": [...]}`` a line. ``spacy``: a
    ``DocBin`` whose ``doc.ents`` are the entities.
    """

    train: str
    dev: str | None = None  # None: carved from train (prepare.dev_fraction)
    test: str | None = None  # None: no test metrics
    format: NerFormat = "conll"
    word_column: int = 0
    tag_column: int = -1
    scheme: Literal["auto", "iob1", "iob2", "bioes"] = "auto"


class SentimentData(Section):
    """The labelled text files: CSV/TSV with a header, JSON lines, or an aclImdb split directory."""

    train: str
    dev: str | None = None  # None: carved from train, stratified (prepare.dev_fraction, prepare.sentiment_dev_split)
    test: str | None = None
    format: SentimentFormat = "auto"  # auto: from the name (.csv, .tsv, .jsonl[.gz], a directory)
    text_column: str = "text"
    label_column: str = "label"  # labels are any strings: two classes train the binary head, more the softmax one
    id_column: str | None = None  # None: <file stem>/<row number>


class CorpusData(Section):
    """Unlabelled text for word2vec: files, folders or globs of .txt/.gz (one text a line) or .jsonl[.gz]."""

    files: list[str] = []
    labelled_train: bool = True  # add the NER and sentiment training files' text (never a test file)


class DataConfig(Section):
    """Which data each task reads. ``profile`` names the parameter set: ``sample`` (params.yaml alone) or a
    profile file laid over it; ``root`` is where the files named below lie (dvc.yaml tracks it)."""

    profile: str = Field("sample", pattern=r"^[A-Za-z0-9_-]+$")
    root: Path = Path("data/sample")
    verify_checksums: bool = True  # against root/SHA256SUMS, when that file exists
    language: str = Field("en", pattern=r"^[a-z]{2,3}$")  # spaCy's blank tokenizer; stored with every model
    ner: NerData
    sentiment: SentimentData
    corpus: CorpusData = CorpusData()

    @field_validator("root")
    @classmethod
    def _not_the_project(cls, root: Path) -> Path:
        """The root is a DVC dependency of ``prepare``: the project itself (outputs included) would be a cycle."""
        if Path.cwd().resolve().is_relative_to(root.resolve()):
            raise ValueError(f"{root} holds the project itself: put the data in a folder of its own (e.g. data/mine)")
        return root

    def path(self, name: str | None) -> Path | None:
        """A configured file's path: relative names are under ``root``."""
        return None if name is None else self.root / name


class PrepareConfig(Section):
    """Splits for the ``prepare`` stage."""

    dev_fraction: float = Field(0.1, gt=0.0, lt=1.0)  # of train, carved when a task has no dev file
    sentiment_dev_split: Literal["id_blocks", "random"] = "id_blocks"  # id_blocks: dev holds other movies (split_dev)
    seed: int = 13
    invalid_tags: Literal["repair", "reject"] = "repair"


class Word2VecConfig(Section):
    """gensim ``Word2Vec`` (or ``FastText``) parameters plus the corpus normalisation, or a vectors file to read.

    With ``source: file`` the stage reads ``path`` (relative to the project root, or absolute: word2vec binary or
    text, fastText ``.vec``, GloVe; ``.gz`` too) and the training parameters are unused; ``vector_size`` must equal
    the file's dimension, and ``lowercase`` / ``digits_to_zero`` say how tokens are looked up in it
    (``lowercase: false`` for cased vectors such as fastText's).
    """

    sg: Literal[0, 1] = 1
    vector_size: int = Field(100, ge=2, le=1000)
    window: int = Field(5, ge=1, le=50)
    min_count: int = Field(2, ge=1)
    negative: int = Field(5, ge=0, le=50)
    epochs: int = Field(5, ge=1, le=100)
    workers: int = Field(2, ge=1, le=64)
    sample: float = Field(1e-3, ge=0.0, lt=1.0)
    seed: int = 13
    lowercase: bool = True
    digits_to_zero: bool = True
    model: Literal["word2vec", "fasttext"] = "word2vec"  # fasttext: gensim FastText, n-gram vectors for unseen words
    min_n: int = Field(3, ge=1, le=20)  # fasttext: shortest character n-gram (of the word in < >)
    max_n: int = Field(6, ge=1, le=20)  # fasttext: longest
    bucket: int = Field(500_000, ge=1)  # fasttext: n-gram hash buckets, the rows of subwords.npy (× vector_size float32s)
    source: Literal["train", "file"] = "train"
    path: Path | None = Field(None, validate_default=True)  # the vectors file; required when source is file

    @field_validator("max_n")
    @classmethod
    def _ngram_range(cls, max_n: int, info: ValidationInfo) -> int:
        """An empty n-gram range would give every unseen word the zero vector."""
        if max_n < info.data.get("min_n", 1):
            raise ValueError(f"must be at least min_n ({info.data['min_n']})")
        return max_n

    @field_validator("path")
    @classmethod
    def _path_for_file(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        """``source: file`` names its file here: reading "no file" would be a confusing error much later."""
        if path is None and info.data.get("source") == "file":
            raise ValueError("required when source is 'file': the vectors file to read")
        return path


T = TypeVar("T", bound=Section)


def read_yaml(path: Path) -> object:
    """Parse a YAML file (safe loader only); a syntax error or bad encoding is a DataError naming its line."""
    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise DataError(path, line, f"invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise DataError(path, None, f"invalid YAML: {exc}") from None


def read_mapping(path: Path) -> dict:
    """A YAML file that must hold a mapping of sections (params.yaml, a profile file)."""
    if not path.exists():
        raise MissingDataError(path, "run from the project root, where params.yaml lies")
    raw = read_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(path, "<root>", "must be a mapping of sections")
    return raw


def profile_path(params: Path, profile: str) -> Path | None:
    """The file of parameters profile ``profile`` lays over ``params`` (None for ``sample``: params.yaml alone)."""
    if profile == "sample":
        return None
    path = params.parent / PROFILES / f"{profile}.yaml"
    if not path.exists():
        known = ", ".join(["sample", *sorted(p.stem for p in (params.parent / PROFILES).glob("*.yaml"))])
        raise ConfigError(params, "data.profile", f"{profile!r} has no file {path} (profiles: {known})")
    return path


def apply_profile(params: dict, overlay: dict, source: Path) -> dict:
    """``params`` with each key of each overlay section replacing the same key of that section.

    One level deep, so a profile that sets ``ner.model`` states the whole
    model (nothing of the sample's model leaks into it), while keys it leaves
    out (``ner.threads``) keep params.yaml's values.
    """
    merged = dict(params)
    for name, values in overlay.items():
        if not isinstance(values or {}, dict):
            raise ConfigError(source, name, f"must be a mapping of keys; found {values!r}")
        merged[name] = {**(params.get(name) or {}), **(values or {})}
    return merged


def _profile_layers(path: Path, profile: str | None) -> tuple[dict, Path | None, dict]:
    """params.yaml's mapping, the profile file in force (``profile``, else ``data.profile``) and that file's mapping."""
    raw = read_mapping(path)
    overlay = profile_path(path, profile or (raw.get("data") or {}).get("profile", "sample"))
    return raw, overlay, read_mapping(overlay) if overlay else {}


def read_params(path: Path = PARAMS_FILE, profile: str | None = None) -> dict:
    """The ``params.yaml`` mapping with its profile applied (``data.profile``, or ``profile`` when given)."""
    raw, overlay, sections = _profile_layers(path, profile)
    return apply_profile(raw, sections, overlay) if overlay else raw


def params_profile(path: Path = PARAMS_FILE) -> str:
    """``data.profile`` alone (its profile file must exist): what runs and reports are tagged with, read without
    validating the datasets, which only ``prepare`` and ``data check`` need."""
    raw, _, _ = _profile_layers(path, None)
    return (raw.get("data") or {}).get("profile", "sample")


def build_section(cls: type[T], values: dict | None, source: str | Path, name: str) -> T:
    """Validate one section's mapping into ``cls``; errors name ``section.field`` and the value given."""
    try:
        return cls.model_validate(values or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join([name, *(str(p) for p in first["loc"])])
        raise ConfigError(source, field, _explain(cls, first)) from None


def _explain(cls: type[Section], error: dict) -> str:
    """pydantic's message plus what the user wrote, or the valid keys for an unknown one (most often a typo)."""
    if error["type"] == "extra_forbidden":
        keys = _keys_at(cls, error["loc"][:-1])
        return "unknown key" + (f" (valid keys: {', '.join(keys)})" if keys else "")
    return f"{error['msg']}; found {error['input']!r}"


def _keys_at(cls: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the (nested) section at ``loc``; empty when ``loc`` is not a section."""
    model: type[BaseModel] = cls
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def load_section(cls: type[T], name: str, path: Path = PARAMS_FILE, profile: str | None = None) -> T:
    """Read section ``name`` of ``params.yaml``, under its profile (or ``profile``), into ``cls``."""
    raw, overlay, sections = _profile_layers(path, profile)
    if name not in sections:
        return build_section(cls, raw.get(name), path, name)
    return build_section(cls, apply_profile(raw, sections, overlay).get(name), f"{path} + {overlay}", name)
