"""``nlp.evaluate``'s scores over examples streamed in batches, so memory holds one batch of Docs.

``nlp.evaluate`` keeps every example's predicted and reference Doc until it
scores them all: 25,000 IMDB reviews are over 3 GB of Docs. Here each batch
is annotated by the pipeline, then an example whose reference carries only
``cats`` is kept as two one-token Docs with those ``cats`` (all that
``score_cats`` reads); examples with entities keep their Docs, which span
scoring aligns token by token. The scores are the components' own
``score`` methods over the kept examples, as ``nlp.evaluate`` computes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import minibatch


def slim(example: Example) -> Example:
    """The example itself, or, where its reference holds only ``cats``, a one-token stand-in with the same cats."""
    if example.reference.has_annotation("ENT_IOB") or not example.reference.cats:
        return example
    predicted, reference = (Doc(example.reference.vocab, words=["_"]) for _ in range(2))
    predicted.cats, reference.cats = dict(example.predicted.cats), dict(example.reference.cats)
    return Example(predicted, reference)


def evaluate_stream(nlp: Language, examples: Iterable[Example], batch_size: int = 256,
                    pipes: Sequence[str] | None = None) -> dict:
    """The pipeline's scores (``ents_*``, ``cats_*``, ...) on ``examples``, read and annotated ``batch_size`` at a time.

    ``pipes`` runs and scores only those components: the ones annotated in
    the examples give the scores ``nlp.evaluate`` would, without tagging
    reviews for entities or classifying sentences only to leave them out.
    """
    with nlp.select_pipes(enable=list(pipes) if pipes is not None else nlp.pipe_names):
        kept: list[Example] = []
        for batch in minibatch(examples, batch_size):
            annotated = nlp.pipe((eg.predicted for eg in batch), batch_size=batch_size)
            kept.extend(slim(Example(doc, eg.reference)) for eg, doc in zip(batch, annotated))
        return Scorer(nlp).score(kept) if kept else {}
