"""The report's sections, in reading order, as plain data: ``sections(report)`` lays
out what ``build_report`` computed; ``render`` writes them as Markdown and HTML."""

from __future__ import annotations

from suite.report.appendix import (
    grads_section,
    portability_section,
    recipes_section,
    scaling_section,
    sweeps_section,
)
from suite.report.layout import (
    Section,
    Table,
    ci_kind,
    difference_text,
    gflops,
    label,
    pct,
    ratio_text,
)
from suite.report.tables import ACCURACY_MARGIN, SPEED_THRESHOLD
from suite.report.text import accuracy_sentence

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


def sections(report: dict) -> list[Section]:
    out = [Section("Keras backend comparison", 1, _preamble(report))]
    for i, d in enumerate(report["devices"]):
        out += _device(d, i)
    if report["sweeps"]:
        out.append(sweeps_section(report["sweeps"]))
    if report["grads"]:
        out.append(grads_section(report["grads"]))
    if report.get("portability"):
        out.append(portability_section(report["portability"]))
    if report.get("recipes"):
        out.append(recipes_section(report["recipes"]))
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


def _device(d: dict, i: int) -> list[Section]:
    parts = [Section(d["key"], 2), _answer(d), _throughput(d, i), _accuracy(d, i)]
    if d.get("scaling"):
        parts.append(scaling_section(d["scaling"], d["key"]))
    environment = Section("Environment", 3, tables=[Table(["setting", "value"], d["environment"])])
    return [*parts, environment]


HEADLINE = [
    "model",
    "backend",
    "training throughput, examples/s",
    "time ratio to fastest [95% CI]",
    "test accuracy",
    "accuracy − fastest's, points [95% CI]",
    "first step (compile), ms",
    "peak RSS, MB",
]


def _answer(d: dict) -> Section:
    acc = {(a["model"], a["variant"], a["backend"]): a for a in d["accuracy"]}
    headline = [
        [
            label(d, m, v),
            r["backend"],
            f"{r['examples_per_s']:,.0f}",
            ratio_text(r["ratio"]),
            pct(acc.get((m, v, r["backend"]), {}).get("mean")),
            difference_text(acc.get((m, v, r["backend"]), {}).get("difference")),
            "-" if r["first_step_ms"] is None else f"{r['first_step_ms']:.0f}",
            "-" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}",
        ]
        for (m, v), rows in d["speed"].items()
        for r in rows
    ]
    table = Table(HEADLINE, headline, "At a glance: every backend and model")
    failed = [f"{b} could not run {m}: {why}" for b, m, why in d.get("failures", [])]
    return Section(
        "Which backend should I use?",
        3,
        bullets=[*d["recommendation"], *failed],
        tables=[table],
    )


def _throughput(d: dict, i: int) -> Section:
    section = Section(
        "Training throughput (what ranks)",
        3,
        [THROUGHPUT_NOTE],
        tables=[
            Table(
                _SPEED_HEADERS,
                [_speed_row(r) for r in rows],
                f"{label(d, m, v)} — {d['verdicts'][(m, v)]} (CI: {ci_kind(rows)})",
            )  # fmt: skip
            for (m, v), rows in d["speed"].items()
        ],
        figures=[f"throughput_{i}"],
    )
    if d["native"]:
        section.tables.append(_native_table(d))
    return section


NATIVE_WORDS = {
    "slower": "Keras slower",
    "faster": "Keras faster: native baseline weak",
    "indistinguishable": "indistinguishable here",
}


def _native_table(d: dict) -> Table:
    rows = [
        [label(d, n["model"], n["variant"]), n["backend"], ratio_text(n["ratio"]),
         NATIVE_WORDS[n["verdict"]]]
        for n in d["native"]
    ]  # fmt: skip
    headers = ["model", "backend", "Keras ÷ native time per example [95% CI]", "verdict"]
    return Table(
        headers, rows, "Keras against the same network written natively, on the same backend"
    )


ACCURACY_HEADERS = [
    "model",
    "backend",
    "epochs",
    "seeds",
    "mean ± std",
    "target",
    "reached",
    "difference to fastest [95% CI], points",
]


def _accuracy(d: dict, i: int) -> Section:
    rows = [
        [
            label(d, a["model"], a["variant"]),
            a["backend"],
            str(a["epochs"]),
            str(a["n"]),
            f"{pct(a['mean'])} ± {a['std'] * 100:.2f}" if a["std"] is not None else pct(a["mean"]),
            pct(a["target"]),
            "yes" if a["reached"] else "no",
            difference_text(a["difference"]),
        ]
        for a in d["accuracy"]
    ]
    subsets = d.get("subsets") or {}
    note = [ACCURACY_NOTE]
    if subsets:
        trained = ", ".join(f"{m} {n:,}" for m, n in subsets.items())
        note.append(
            f"Trained on the first of MNIST's 60,000 training images only ({trained} per "
            "cell; `compare --quick` does so for the heavy workloads to keep its time "
            "budget): these accuracies are not their recipes' and say nothing about the "
            "targets."
        )
    return Section(
        "Accuracy (final test accuracy, paired by seed)",
        3,
        note,
        bullets=[f"{m}: {accuracy_sentence(d['accuracy'], m, v)}" for m, v in d["groups"]],
        tables=[Table(ACCURACY_HEADERS, rows)],
        figures=[f"accuracy_time_{i}"],
    )


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
        gflops(r),
        "-"
        if r["latency_ms"] is None
        else f"{r['latency_ms']:.3f} [{r['latency_p10_ms']:.3f}, {r['latency_p90_ms']:.3f}]",
        "-" if r["first_step_ms"] is None else f"{r['first_step_ms']:.0f}",
        f"{tta} ({r['reached']}/{r['seeds']})",
        "-" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}",
    ]
