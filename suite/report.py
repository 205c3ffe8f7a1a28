"""report.md, report.html (self-contained, figures embedded) and report.csv from result
folders. Tables and verdicts come from ``suite.report_data``; this module lays them
out and draws the figures (matplotlib, Agg)."""

from __future__ import annotations

import base64
import csv
import datetime
import io
from pathlib import Path

from suite.atomic import write_atomic
from suite.format import format_table
from suite.grads import all_pass
from suite.report_data import (
    accuracy_rows,
    collect,
    csv_rows,
    grads_csv_rows,
    group,
    machine_peak,
    model_groups,
    native_rows,
    ratio_rows,
    recommendation,
    round_throughputs,
    scaling_rows,
    speed_rows,
    speed_sentence,
    waiting_cpu_share,
)
from suite.report_figures import figures
from suite.report_sections import ratio_text, sections


def build_report(folders: list[Path]) -> dict:
    """Everything the report shows, as plain data."""
    c = collect(folders)
    devices = []
    for key, cells in group(c.runs).items():
        keys = model_groups(cells)
        speed = {k: speed_rows(cells, *k) for k in keys}
        devices.append(
            {
                "key": key,
                "models": list(dict.fromkeys(m for m, _ in keys)),
                "groups": keys,
                "accuracy": accuracy_rows(cells, speed),
                "speed": speed,
                "native": native_rows(cells),
                "verdicts": {k: speed_sentence(rows) for k, rows in speed.items()},
                "ratios": ratio_rows(speed),
                "rounds": _rounds(cells, keys),
                "environment": _environment(cells),
                "histories": _histories(cells),
                "scaling": scaling_rows(cells),
                "misclassified": _misclassified(cells),
            }
        )
    grads = max(c.grads, key=lambda g: g.get("settings", {}).get("seed", 0), default=None)
    grads_ok = None if grads is None else all_pass(grads)
    for d in devices:
        d["recommendation"] = recommendation(d, grads_ok)
    return {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "folders": [str(f) for f in folders],
        "n_runs": len(c.runs),
        "skipped": c.skipped,
        "devices": devices,
        "grads": grads,
        "sweeps": c.sweeps,
        "csv": csv_rows(
            c.runs,
            {
                (d["key"], q["backend"], q["model"], q["variant"]): q
                for d in devices
                for q in d["ratios"]
            },
        ),
        "grads_csv": grads_csv_rows(grads),
        "recipes": c.recipes,
        "portability": max(c.portability, key=lambda p: str(p.get("created")), default=None),
        "waiting_cpu_share": waiting_cpu_share(c.rounds),
    }


def _environment(cells) -> list[list[str]]:
    r = next(iter(cells.values()))[0].environment
    rows = [
        ["python", r.get("python")],
        ["keras", r.get("keras")],
        ["cpu", r.get("cpu")],
        ["cores (logical)", r.get("cpu_cores_logical")],
        ["os", r.get("os")],
    ]
    seen = {}
    for runs in cells.values():
        env = runs[0].environment
        seen[env["backend"]] = (
            env.get("framework"),
            env.get("settings", {}).get("intra_op_threads"),
        )
    rows += [
        [f"{b}: versions, threads", ", ".join(f"{k} {x}" for k, x in (v or {}).items()) + f"; {t}"]
        for b, (v, t) in sorted(seen.items())
    ]
    peak, by = machine_peak(cells)
    if peak:
        rows.append(["% of peak denominator", f"{peak:.1f} GFLOP/s: best float32 matmul, via {by}"])
    if "cpu_theoretical_peak" in r:  # results written before it was recorded lack it
        rows += [["theoretical float32 peak", peak_text(r["cpu_theoretical_peak"], peak)]]
    return [[str(a), str(b)] for a, b in rows]


def peak_text(theory: dict | None, measured: float | None) -> str:
    """The theoretical peak beside the measured one, and what it means when the
    measured rate beats it (the cores run above the clock the kernel reports)."""
    if not theory:
        return "not derivable here (unknown vector units or clock)"
    text = f"{theory['gflops']:.1f} GFLOP/s = {theory['derivation']}"
    if measured and measured > theory["gflops"]:
        text += (
            f"; the measured matmul ({measured:.1f}) beats it, so the cores run above the "
            "reported clock (boost): read this as a floor of the true peak"
        )
    elif measured:
        text += f"; the measured matmul reaches {measured / theory['gflops']:.0%} of it"
    return text


def _histories(cells) -> dict:
    """(backend, model) -> [(cumulative train seconds, test accuracy)] of the first seed."""
    out = {}
    for (b, m, impl, _), runs in cells.items():
        ok = [r for r in runs if r.status == "ok" and r.history]
        if impl == "keras" and ok and (b, m) not in out:
            t, pts = 0.0, []
            for h in ok[0].history:
                t += h.train_seconds
                pts.append((t, h.test_accuracy))
            out[(b, m)] = pts
    return out


def _misclassified(cells) -> dict:
    return {
        (b, m): runs[0].misclassified[:8]
        for (b, m, impl, _), runs in cells.items()
        if impl == "keras" and runs[0].status == "ok"
    }


def _rounds(cells, keys) -> dict:
    """(model, variant) -> backend -> per-round throughputs (examples/s), for the figure."""
    out = {}
    for model, var in keys:
        for (b, m, impl, v), runs in cells.items():
            if m == model and v == var and impl == "keras":
                vals = [t for r in runs if r.status == "ok" for t in round_throughputs(r).values()]
                if vals:
                    out.setdefault((model, var), {})[b] = vals
    return out


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


def csv_text(report: dict, key: str = "csv") -> str:
    buf = io.StringIO()
    rows = report[key]
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Keras backend comparison</title>
<style>
body{font-family:system-ui,sans-serif;max-width:62em;margin:auto;padding:0 1em;line-height:1.4}
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
