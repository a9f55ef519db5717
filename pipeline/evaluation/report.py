"""One self-contained HTML page per run: scores, training curves, NER errors and sentiment curves, with matplotlib.

Each plot is a PNG inlined as a data URI, so the page opens offline, from an
MLflow artifact as well as from disk. A small script marks any plot that
fails to decode (``data-broken`` on ``<body>``), which the browser test reads.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402

Curve = Sequence[tuple[float, float]]  # (x, y) points
FIGSIZE = (5.2, 3.4)
STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:1em}
img.plot{border:1px solid #eee}img.broken{outline:3px solid #c00}iframe{width:100%;height:480px;border:1px solid #ccc}"""
CHECK = """<script>window.addEventListener("error",()=>{document.body.dataset.errors=(+(document.body.dataset.errors||0))+1;});
window.addEventListener("load",()=>{const plots=[...document.querySelectorAll("img.plot")];
const broken=plots.filter(p=>!p.complete||p.naturalWidth===0);broken.forEach(p=>p.classList.add("broken"));
document.body.dataset.plots=plots.length;document.body.dataset.broken=broken.length;});</script>"""


def figure(draw, title: str, xlabel: str, ylabel: str) -> str:
    """``<img>`` of a matplotlib figure: ``draw(ax)`` plots on its axes."""
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=100)
    draw(ax)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=xlabel == "epoch"))
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="plot" alt="{html.escape(title)}" src="data:image/png;base64,{data}">'


def curves_plot(curves: Mapping[str, Curve], title: str, xlabel: str, ylabel: str) -> str:
    """Several named curves on one set of axes (training curves, ROC, PR)."""
    def draw(ax):
        for name, points in curves.items():
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o" if len(points) < 40 else None, markersize=3, label=name)
    return figure(draw, title, xlabel, ylabel)


def matrix_plot(rows: Sequence[str], columns: Sequence[str], counts: Sequence[Sequence[int]], title: str,
                xlabel: str, ylabel: str) -> str:
    """A confusion matrix as an annotated heatmap (rows: gold, columns: predicted)."""
    def draw(ax):
        ax.imshow(counts, cmap="Blues")
        ax.set_xticks(range(len(columns)), columns)
        ax.set_yticks(range(len(rows)), rows)
        peak = max((max(r) for r in counts), default=0)
        for i, row in enumerate(counts):
            for j, value in enumerate(row):
                ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                        color="white" if value > peak / 2 else "black")
    return figure(draw, title, xlabel, ylabel)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table; floats shown with 3 significant decimals."""
    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def embedded_page(page: str, title: str) -> str:
    """Another HTML page (the displaCy error report) framed inside this one."""
    return f'<iframe title="{html.escape(title)}" srcdoc="{html.escape(page, quote=True)}"></iframe>'


def page(title: str, sections: Sequence[tuple[str, Sequence[str]]]) -> str:
    """The whole report: a title, then each ``(heading, parts)`` section; consecutive plots sit side by side."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    for heading, parts in sections:
        body.append(f"<h2>{html.escape(heading)}</h2>")
        plots = [p for p in parts if p.startswith('<img class="plot"')]
        body += [p for p in parts if p not in plots]
        if plots:
            body.append(f'<div class="plots">{"".join(plots)}</div>')
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}{CHECK}</body></html>")
