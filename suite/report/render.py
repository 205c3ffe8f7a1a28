"""report.md (figures beside it), report.html (self-contained, figures embedded) and
the CSVs: thin renderings of ``build_report``'s data and ``sections``' layout."""

from __future__ import annotations

import base64
import itertools
from pathlib import Path

from suite.core.files import write_atomic
from suite.report.build import build_report
from suite.report.export import csv_text
from suite.report.figures import figures
from suite.report.layout import Section, anchor, numeric_columns
from suite.report.sections import sections
from suite.report.terminal import format_table
from suite.report.verdict import disturbed_words


def shown(secs: list[Section], figs: dict) -> list[Section]:
    """The sections with something to show: one whose only content is figures that
    were not drawn (no MNIST here for the gallery) is left out, heading and all."""
    return [
        s
        for s in secs
        if not s.figures
        or s.paragraphs
        or s.bullets
        or s.tables
        or s.notes
        or any(panels(name, figs) for name in s.figures)
    ]


def contents(secs: list[Section]) -> list[Section]:
    """The sections a table of contents lists: every part after the verdict."""
    return [s for s in secs[2:] if s.level == 2]


def markdown(report: dict, figure_files: dict[str, str] | None = None) -> str:
    """The report's sections as Markdown; figures link to ``figure_files`` (figure key ->
    file name written beside report.md)."""
    files = figure_files or {}
    secs = shown(sections(report), files)
    lines = []
    for i, sec in enumerate(secs):
        lines += ["#" * sec.level + " " + sec.title, ""]
        if sec.summary:
            lines += [f"*{sec.summary}*", ""]
        lines += [p for para in sec.paragraphs for p in (para, "")]
        if sec.bullets:
            lines += [f"- {b}" for b in sec.bullets] + [""]
        for t in sec.tables:
            if t.title:
                lines += [f"*{t.title}*", ""]
            lines += [_md(t.headers, t.rows), ""]
        lines += [p for para in sec.notes for p in (para, "")]
        for name in sec.figures:
            for key in panels(name, files):
                lines += [f"![{caption(key)}]({files[key]})", ""]
        if i == 1:
            lines += ["## Contents", ""]
            lines += [f"- [{s.title}](#{anchor(s.title)})" for s in contents(secs)] + [""]
    return "\n".join(lines)


def _md(headers, rows) -> str:
    esc = [[str(c).replace("|", "\\|") for c in r] for r in rows]
    heads = [str(h).replace("|", "\\|") for h in headers]
    align = numeric_columns(rows) or [False] * len(headers)
    rule = "|" + "".join("---:|" if n else "---|" for n in align)
    out = ["| " + " | ".join(heads) + " |", rule]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in esc])


def panels(name: str, figs: dict) -> list[str]:
    """The figure keys a section's figure name stands for: itself, or its panels
    (``throughput_0.lstm``, ...), which the page lays out side by side or stacked."""
    return [k for k in figs if k == name or k.startswith(name + ".")]


HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keras backend comparison</title>
<style>
body{font-family:system-ui,sans-serif;max-width:64em;margin:auto;padding:0 1em;line-height:1.4}
p,li,figcaption,h1,h2,h3,summary{overflow-wrap:break-word}
h1{margin:.6em 0 .2em}h2{margin:1.2em 0 .4em}
.scroll{overflow-x:auto;max-width:100%;margin:.5em 0 1.2em}
table{border-collapse:collapse;font-size:85%}
p.caption{font-size:85%;color:#333;margin:.8em 0 .2em}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.n{white-space:nowrap}
tbody tr:nth-child(even){background:#fafafa}
table.verdict{font-size:95%}table.verdict td:nth-child(2){font-weight:600}
.conditions{font-size:90%;color:#333}
details{margin:.3em 0 1em}summary{cursor:pointer;color:#222}
nav ol{columns:2;column-gap:2em;margin:.3em 0}
@media (max-width:40em){nav ol{columns:1}
table.verdict,table.verdict tbody,table.verdict tr,table.verdict td{display:block}
table.verdict thead{display:none}table.verdict tr{border:1px solid #ccc;margin:0 0 .6em}
table.verdict td{border:0;white-space:normal;text-align:left}
table.verdict td::before{content:attr(data-label) ": ";font-weight:400;color:#555}}
img{max-width:100%;height:auto}figure{margin:1em 0}figcaption{font-size:90%;color:#444}
.panels div{display:flex;flex-wrap:wrap;gap:.5em}
.panels img{width:calc(33.3% - .4em);min-width:300px;max-width:100%}
.gallery img{max-width:70%}
@media print{body{max-width:none}figure,table{break-inside:avoid}details>*{display:block}}
</style></head><body>
{% macro table(t, cls) %}{% set tid = "t" ~ counter() %}
{% if t.title %}<p class="caption" id="{{ tid }}">{{ t.title|inline }}</p>{% endif %}
<div class="scroll"><table{% if cls %} class="{{ cls }}"{% endif %}{% if t.title %}
 aria-labelledby="{{ tid }}"{% endif %}>
{% set num = numeric(t.rows) %}<thead><tr>{% for h in t.headers %}<th scope="col"
{%- if num[loop.index0] %} class="n"{% endif %}>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in t.rows %}<tr>{% for c in r %}<td data-label="{{ t.headers[loop.index0] }}"
{%- if num[loop.index0] %} class="n"{% endif %}>{{ c|inline }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></div>
{% endmacro %}
{% macro body(s) %}
{% for p in s.paragraphs %}<p>{{ p|inline }}</p>
{% endfor %}{% if s.bullets %}<ul>{% for b in s.bullets %}<li>{{ b|inline }}</li>{% endfor %}</ul>
{% endif %}{% for t in s.tables %}{{ table(t, "verdict" if loop.first and s.notes else "") }}
{% endfor %}{% for p in s.notes %}<p class="conditions">{{ p|inline }}</p>
{% endfor %}{% for name in s.figures %}{% set keys = panels(name, figs) %}{% if keys %}
<figure class="{{ 'gallery' if name == 'misclassified' else 'panels' if keys|length > 1
 or keys[0] != name else '' }}"><div>{% for k in keys %}<img alt="{{ caption(k) }}"
src="data:image/png;base64,{{ figs[k] }}">{% endfor %}</div>
<figcaption>{{ caption(name) }}</figcaption></figure>
{% endif %}{% endfor %}
{% endmacro %}
{% for s in sections %}
<h{{ s.level }} id="{{ anchor(s.title) }}">{{ s.title }}</h{{ s.level }}>
{% if s.summary %}<details><summary>{{ s.summary|inline }} <em>Show the details.</em></summary>
{{ body(s) }}</details>{% else %}{{ body(s) }}{% endif %}
{% if loop.index0 == 1 %}<nav aria-label="Contents"><h2 id="contents">Contents</h2><ol>
{% for c in toc %}<li><a href="#{{ anchor(c.title) }}">{{ c.title }}</a></li>{% endfor %}
</ol></nav>{% endif %}
{% endfor %}
</body></html>
"""


def _inline(text: str):
    """Escape, then render `code`, **bold** and *emphasis* as the Markdown shows them."""
    import re

    from markupsafe import Markup, escape

    out = str(escape(text))
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", out)
    return Markup(out)


def html(report: dict, figs: dict[str, bytes]) -> str:
    """One self-contained page: the same sections as the Markdown, as real tables, with
    figures inline as data URIs; every text escaped."""
    from jinja2 import Environment

    env = Environment(autoescape=True)
    env.filters["inline"] = _inline
    encoded = {k: base64.b64encode(v).decode() for k, v in figs.items()}
    secs = shown(sections(report), figs)
    return env.from_string(HTML).render(
        sections=secs,
        toc=contents(secs),
        figs=encoded,
        caption=caption,
        anchor=anchor,
        numeric=numeric_columns,
        panels=panels,
        counter=itertools.count(1).__next__,  # ids of table captions
    )


CAPTIONS = {
    "throughput": "Training throughput of plain fit(), examples/s: one dot per timed chunk "
    "over all runs, the bar the tables' examples/s (geometric mean over runs); "
    "the spread is the drift the pairing by round cancels",
    "accuracy_time": "Test accuracy in percent against training seconds on the throughput "
    "clock (compilation and evaluation excluded), first seed",
    "grads_heatmap": "Gradient difference between backends over the tolerance it is judged "
    "by, log10 (below 0 passes; same weights, same batch)",
    "trajectory": "How far the weights drift apart over training steps (same batches): max "
    "relative difference, log scale",
    "versions": "Training throughput of plain fit() by release, examples/s: the band each "
    "release's 95% interval against the first (paired by round, the worker process "
    "inside); a red ring marks a release whose step from its neighbour is flagged",
    "batches": "Training throughput of plain fit() by batch size, examples/s, log axes: "
    "the band each point's 95% interval against that batch size's fastest",
    "misclassified": "Test images each backend's model gets wrong: predicted (true) label",
}


def caption(name: str) -> str:
    """A reader's caption for a figure key such as ``throughput_0`` or, for one panel,
    ``throughput_0.lstm``."""
    name, _, panel = name.partition(".")
    base, _, index = name.rpartition("_")
    if not index.isdigit():
        base = name
    text = CAPTIONS.get(base, name)
    return f"{panel}: {text}" if panel else text


def figure_file(key: str) -> str:
    return f"report-{key.replace('.', '-').replace('_', '-')}.png"


def write_files(report: dict, out: Path) -> list[Path]:
    """Write report.md (its figures as PNGs beside it), report.html (self-contained)
    and the CSVs for ``report`` into ``out``, each file atomically."""
    figs = figures(report)
    files = {k: figure_file(k) for k in figs}
    blobs = {
        "report.md": markdown(report, files).encode(),
        "report.csv": csv_text(report).encode(),
        "report-rounds.csv": csv_text(report, "rounds_csv").encode(),
        "report-inference.csv": csv_text(report, "inference_csv").encode(),
        "report-grads.csv": csv_text(report, "grads_csv").encode(),
        "report-recipes.csv": csv_text(report, "recipes_csv").encode(),
        "report-portability.csv": csv_text(report, "portability_csv").encode(),
        "report.html": html(report, figs).encode(),
        **{files[k]: v for k, v in figs.items()},
    }
    paths = []
    for name, data in blobs.items():
        if not data and name != "report.csv":
            continue  # no recipes or transfers in these folders: no empty CSV either
        write_atomic(out / name, lambda f, d=data: f.write(d))
        paths.append(out / name)
    return paths


def write_report(folders: list[Path], out: Path) -> list[Path]:
    """Read the result folders and write the report files into ``out``."""
    return write_files(build_report([Path(f) for f in folders]), out)


def terminal_summary(report: dict) -> str:
    """The verdict per device group, one row per workload, as the terminal shows it
    after compare."""
    lines = []
    for d in report["devices"]:
        lines.append(d["title"])
        rows = [[v.workload, v.use, v.speed, v.accuracy] for v in d["workloads"]]
        lines.append(format_table(["workload", "use", "speed", "accuracy"], rows))
        if busy := disturbed_words(d["conditions"].get("disturbed") or []):
            lines.append(busy.strip())
    return "\n".join(lines)
