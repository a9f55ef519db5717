"""Entity-level NER scores (conlleval-equivalent) and their text table, a type confusion table and an HTML error
report.

Scores are computed on *chunks*: every tag sequence is first decoded into
spans with :mod:`pipeline.data.tags` in its own scheme and re-encoded as
IOB2, then scored by seqeval in its default (conlleval) mode. An IOB1 gold
file (``I-PER`` starting an entity) is therefore scored exactly as conlleval
scores it, and BIOES predictions need no special case.
"""

from __future__ import annotations

import html
import warnings
from collections import Counter
from collections.abc import Sequence

from seqeval.metrics import accuracy_score, classification_report
from spacy import displacy

from pipeline.data.tags import Scheme, Span, convert, spans_from_tags

OUTSIDE = "O"  # the confusion table's row/column for "no entity with these boundaries"
MAX_REPORT_SENTENCES = 300  # keeps the HTML report openable in a browser


def _as_iob2(sequences: Sequence[Sequence[str]], scheme: Scheme) -> list[list[str]]:
    return [convert(tags, scheme, "iob2", invalid="repair") for tags in sequences]


def _check_lengths(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    """Misaligned gold/pred would score garbage silently: fail with the first mismatch."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")


def entity_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
                  gold_scheme: Scheme = "iob2", pred_scheme: Scheme = "iob2") -> dict:
    """Micro precision/recall/F1 (in %), per-type scores and token accuracy.

    Returns ``{"precision", "recall", "f1", "token_accuracy", "per_type": {TYPE: {precision, recall, f1, support}}}``.
    """
    _check_lengths(gold, pred)
    gold2, pred2 = _as_iob2(gold, gold_scheme), _as_iob2(pred, pred_scheme)
    with warnings.catch_warnings():  # with no entity at all seqeval's macro average warns; only micro is used
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(gold2, pred2, output_dict=True, zero_division=0)
    micro = report.pop("micro avg")
    per_type = {
        label: {"precision": 100 * r["precision"], "recall": 100 * r["recall"], "f1": 100 * r["f1-score"],
                "support": int(r["support"])}
        for label, r in report.items() if not label.endswith(" avg")
    }
    return {
        "precision": 100 * micro["precision"],
        "recall": 100 * micro["recall"],
        "f1": 100 * micro["f1-score"],
        "token_accuracy": 100 * accuracy_score(gold2, pred2) if any(gold2) else 0.0,
        "per_type": per_type,
    }


def entity_counts(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
                  gold_scheme: Scheme = "iob2", pred_scheme: Scheme = "iob2") -> dict[str, int]:
    """conlleval's header counts: sentences, tokens, gold and predicted entities, and correct ones (same span, type)."""
    _check_lengths(gold, pred)
    counts = Counter(sentences=len(gold), tokens=0, gold=0, predicted=0, correct=0)
    for g_tags, p_tags in zip(gold, pred):
        g, p = set(spans_from_tags(g_tags, gold_scheme)), set(spans_from_tags(p_tags, pred_scheme))
        counts.update(tokens=len(g_tags), gold=len(g), predicted=len(p), correct=len(g & p))
    return dict(counts)


def score_table(scores: dict, counts: dict[str, int]) -> str:
    """:func:`entity_scores` and :func:`entity_counts` as a text table: a row per type, then the micro average."""
    rows = [*sorted(scores["per_type"].items()), ("micro avg", scores | {"support": counts["gold"]})]
    width = max(len(name) for name, _ in rows) + 2
    summary = (f"{counts['sentences']:,} sentences, {counts['tokens']:,} tokens: {counts['gold']:,} gold entities, "
               f"{counts['predicted']:,} predicted, {counts['correct']:,} correct")
    lines = [summary, f"{'type':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    lines += [f"{name:<{width}}{r['precision']:>10.2f}{r['recall']:>10.2f}{r['f1']:>10.2f}{r['support']:>10,}"
              for name, r in rows]
    return "\n".join([*lines, f"token accuracy {scores['token_accuracy']:.2f}"])


def _spans(tags: Sequence[str]) -> dict[tuple[int, int], str]:
    return {(s, e): label for s, e, label in spans_from_tags(tags, "iob2")}


def confusion(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, dict[str, int]]:
    """``table[gold_type][pred_type]`` counts over spans with identical boundaries (IOB2 input).

    A gold entity no prediction matches in boundaries counts under predicted
    ``O`` (missed); a predicted entity matching no gold boundaries under gold
    ``O`` (spurious). A boundary error is thus one miss plus one spurious entity.
    """
    _check_lengths(gold, pred)
    counts: Counter[tuple[str, str]] = Counter()
    for g_tags, p_tags in zip(gold, pred):
        g, p = _spans(g_tags), _spans(p_tags)
        for bounds, label in g.items():
            counts[label, p.get(bounds, OUTSIDE)] += 1
        for bounds, label in p.items():
            if bounds not in g:
                counts[OUTSIDE, label] += 1
    labels = sorted({a for a, _ in counts} | {b for _, b in counts})
    return {g: {p: counts[g, p] for p in labels} for g in labels}


def _displacy_doc(tokens: Sequence[str], spans: Sequence[Span], title: str) -> dict:
    """displaCy's manual format: the tokens joined by spaces and entity character offsets."""
    starts, position = [], 0
    for token in tokens:
        starts.append(position)
        position += len(token) + 1
    ents = [{"start": starts[s], "end": starts[e - 1] + len(tokens[e - 1]), "label": label} for s, e, label in spans]
    return {"text": " ".join(tokens), "ents": ents, "title": title}


def error_report(sentences: Sequence[Sequence[str]], gold: Sequence[Sequence[str]],
                 pred: Sequence[Sequence[str]], title: str = "NER errors") -> str:
    """A standalone HTML page: each sentence whose predicted entities differ from gold, gold and prediction side by side."""
    _check_lengths(gold, pred)
    rows, errors = [], 0
    for i, (tokens, g, p) in enumerate(zip(sentences, gold, pred)):
        g_spans, p_spans = spans_from_tags(g, "iob2"), spans_from_tags(p, "iob2")
        if g_spans == p_spans:
            continue
        errors += 1
        if errors > MAX_REPORT_SENTENCES:
            continue
        cells = [displacy.render(_displacy_doc(tokens, spans, f"{name} (sentence {i})"), style="ent",
                                 manual=True, page=False, jupyter=False)
                 for name, spans in (("gold", g_spans), ("predicted", p_spans))]
        rows.append("<tr>" + "".join(f'<td style="vertical-align:top;width:50%">{c}</td>' for c in cells) + "</tr>")
    shown = min(errors, MAX_REPORT_SENTENCES)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{errors} of {len(gold)} sentences differ from gold; {shown} shown.</p>"
        f"<table>{''.join(rows)}</table></body></html>"
    )
