"""``w2vp spacy``: use the packaged spaCy pipeline from the command line.

``displacy TEXT_OR_FILE`` runs the pipeline on a text (or on a file's text,
one document a paragraph: blank lines separate documents) and writes
displaCy's entity HTML, with each document's sentiment in its title.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.atomic import atomic_open
from pipeline.errors import MissingDataError
from pipeline.runner import run

spacy_app = typer.Typer(help="The spaCy pipeline (spacy_pipeline/): displaCy rendering.", no_args_is_help=True)
DEFAULT_PIPELINE = Path("spacy_pipeline")


@spacy_app.callback()
def spacy_commands() -> None:
    """Use the packaged spaCy pipeline (a group, so commands keep their names however the app is mounted)."""


def read_documents(text_or_file: str) -> list[str]:
    """The paragraphs of a file when ``text_or_file`` names one, else the text itself as one document."""
    path = Path(text_or_file)
    try:
        is_file = path.is_file()
    except OSError:  # a long text is no valid file name (ENAMETOOLONG)
        is_file = False
    if not is_file:
        return [text_or_file]
    paragraphs = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n")]
    return [p for p in paragraphs if p] or [""]


def title(cats: dict[str, float]) -> str | None:
    """``pos 0.97``: the most probable class of ``doc.cats``, or no title when the pipeline sets none."""
    if not cats:
        return None
    label = max(cats, key=cats.get)
    return f"{label} {cats[label]:.2f}"


@spacy_app.command()
def displacy(
    text_or_file: Annotated[str, typer.Argument(help="A text, or a UTF-8 file (blank lines separate documents).")],
    pipeline: Annotated[Path, typer.Option(help="A saved spaCy pipeline (dvc repro writes spacy_pipeline/).")] = DEFAULT_PIPELINE,
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("displacy.html"),
) -> None:
    """Tag TEXT_OR_FILE with the pipeline and write displaCy's entity view as a standalone HTML page."""

    def go() -> None:
        import spacy
        from spacy import displacy as displacy_renderer

        if not (pipeline / "config.cfg").is_file():
            raise MissingDataError(pipeline, "not a saved spaCy pipeline: run `dvc repro package_spacy` first")
        nlp = spacy.load(pipeline)
        docs = list(nlp.pipe(read_documents(text_or_file)))
        for doc in docs:
            doc.user_data["title"] = title(doc.cats)
        with atomic_open(out) as fh:
            fh.write(displacy_renderer.render(docs, style="ent", page=True, jupyter=False))
        entities = sum(len(doc.ents) for doc in docs)
        typer.echo(f"{out}: {len(docs)} document(s), {entities} entities")

    run(go)
