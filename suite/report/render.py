"""report.md, report.html (self-contained, figures embedded) and report.csv: thin
renderings of ``build_report``'s data and ``sections``' layout."""

from __future__ import annotations

import base64
from pathlib import Path

from suite.core.files import write_atomic
from suite.report.build import build_report
from suite.report.export import csv_text
from suite.report.figures import figures
from suite.report.layout import ratio_text
from suite.report.sections import sections
from suite.report.terminal import format_table


def markdown(report: dict) -> str:
    """The report's sections as Markdown (figures are in report.html only)."""
    lines = []
    for sec in sections(report):
        lines += ["#" * sec.level + " " + sec.title, ""]
        lines += [p for para in sec.paragraphs for p in (para, "")]
        if sec.bullets:
            lines += [f"- {b}" for b in sec.bullets] + [""]
        for t in sec.tables:
            if t.title:
                lines += [f"**{t.title}**", ""]
            lines += [_md(t.headers, t.rows), ""]
    return "\n".join(lines)


def _md(headers, rows) -> str:
    esc = [[str(c).replace("|", "\\|") for c in r] for r in rows]
    heads = [str(h).replace("|", "\\|") for h in headers]
    out = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(headers)]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in esc])


HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keras backend comparison</title>
<style>
body{font-family:system-ui,sans-serif;max-width:62em;margin:auto;padding:0 1em;line-height:1.4}
p,li,figcaption,h1,h2,h3{overflow-wrap:break-word}
table{border-collapse:collapse;margin:.5em 0 1.2em;font-size:85%;display:block;max-width:100%;
overflow-x:auto}
caption{text-align:left;font-weight:600;padding:.3em 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
tbody tr:nth-child(even){background:#fafafa}
img{max-width:100%;height:auto}figure{margin:1em 0}figcaption{font-size:90%;color:#444}
.gallery img{max-width:70%}
@media print{body{max-width:none}figure,table{break-inside:avoid}}
</style></head><body>
{% for s in sections %}
<h{{ s.level }}>{{ s.title }}</h{{ s.level }}>
{% for p in s.paragraphs %}<p>{{ p|inline }}</p>
{% endfor %}{% if s.bullets %}<ul>{% for b in s.bullets %}<li>{{ b|inline }}</li>{% endfor %}</ul>
{% endif %}{% for t in s.tables %}<table>{% if t.title %}<caption>{{ t.title }}</caption>{% endif %}
<thead><tr>{% for h in t.headers %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in t.rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% endfor %}{% for name in s.figures if name in figs %}<figure{% if name == "misclassified" %}
class="gallery"{% endif %}><img alt="{{ caption(name) }}"
src="data:image/png;base64,{{ figs[name] }}">
<figcaption>{{ caption(name) }}</figcaption></figure>
{% endfor %}{% endfor %}
</body></html>
"""


def _inline(text: str):
    """Escape, then render `code` and *emphasis* as the Markdown shows them."""
    import re

    from markupsafe import Markup, escape

    out = str(escape(text))
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", out)
    return Markup(out)


def html(report: dict, figs: dict[str, bytes]) -> str:
    """One self-contained page: the same sections as the Markdown, as real tables, with
    figures inline as data URIs; every text escaped."""
    from jinja2 import Environment

    env = Environment(autoescape=True)
    env.filters["inline"] = _inline
    encoded = {k: base64.b64encode(v).decode() for k, v in figs.items()}
    return env.from_string(HTML).render(sections=sections(report), figs=encoded, caption=caption)


CAPTIONS = {
    "throughput": "Training throughput of plain fit() per round (dots), median (bar): "
    "the spread is the drift the pairing by round cancels",
    "accuracy_time": "Test accuracy against training time on the throughput clock "
    "(compilation and evaluation excluded)",
    "grads_heatmap": "Gradient difference between backends, log10 max|a−b|/max|b| "
    "(same weights, same batch)",
    "trajectory": "How far the weights drift apart over training steps (same batches)",
    "misclassified": "Test images each backend's model gets wrong: predicted (true) label",
}


def caption(name: str) -> str:
    """A reader's caption for a figure key such as ``throughput_0``."""
    base, _, index = name.rpartition("_")
    if not index.isdigit():
        base = name
    return CAPTIONS.get(base, name)


def write_files(report: dict, out: Path) -> list[Path]:
    """Write report.md, report.html and report.csv for ``report`` into ``out`` (atomically)."""
    texts = {
        "report.md": markdown(report),
        "report.csv": csv_text(report),
        "report-grads.csv": csv_text(report, "grads_csv"),
        "report.html": html(report, figures(report)),
    }
    paths = []
    for name, text in texts.items():
        data = text.encode()
        write_atomic(out / name, lambda f, d=data: f.write(d))
        paths.append(out / name)
    return paths


def write_report(folders: list[Path], out: Path) -> list[Path]:
    """Read the result folders and write the report files into ``out``."""
    return write_files(build_report([Path(f) for f in folders]), out)


def terminal_summary(report: dict) -> str:

    lines = []
    for d in report["devices"]:
        lines.append(d["key"])
        rows = [
            [m, r["backend"], f"{r['examples_per_s']:,.0f}", ratio_text(r["ratio"]), r["verdict"]]
            for (m, _), rs in d["speed"].items()
            for r in rs
        ]
        lines.append(
            format_table(
                ["model", "backend", "throughput examples/s", "time ratio [95% CI]", "verdict"],
                rows,
            )
        )
        lines += d["recommendation"]
    return "\n".join(lines)
