"""What the report says, in order, as plain text and tables: one data model that the
Markdown and HTML renderers (``suite.report``) both lay out. Pure functions.

Order: the answer first (recommendation and a headline table per device), then the
details (throughput, accuracy, environment), then sweeps and gradients, and the
gallery of misclassified digits last. Text may use `code` and *emphasis*.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from suite.grads import VERDICT_NOTE, grads_notes, grads_tables
from suite.report_data import ACCURACY_MARGIN, SPEED_THRESHOLD, accuracy_sentence


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    title: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    level: int  # 1 page, 2 device or part, 3 detail
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # keys of ``report.figures``


THROUGHPUT_NOTE = (
    "Examples per second of Keras' own `fit()` with no per-step instrumentation, timed in "
    "chunks of consecutive steps that the backends train in turn (compile, `fit()` set-up, "
    "evaluation and waiting excluded). *Time ratio* is each backend's time per example over "
    "the fastest's: the geometric mean of per-round ratios with a 95% t-interval over "
    "rounds (rounds ran seconds apart, so machine drift cancels). Rounds of one run are "
    "not independent of that run, though: this VM's speed changes in phases that last many "
    "rounds and move backends unequally, so with 3 or more runs (seeds) the interval is "
    "also taken with runs as the units and the wider one is shown; a one-run interval "
    "(`--quick`) leaves out between-run variation, and each table says which it is. "
    "Backends are ranked only "
    f"when the interval excludes 1 and the ratio exceeds {1 + SPEED_THRESHOLD:.2f}; "
    "otherwise they are *indistinguishable here*. *Drift* is max/min of a backend's "
    "per-round throughput: what the pairing cancelled. Step latency is a diagnostic: each "
    "step synchronised, first steps (compilation) apart."
)
ACCURACY_NOTE = (
    "Every backend starts from the same weights and sees the same batches for a seed, so "
    "backends are compared through per-seed differences to the fastest: mean with a 95% "
    f"t-interval, and equivalence within ±{ACCURACY_MARGIN * 100:.1f} points by two "
    "one-sided tests (TOST, α = 0.05). One seed cannot tell."
)
GRADS_NOTE = (
    "Same weights, same batch: each backend's logits, loss and gradients with its own "
    "autodiff, every pair compared and each backend against float64 numpy references. "
    "*pass*: logits, loss and every gradient within max|a−b|/max|b| ≤ 1e-4, cosine ≥ "
    "1 − 1e-6 and, element by element, |a−b| ≤ 1e-3 (|b| + 0.01 max|b|) in float32 "
    "(1e-10, 1 − 1e-12, 1e-9 in float64). *compiled step* rows check the code that is "
    "timed: one step of Keras' own compiled train function (what `fit()` runs; XLA on JAX "
    "and TensorFlow), SGD, dropout off, its applied gradient read back as (W0 − W1)/lr, "
    "compared across backends and, as *compiled vs eager*, with the same backend's "
    "autodiff above. The weight trajectories are information only: "
    "float32 rounding differences grow with training by design, so no bound is claimed. "
    + VERDICT_NOTE
)


def sections(report: dict) -> list[Section]:
    out = [Section("Keras backend comparison", 1, _preamble(report))]
    for i, d in enumerate(report["devices"]):
        out += _device(d, i)
    if report["sweeps"]:
        out.append(_sweeps(report["sweeps"]))
    if report["grads"]:
        g = report["grads"]
        out.append(
            Section(
                "Gradient equivalence",
                2,
                [GRADS_NOTE, *grads_notes(g)[:2]],
                tables=[Table(h, rows, title) for title, h, rows in grads_tables(g)],
                figures=["grads_heatmap", "trajectory"],
            )
        )
    if report.get("portability"):
        out.append(_portability(report["portability"]))
    if report.get("recipes"):
        out.append(_recipes(report["recipes"]))
    if report["skipped"]:
        out.append(Section("Skipped files", 2, bullets=list(report["skipped"])))
    if report["devices"]:
        out.append(Section("Misclassified test images", 2, figures=["misclassified"]))
    return out


def _preamble(report: dict) -> list[str]:
    lines = [
        f"Generated {report['generated']} from {', '.join(report['folders'])}: "
        f"{report['n_runs']} run results, {len(report['skipped'])} files skipped."
    ]
    if report["waiting_cpu_share"] is not None:
        lines.append(
            "While one backend trained its chunk, the waiting workers used at most "
            f"{report['waiting_cpu_share']:.1%} of a core (measured per turn from their CPU "
            "time): they were idle, not spinning."
        )
    return lines


def _label(d: dict, model: str, var: str) -> str:
    single = len(d["groups"]) == len(d["models"])
    return model if single else f"{model} ({var})"


def _device(d: dict, i: int) -> list[Section]:
    acc = {(a["model"], a["variant"], a["backend"]): a for a in d["accuracy"]}
    headline = [
        [
            _label(d, m, v),
            r["backend"],
            f"{r['examples_per_s']:,.0f}",
            ratio_text(r["ratio"]),
            _pct(acc.get((m, v, r["backend"]), {}).get("mean")),
            difference_text(acc.get((m, v, r["backend"]), {}).get("difference")),
            "-" if r["first_step_ms"] is None else f"{r['first_step_ms']:.0f}",
            "-" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}",
        ]
        for (m, v), rows in d["speed"].items()
        for r in rows
    ]
    answer = Section(
        "Which backend should I use?",
        3,
        bullets=list(d["recommendation"]),
        tables=[
            Table(
                [
                    "model",
                    "backend",
                    "training throughput, examples/s",
                    "time ratio to fastest [95% CI]",
                    "test accuracy",
                    "accuracy − fastest's, points [95% CI]",
                    "first step (compile), ms",
                    "peak RSS, MB",
                ],
                headline,
                "At a glance: every backend and model",
            )
        ],
    )
    throughput = Section(
        "Training throughput (what ranks)",
        3,
        [THROUGHPUT_NOTE],
        tables=[
            Table(
                _SPEED_HEADERS,
                [_speed_row(r) for r in rows],
                f"{_label(d, m, v)} — {d['verdicts'][(m, v)]} (CI: {_ci_kind(rows)})",
            )  # fmt: skip
            for (m, v), rows in d["speed"].items()
        ],
        figures=[f"throughput_{i}"],
    )
    if d["native"]:
        words = {"slower": "Keras slower", "faster": "Keras faster: native baseline weak",
                 "indistinguishable": "indistinguishable here"}  # fmt: skip
        throughput.tables.append(
            Table(
                ["model", "backend", "Keras ÷ native time per example [95% CI]", "verdict"],
                [
                    [
                        _label(d, n["model"], n["variant"]),
                        n["backend"],
                        ratio_text(n["ratio"]),
                        words[n["verdict"]],
                    ]  # fmt: skip
                    for n in d["native"]
                ],
                "Keras against the same network written natively, on the same backend",
            )
        )
    accuracy = Section(
        "Accuracy (final test accuracy, paired by seed)",
        3,
        [ACCURACY_NOTE],
        bullets=[f"{m}: {accuracy_sentence(d['accuracy'], m, v)}" for m, v in d["groups"]],
        tables=[
            Table(
                [
                    "model",
                    "backend",
                    "epochs",
                    "seeds",
                    "mean ± std",
                    "target",
                    "reached",
                    "difference to fastest [95% CI], points",
                ],  # fmt: skip
                [
                    [
                        _label(d, a["model"], a["variant"]),
                        a["backend"],
                        str(a["epochs"]),
                        str(a["n"]),
                        f"{_pct(a['mean'])} ± {a['std'] * 100:.2f}"
                        if a["std"] is not None
                        else _pct(a["mean"]),
                        _pct(a["target"]),
                        "yes" if a["reached"] else "no",
                        difference_text(a["difference"]),
                    ]
                    for a in d["accuracy"]
                ],
            )
        ],
        figures=[f"accuracy_time_{i}"],
    )
    environment = Section("Environment", 3, tables=[Table(["setting", "value"], d["environment"])])
    parts = [Section(d["key"], 2), answer, throughput, accuracy]
    if d.get("scaling"):
        parts.append(_scaling(d["scaling"], d["key"]))
    return [*parts, environment]


SCALING_NOTE = (
    "Data-parallel training with each backend's own engine (JAX `keras.distribution."
    "DataParallel`, TensorFlow `MirroredStrategy` with Keras `fit()`, torch "
    "`DistributedDataParallel` in a torch loop following Keras' guide: not `fit()`), the "
    "global batch split into equal shards. *Ratio* is N-device throughput over 1-device "
    "throughput with the same settings and loop (torch: its DDP loop on one rank), "
    "*efficiency* is ratio ÷ N; the 95% interval is paired by round where both trained "
    "in the same rounds (`compare --devices N` runs both), else a Welch interval over runs "
    "(seeds). These groups are never ranked against single-device ones."
)
CPU_SCALING = (
    "On a CPU the N devices are virtual (XLA host devices, TensorFlow logical devices, N "
    "gloo processes) sharing the same cores: this measures the engines' overhead, not "
    "speed-up, and efficiency below 1 is expected."
)


def _scaling(rows: list[dict], key: str) -> Section:
    body = [
        [
            r["model"],
            r["backend"],
            str(r["devices"]),
            r["engine"],
            f"{r['throughput_1']:,.0f}",
            f"{r['throughput_n']:,.0f}",
            ratio_text(r["ratio"]),
            ratio_text(r["efficiency"]),
            f"{r['runs'][0]} / {r['runs'][1]}",
        ]
        for r in rows
    ]
    headers = [
        "model",
        "backend",
        "devices",
        "engine",
        "1 device, examples/s",
        "N devices, examples/s",
        "ratio N÷1",
        "efficiency",
        "runs (1 / N)",
    ]
    notes = [SCALING_NOTE] + ([CPU_SCALING] if key.startswith("cpu") else [])
    return Section("Scaling over devices", 3, notes, tables=[Table(headers, body)])


_SPEED_HEADERS = [
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
]


def _speed_row(r: dict) -> list[str]:
    tta = "-" if r["time_to_accuracy_s"] is None else f"{r['time_to_accuracy_s']:.1f}"
    return [
        r["backend"],
        f"{r['examples_per_s']:,.0f}",
        f"{r['ms_per_step']:.3f}",
        ratio_text(r["ratio"]),
        r["verdict"],
        str(r["rounds"]),
        "-" if r["drift"] is None else f"{r['drift']:.2f}",
        _gflops(r),
        "-"
        if r["latency_ms"] is None
        else f"{r['latency_ms']:.3f} [{r['latency_p10_ms']:.3f}, {r['latency_p90_ms']:.3f}]",
        "-" if r["first_step_ms"] is None else f"{r['first_step_ms']:.0f}",
        f"{tta} ({r['reached']}/{r['seeds']})",
        "-" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}",
    ]


def _sweeps(sweeps: list[dict]) -> Section:
    def ratio(o):
        if not o:
            return "-"
        if o["ci"][0] is None:
            return f"{o['ratio']:.2f} (no CI)"
        words = " (indistinguishable here)" if o["verdict"] == "indistinguishable" else ""
        return f"{o['ratio']:.2f} [{o['ci'][0]:.2f}, {o['ci'][1]:.2f}]{words}"

    return Section(
        "Keras vs native, and each backend's best mode",
        2,
        paragraphs=[
            "`sweep` trains every execution mode of one backend side by side in rounds, "
            "as `compare` trains backends, so each ratio here is a time ratio with a 95% "
            "CI paired by round. *Margin*: the runner-up Keras mode's time ÷ the winner's. "
            "*Keras ÷ native*: the best Keras mode's time ÷ the best native mode's (> 1: "
            "Keras is slower; < 1: the native baseline is the weaker program)."
        ],
        tables=[
            Table(
                [
                    "backend",
                    "model",
                    "best Keras mode",
                    "margin over runner-up",
                    "best native mode",
                    "Keras ÷ native",
                ],
                [
                    [
                        s["backend"],
                        s["model"],
                        s["best_keras"] or "-",
                        (f"{s['margin']['runner_up']}: " + ratio(s["margin"]))
                        if s.get("margin")
                        else "-",
                        s["best_native"] or "-",
                        ratio(s["overhead"]),
                    ]  # fmt: skip
                    for s in sweeps
                ],
            )
        ],
    )


PORTABILITY_NOTE = (
    "Keras 3 writes `.weights.h5` in one format on every backend. Each backend trained "
    "every model for one epoch on the first {n:,} training images from the shared initial "
    "weights and saved them; every other backend loaded the file into a fresh model and "
    "predicted the 10,000 test images. *pass*: every logit within {rtol:g} × max(1, "
    "max|logit|) of the saving backend's own prediction (float32 sums taken in another "
    "order differ by a few roundings; a label can then change only at a near tie)."
)
RECIPES_NOTE = (
    "The source notebooks' own recipes (model, task, initialisation, loss, SGD settings, "
    "batch order), trained with Keras `fit()` on each backend: `python -m suite recipes` "
    "lists them, `python -m suite recipes --compare` runs them. Final test (3-vs-7: "
    "validation) accuracy; in brackets the gap to the notebook's printed figure in points. "
    "Every backend starts from the same numpy-drawn weights."
)


def _portability(blob: dict) -> Section:
    from suite.portability import all_pass, transfer_table

    rows = blob["transfers"]
    failed = [r for r in rows if r.verdict != "pass"]
    verdict = (
        f"All {len(rows)} transfers pass: weights saved on any backend predict the same "
        "on the others."
        if all_pass(rows)
        else f"{len(failed)} of {len(rows)} transfers fail: "
        + ", ".join(f"{r.model} {r.source}→{r.target}" for r in failed)
        + "."
    )
    note = PORTABILITY_NOTE.format(n=blob["train_examples"], rtol=blob["logit_rtol"])
    return Section(
        "Weights across backends", 2, [note, verdict], tables=[Table(*transfer_table(rows))]
    )


def _recipes(results: list) -> Section:
    from suite.backends import BACKENDS
    from suite.recipes import RECIPES, recipe_rows

    backends = [b for b in BACKENDS if any(r.backend == b for r in results)]
    rows = recipe_rows(results, backends)
    notes = [
        f"`{name}` ({RECIPES[name].notebook[:3]}): {RECIPES[name].differences}."
        for name in dict.fromkeys(r[0] for r in rows)
        if RECIPES[name].differences
    ]
    table = Table(["recipe", "epochs", "notebook", *backends], rows)
    return Section("Notebook recipes", 2, [RECIPES_NOTE], bullets=notes, tables=[table])


def _ci_kind(rows: list[dict]) -> str:
    kinds = sorted({r["ratio"].method for r in rows if r["ratio"] is not None})
    return "; ".join(kinds) or "none"


def ratio_text(q) -> str:
    if q is None:
        return "1 (fastest)"
    if q.low is None:
        return f"{q.ratio:.2f} (no CI)"
    return f"{q.ratio:.2f} [{q.low:.2f}, {q.high:.2f}]"


def difference_text(d) -> str:
    if d is None:
        return "-"
    if d.low is None:
        return f"{d.mean * 100:+.2f} (1 seed: cannot tell)"
    word = "equivalent" if d.equivalent else "not shown equivalent"
    return f"{d.mean * 100:+.2f} [{d.low * 100:+.2f}, {d.high * 100:+.2f}] {word}"


def _pct(v) -> str:
    return f"{v:.2%}" if v is not None else "-"


def _gflops(r: dict) -> str:
    """Achieved GFLOP/s and its share of the machine's best large-matmul rate."""
    if not r.get("peak_gflops"):
        return f"{r['gflops_per_s']:.2f}"
    return f"{r['gflops_per_s']:.2f} ({r['gflops_per_s'] / r['peak_gflops']:.1%})"
