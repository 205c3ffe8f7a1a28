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
from suite.report_data import (
    ACCURACY_MARGIN,
    SPEED_THRESHOLD,
    accuracy_rows,
    accuracy_sentence,
    collect,
    csv_rows,
    group,
    machine_peak,
    model_groups,
    ratio_rows,
    recommendation,
    round_throughputs,
    speed_rows,
    speed_sentence,
    waiting_cpu_share,
)

COLOURS = {"torch": "#ee4c2c", "jax": "#4285f4", "tensorflow": "#ff9900"}


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
                "native": {
                    k: speed_rows(cells, *k, impl="native") for k in model_groups(cells, "native")
                },
                "verdicts": {k: speed_sentence(rows) for k, rows in speed.items()},
                "ratios": ratio_rows(speed),
                "rounds": _rounds(cells, keys),
                "environment": _environment(cells),
                "histories": _histories(cells),
                "misclassified": _misclassified(cells),
            }
        )
    grads = max(c.grads, key=lambda g: g.get("settings", {}).get("seed", 0), default=None)
    grads_ok = (
        None if grads is None else all(p["pass"] for p in grads["pairs"] + grads["reference"])
    )
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
        "waiting_cpu_share": waiting_cpu_share(c.rounds),
    }


def _environment(cells) -> list[list[str]]:
    r = next(iter(cells.values()))[0]["environment"]
    rows = [
        ["python", r.get("python")],
        ["keras", r.get("keras")],
        ["cpu", r.get("cpu")],
        ["cores (logical)", r.get("cpu_cores_logical")],
        ["os", r.get("os")],
    ]
    seen = {}
    for runs in cells.values():
        env = runs[0]["environment"]
        seen[env["backend"]] = (
            env.get("framework"),
            env.get("settings", {}).get("intra_op_threads"),
        )
    rows += [[f"{b} version, threads", f"{v}, {t}"] for b, (v, t) in sorted(seen.items())]
    peak, by = machine_peak(cells)
    if peak:
        rows.append(["% of peak denominator", f"{peak:.1f} GFLOP/s: best float32 matmul, via {by}"])
    return [[str(a), str(b)] for a, b in rows]


def _histories(cells) -> dict:
    """(backend, model) -> [(cumulative train seconds, test accuracy)] of the first seed."""
    out = {}
    for (b, m, impl, _), runs in cells.items():
        ok = [r for r in runs if r["status"] == "ok" and r.get("history")]
        if impl == "keras" and ok and (b, m) not in out:
            t, pts = 0.0, []
            for h in ok[0]["history"]:
                t += h["train_seconds"]
                pts.append((t, h["test_accuracy"]))
            out[(b, m)] = pts
    return out


def _misclassified(cells) -> dict:
    return {
        (b, m): runs[0].get("misclassified", [])[:8]
        for (b, m, impl, _), runs in cells.items()
        if impl == "keras" and runs[0]["status"] == "ok"
    }


def _rounds(cells, keys) -> dict:
    """(model, variant) -> backend -> per-round throughputs (examples/s), for the figure."""
    out = {}
    for model, var in keys:
        for (b, m, impl, v), runs in cells.items():
            if m == model and v == var and impl == "keras":
                vals = [
                    t for r in runs if r["status"] == "ok" for t in round_throughputs(r).values()
                ]
                if vals:
                    out.setdefault((model, var), {})[b] = vals
    return out


def _pct(v):
    return f"{v:.2%}" if v is not None else "-"


def markdown(report: dict) -> str:
    lines = [
        "# Keras backend comparison",
        "",
        f"Generated {report['generated']} from {', '.join(report['folders'])}: "
        f"{report['n_runs']} run results, {len(report['skipped'])} files skipped.",
        "",
    ]
    if report["waiting_cpu_share"] is not None:
        lines += [
            "While one backend trained its chunk, the waiting workers used at most "
            f"{report['waiting_cpu_share']:.1%} of a core (measured per turn from their CPU "
            "time): they were idle, not spinning.",
            "",
        ]
    for d in report["devices"]:
        lines += [f"## {d['key']}", "", "### Which backend should I use?", ""]
        lines += [f"- {r}" for r in d["recommendation"]] + [""]
        single = len(d["groups"]) == len(d["models"])
        lines += [
            "### Training throughput (what ranks)",
            "",
            "Examples per second of Keras' own `fit()` with no per-step instrumentation, "
            "timed in chunks of consecutive steps that the backends train in turn "
            "(compile, `fit()` set-up, evaluation and waiting excluded). *Time ratio* is "
            "each backend's time per example over the fastest's: the geometric mean of "
            "per-round ratios with a 95% t-interval over rounds (rounds ran seconds apart, "
            "so machine drift cancels). Backends are ranked only when the interval excludes "
            f"1 and the ratio exceeds {1 + SPEED_THRESHOLD:.2f}; otherwise they are "
            "*indistinguishable here*. *Drift* is max/min of a backend's per-round "
            "throughput: what the pairing cancelled. Step latency is a diagnostic: each "
            "step synchronised, first steps (compilation) apart.",
            "",
        ]
        for (m, var), rows in d["speed"].items():
            title = m if single else f"{m} ({var})"
            lines += [
                f"**{title}** — {d['verdicts'][(m, var)]}",
                "",
                _md(
                    [
                        "backend",
                        "examples/s",
                        "ms/step",
                        "time ratio [95% CI]",
                        "verdict",
                        "rounds",
                        "drift",
                        "GFLOP/s (% of peak)",
                        "latency ms median [p10, p90] (diagnostic)",
                        "first step ms",
                        "time to target s (seeds reached)",
                        "peak RSS MB",
                    ],
                    [
                        [
                            r["backend"],
                            f"{r['examples_per_s']:,.0f}",
                            f"{r['ms_per_step']:.3f}",
                            _ratio(r["ratio"]),
                            r["verdict"],
                            r["rounds"],
                            "-" if r["drift"] is None else f"{r['drift']:.2f}",
                            _gflops(r),
                            "-"
                            if r["latency_ms"] is None
                            else f"{r['latency_ms']:.3f} [{r['latency_p10_ms']:.3f}, "
                            f"{r['latency_p90_ms']:.3f}]",
                            "-" if r["first_step_ms"] is None else f"{r['first_step_ms']:.0f}",
                            (
                                "-"
                                if r["time_to_accuracy_s"] is None
                                else f"{r['time_to_accuracy_s']:.1f}"
                            )
                            + f" ({r['reached']}/{r['seeds']})",
                            "-" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}",
                        ]
                        for r in rows
                    ],
                ),
                "",
            ]
        lines += [
            "### Accuracy (final test accuracy, paired by seed)",
            "",
            "Every backend starts from the same weights and sees the same batches for a "
            "seed, so backends are compared through per-seed differences to the fastest: "
            f"mean with a 95% t-interval, and equivalence within ±{ACCURACY_MARGIN * 100:.1f} "
            "points by two one-sided tests (TOST, α = 0.05). One seed cannot tell.",
            "",
            _md(
                [
                    "model",
                    "backend",
                    "epochs",
                    "seeds",
                    "mean ± std",
                    "target",
                    "reached",
                    "difference to fastest [95% CI], points",
                ],
                [
                    [
                        a["model"] if single else f"{a['model']} ({a['variant']})",
                        a["backend"],
                        a["epochs"],
                        a["n"],
                        f"{_pct(a['mean'])} ± {a['std'] * 100:.2f}"
                        if a["std"] is not None
                        else _pct(a["mean"]),
                        _pct(a["target"]),
                        "yes" if a["reached"] else "no",
                        _difference(a["difference"]),
                    ]
                    for a in d["accuracy"]
                ],
            ),
            "",
        ]
        lines += [f"- {m}: {accuracy_sentence(d['accuracy'], m, v)}" for m, v in d["groups"]]
        lines += [""]
        lines += ["### Environment", "", _md(["", ""], d["environment"]), ""]
    if report["sweeps"]:
        lines += [
            "## Keras vs native, and each backend's best mode",
            "",
            _md(
                [
                    "backend",
                    "model",
                    "best Keras mode",
                    "best native mode",
                    "Keras ÷ native [95% CI]",
                ],
                [
                    [
                        s["backend"],
                        s["model"],
                        s["best_keras"] or "-",
                        s["best_native"] or "-",
                        f"{s['overhead']['ratio']:.2f} [{s['overhead']['ci'][0]:.2f}, "
                        f"{s['overhead']['ci'][1]:.2f}] (within-run)"
                        if s["overhead"] and s["overhead"]["ci"][0] is not None
                        else f"{s['overhead']['ratio']:.2f}"
                        if s["overhead"]
                        else "-",
                    ]
                    for s in report["sweeps"]
                ],
            ),
            "",
        ]
    if report["grads"]:
        g = report["grads"]
        lines += [
            "## Gradient equivalence",
            "",
            _md(
                ["model", "dtype", "pair", "grads max|a−b|/max|b|", "logits", "verdict"],
                [
                    [
                        p["model"],
                        p["dtype"],
                        f"{p['a']}-{p['b']}",
                        f"{p['overall']['rel']:.1e}",
                        f"{p['logits']['rel']:.1e}",
                        _grads_status(p),
                    ]
                    for p in g["pairs"]
                ],
            ),
            "",
        ]
    if report["skipped"]:
        lines += ["## Skipped files", ""] + [f"- {s}" for s in report["skipped"]] + [""]
    return "\n".join(lines)


def _ratio(q) -> str:
    if q is None:
        return "1 (fastest)"
    if q.low is None:
        return f"{q.ratio:.2f} (no CI)"
    return f"{q.ratio:.2f} [{q.low:.2f}, {q.high:.2f}]"


def _difference(d) -> str:
    if d is None:
        return "-"
    if d.low is None:
        return f"{d.mean * 100:+.2f} (1 seed: cannot tell)"
    word = "equivalent" if d.equivalent else "not shown equivalent"
    return f"{d.mean * 100:+.2f} [{d.low * 100:+.2f}, {d.high * 100:+.2f}] {word}"


def _gflops(r: dict) -> str:
    """Achieved GFLOP/s and its share of the machine's best large-matmul rate."""
    if not r.get("peak_gflops"):
        return f"{r['gflops_per_s']:.2f}"
    return f"{r['gflops_per_s']:.2f} ({r['gflops_per_s'] / r['peak_gflops']:.1%})"


def _grads_status(p: dict) -> str:
    status = p.get("status") or ("pass" if p.get("pass") else "FAIL")
    return status + (" (as float32)" if p["dtype"] != p.get("judged_as", p["dtype"]) else "")


def _md(headers, rows) -> str:
    esc = [[str(c).replace("|", "\\|") for c in r] for r in rows]
    heads = [str(h).replace("|", "\\|") for h in headers]
    out = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(headers)]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in esc])


def csv_text(report: dict) -> str:
    buf = io.StringIO()
    rows = report["csv"]
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def figures(report: dict) -> dict[str, bytes]:
    """PNG figures by name; each a plain matplotlib chart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out = {}
    for i, d in enumerate(report["devices"]):
        groups = [k for k in d["groups"] if d["rounds"].get(k)]
        if groups:
            fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3), squeeze=False)
            for ax, k in zip(axes[0], groups, strict=True):
                per = d["rounds"][k]
                names = sorted(per, key=lambda b: -float(np.median(per[b])))
                for x, b in enumerate(names):
                    v = per[b]
                    jitter = (np.arange(len(v)) % 7 - 3) * 0.04
                    ax.plot(x + jitter, v, "o", ms=3, alpha=0.6, color=COLOURS.get(b, "grey"))
                    ax.plot([x - 0.3, x + 0.3], [np.median(v)] * 2, color="black", lw=1.5)
                ax.set_xticks(range(len(names)), names)
                ax.set_ylim(bottom=0)
                ax.set_title(f"{k[0]}: throughput per round")
                ax.set_ylabel("examples/s (plain fit)")
            out[f"throughput_{i}"] = _png(fig)
        if d["histories"]:
            hist_models = [m for m in d["models"] if any(k[1] == m for k in d["histories"])]
            fig, axes = plt.subplots(
                1, len(hist_models), figsize=(4 * len(hist_models), 3), squeeze=False
            )
            for ax, m in zip(axes[0], hist_models, strict=True):
                for (b, mm), pts in sorted(d["histories"].items()):
                    if mm == m:
                        ax.plot(
                            [p[0] for p in pts],
                            [p[1] * 100 for p in pts],
                            marker="o",
                            label=b,
                            color=COLOURS.get(b, "grey"),
                        )
                ax.set_title(f"{m}: test accuracy vs training time")
                ax.set_xlabel("training s (evaluation excluded)")
                ax.set_ylabel("test accuracy, %")
                ax.legend(fontsize=7)
            out[f"accuracy_time_{i}"] = _png(fig)
    g = report["grads"]
    if g and g["pairs"]:
        pairs = sorted({f"{p['a']}-{p['b']}" for p in g["pairs"]})
        cols = sorted({(p["model"], p["dtype"]) for p in g["pairs"]})
        import numpy as np

        grid = np.full((len(pairs), len(cols)), np.nan)
        for p in g["pairs"]:
            grid[pairs.index(f"{p['a']}-{p['b']}"), cols.index((p["model"], p["dtype"]))] = (
                np.log10(max(p["overall"]["rel"], 1e-17))
            )
        fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 2, 0.6 * len(pairs) + 1.5))
        im = ax.imshow(grid, cmap="viridis")
        ax.set_xticks(range(len(cols)), [f"{m}\n{d}" for m, d in cols], fontsize=7)
        ax.set_yticks(range(len(pairs)), pairs, fontsize=7)
        fig.colorbar(im, label="log10 max|a−b|/max|b|")
        ax.set_title("gradient difference between backends")
        out["grads_heatmap"] = _png(fig)
        if g["trajectory"]:
            fig, ax = plt.subplots(figsize=(6, 3.5))
            for t in g["trajectory"]:
                steps = sorted(t["weight_rel"], key=int)
                ax.semilogy(
                    [int(s) for s in steps],
                    [max(t["weight_rel"][s], 1e-17) for s in steps],
                    marker="o",
                    label=f"{t['model']} {t['optimizer']} {t['a']}-{t['b']}",
                )
            ax.set_xlabel("training step")
            ax.set_ylabel("max relative weight difference")
            ax.legend(fontsize=5, ncol=2)
            out["trajectory"] = _png(fig)
    gallery = _gallery(report, plt)
    if gallery:
        out["misclassified"] = gallery
    return out


def _gallery(report, plt):
    """Test images each backend's model gets wrong (first few), predicted vs true."""
    try:
        from suite.data import load_mnist

        mnist = load_mnist(online=False)
    except Exception:  # no cached MNIST here: the report goes on without the gallery
        return None
    items = [
        (b, m, i, p)
        for d in report["devices"]
        for (b, m), wrong in sorted(d["misclassified"].items())
        for i, p in wrong[:6]
    ]
    if not items:
        return None
    cols = 6
    rows = -(-len(items) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.4, rows * 1.6), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (b, m, i, p) in zip(axes.ravel(), items, strict=False):
        ax.imshow(mnist.x_test[i], cmap="gray_r")
        ax.set_title(f"{b} {m}\n#{i}: {p} (true {mnist.y_test[i]})", fontsize=6)
    return _png(fig)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Keras backend comparison</title>
<style>body{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;
font-size:90%}pre{white-space:pre-wrap}img{max-width:100%;height:auto}figure{margin:1em 0}
</style></head><body>
<h1>Keras backend comparison</h1>
<p>Generated {{ r.generated }} from {{ r.folders|join(", ") }}: {{ r.n_runs }} run results,
{{ r.skipped|length }} files skipped.</p>
{% for name, data in figs.items() %}<figure><img alt="{{ caption(name) }}"
src="data:image/png;base64,{{ data }}"><figcaption>{{ caption(name) }}</figcaption></figure>
{% endfor %}
<h2>Tables</h2><pre>{{ md }}</pre>
</body></html>
"""


def html(report: dict, md: str, figs: dict[str, bytes]) -> str:
    """One self-contained page: figures inline as data URIs, every text escaped."""
    from jinja2 import Environment

    env = Environment(autoescape=True)
    encoded = {k: base64.b64encode(v).decode() for k, v in figs.items()}
    return env.from_string(HTML).render(r=report, md=md, figs=encoded, caption=caption)


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
    md = markdown(report)
    texts = {
        "report.md": md,
        "report.csv": csv_text(report),
        "report.html": html(report, md, figures(report)),
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
            [m, r["backend"], f"{r['examples_per_s']:,.0f}", _ratio(r["ratio"]), r["verdict"]]
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
