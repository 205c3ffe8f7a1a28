"""The report's sections, in reading order, as plain data: ``sections(report)`` lays
out what ``build_report`` computed; ``render`` writes them as Markdown and HTML."""

from __future__ import annotations

from suite.report.appendix import (
    fits_section,
    grads_section,
    portability_section,
    recipes_section,
    scaling_section,
    startup_section,
    sweeps_section,
)
from suite.report.batches import BATCH_HEADERS, batch_groups, batch_table_rows, batch_words
from suite.report.layout import (
    Section,
    Table,
    ci_from,
    difference_text,
    gflops,
    label,
    num,
    ratio_text,
)
from suite.report.machine import aa_section, noise_section, rerun_section
from suite.report.serving import inference_section, policy_section, tuned_section
from suite.report.tables import ACCURACY_MARGIN, SPEED_THRESHOLD
from suite.report.text import accuracy_sentence
from suite.report.verdict import conditions_text
from suite.report.versions import STEP_HEADERS, flagged_words, step_table_rows

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
    """The page in reading order: the verdict and its conditions first, then the
    evidence per device, the checks (collapsed), and the methods at the end."""
    out = [Section("Keras backend comparison", 1), _verdict(report)]
    for i, d in enumerate(report["devices"]):
        out += _device(d, i)
        if d.get("reruns") and (report.get("precision") or any(r["rerun"] for r in d["reruns"])):
            out.append(rerun_section(d, report.get("precision")))
    if report.get("version_failures"):
        out.append(
            Section(
                "Versions that did not run",
                3,
                ["Each line is a version set whose release did not install or import, or "
                 "was skipped; its cells were not trained. The other sets went on."],
                bullets=report["version_failures"],
                summary=f"{len(report['version_failures'])} version set(s) did not run",
            )
        )  # fmt: skip
    if report["grads"]:
        out.append(grads_section(report["grads"]))
    if report.get("portability"):
        out.append(portability_section(report["portability"]))
    if report.get("startup"):
        out.append(startup_section(report["startup"]))
    if report.get("fits"):
        out.append(fits_section(report["fits"]))
    if report["sweeps"]:
        out.append(sweeps_section(report["sweeps"]))
    if report.get("recipes"):
        out.append(recipes_section(report["recipes"]))
    if report["devices"]:
        out.append(
            Section(
                "Misclassified test images",
                2,
                figures=["misclassified"],
                summary="The first test images each backend's model gets wrong.",
            )
        )
    out.append(_methods(report))
    return out


VERDICT_HEADERS = [
    "workload",
    "use",
    "speed (time ratio, 95% CI)",
    "accuracy",
    "time to target",
    "gradients",
    "inference (predict(); one example)",
]

# the one-row-per-workload verdict: (header, WorkloadVerdict field)
WORKLOAD_COLUMNS = [
    ("workload", "workload"),
    ("use", "use"),
    ("speed (against the runner-up, 95% CI)", "speed"),
    ("inference", "inference"),
    ("mixed precision", "mixed"),
    ("each backend at its best", "mode"),
    ("accuracy", "accuracy"),
    ("gradients", "gradients"),
]


def workload_table(rows: list, title: str) -> tuple[Table, list[str]]:
    """The verdict, one row per workload; a column that says the same in every row (or
    nothing) becomes one line under the table instead."""
    columns, same = [], []
    for header, field in WORKLOAD_COLUMNS:
        values = [getattr(v, field) for v in rows]
        if field in ("workload", "use", "speed") or len(set(values)) > 1 and any(values):
            columns.append((header, field))
        elif values and values[0]:
            same.append(f"{header}: {values[0]}")
    table = Table(
        [h for h, _ in columns],
        [[getattr(v, f) or "–" for _, f in columns] for v in rows],  # a blank cell: "–"
        title,
    )
    lines = [f"The same on every workload: {'; '.join(same)}."] if same else []
    return table, lines


def _verdict(report: dict) -> Section:
    tables, paragraphs, failed = [], [], []
    for d in report["devices"]:
        table, lines = workload_table(d["workloads"], d["title"])
        tables.append(table)
        paragraphs += lines
        swept = [f"{m}: {w}" for m in d["models"] if (w := batch_words(d, m))]
        if swept:
            paragraphs.append(f"{BATCH_LEAD}: {'; '.join(swept)}.")
        if d.get("versions"):
            steps = flagged_words(d["versions"]["steps"])
            paragraphs.append(
                "Across releases (the table above ranks the backends within each release): "
                + ("; ".join(steps) if steps else "no step between neighbouring releases "
                   "is flagged") + "."
            )  # fmt: skip
        paragraphs.append(conditions_text(d["conditions"], report["sweeps"]))
        failed += [f"{b} could not run {m}: {why}" for b, m, why in d.get("failures", [])]
    if not report["devices"]:
        paragraphs.append("No training results in these folders: nothing to rank.")
    return Section("Which backend should I use?", 2, tables=tables, notes=paragraphs + failed)


def variants_section(d: dict) -> Section:
    """Every workload and variant: examples/s per backend (the fastest bold, the others
    with their time ratio), then each variant's verdict in full words."""
    backends = sorted({r["backend"] for rows in d["speed"].values() for r in rows})
    matrix = []
    for (m, v), rows in d["speed"].items():
        by = {r["backend"]: r for r in rows}
        cells = []
        for b in backends:
            r = by.get(b)
            if r is None:
                cells.append("-")
            elif r["ratio"] is None:
                cells.append(
                    f"**{num(r['examples_per_s'])}**" if len(rows) > 1 else num(r["examples_per_s"])
                )
            else:
                cells.append(
                    f"{num(r['examples_per_s'])} ({ratio_text(r['ratio']).split(' [')[0]}×)"
                )
        matrix.append([label(d, m, v), *cells])
    timed = any(len(pts) > 1 for pts in d.get("histories", {}).values())
    tuned = any(v.tuned for v in d["verdict"])
    detail = [
        [v.workload, v.use, v.speed, v.accuracy]
        + ([v.time_to_target] if timed else [])
        + [v.gradients, v.inference]
        + ([v.tuned or "no tuned cells"] if tuned else [])
        for v in d["verdict"]
    ]
    headers = [h for h in VERDICT_HEADERS if timed or h != "time to target"] + (
        ["each backend at its best (compare --tuned)"] if tuned else []
    )
    return Section(
        "Every workload and variant",
        3,
        summary="Examples/s per backend for each variant (the fastest bold), and each "
        "variant's verdict in full.",
        tables=[
            Table(
                ["workload", *backends], matrix, "Training examples/s (time ratio to the fastest)"
            ),
            Table(headers, detail, "Each variant's verdict"),
        ],
    )


def _methods(report: dict) -> Section:
    paragraphs = [
        f"Generated {report['generated']} from {', '.join(report['folders'])}: "
        f"{report['n_runs']} run results, {len(report['skipped'])} files skipped.",
        THROUGHPUT_NOTE,
        ACCURACY_NOTE,
        STATISTICS_NOTE,
    ]
    if report["waiting_cpu_share"] is not None:
        paragraphs.append(
            "While one backend trained its chunk, the waiting workers used at most "
            f"{report['waiting_cpu_share']:.1%} of a core (measured per turn from their CPU "
            "time): they were idle, not spinning."
        )
    tables = [
        Table(["setting", "value"], d["environment"], f"Environment: {d['title']}")
        for d in report["devices"]
    ]
    return Section("Methods", 2, paragraphs, list(report["skipped"]), tables)


STATISTICS_NOTE = (
    "How to read the statistics. *Time ratio*: a backend's time per training example ÷ the "
    "fastest's (> 1: slower), a geometric mean with a 95% interval. *CI units*: what the "
    "interval counted as independent: *runs* (each run's mean log ratio is one unit; the "
    "rounds inside a run are not independent of it) or *rounds* (one run: its rounds, so "
    "between-run variation is not in it). *Rounds timed*: the chunks each backend trained "
    "over all runs, the dots of the throughput figure. The figure's bar is the median of "
    "those chunks; the tables give the geometric mean over runs, so the two can differ. "
    "Accuracy differences are in percentage *points*, paired by seed. Times are seconds "
    "(s) or milliseconds (ms); memory is MiB (2^20 bytes)."
)


def _device(d: dict, i: int) -> list[Section]:
    parts = [Section(f"Measurements: {d['title']}", 2), variants_section(d), _glance(d)]
    parts.append(_throughput(d, i))
    parts.append(_accuracy(d, i))
    if d.get("tuned"):
        parts.append(tuned_section(d))
    if d.get("inference"):
        parts.append(inference_section(d))
    if d.get("policies"):
        parts.append(policy_section(d))
    if d.get("scaling"):
        parts.append(scaling_section(d["scaling"], d["key"]))
    swept = [m for m in d["models"] if batch_groups(d, m)]
    if swept:
        parts.append(_batches(d, i, swept))
    if d.get("versions"):
        parts.append(_versions(d, i))
    if d.get("aa"):
        parts.append(aa_section(d))
    if d.get("noise"):
        parts.append(noise_section(d))
    return parts


HEADLINE = [
    "model",
    "backend",
    "examples/s",
    "time ratio [95% CI]",
    "CI units",
    "test accuracy, %",
    "accuracy − fastest's, points [95% CI]",
    "first step (compile), ms",
    "peak memory, MiB",
]

GLANCE_CAPTION = (
    "Every backend and model: training examples per second of plain fit(), its time "
    "ratio to the fastest, final test accuracy (mean over seeds) and its paired "
    "difference to the fastest's in points, the first step's time (compilation) and the "
    "cell's peak memory: resident (RSS) and, on a GPU, the framework's device memory ('?' "
    "where JAX's running peak, which cannot be reset, did not rise during the cell)."
)


BATCH_LEAD = "Batch size (speed only; accuracy is not judged across batch sizes)"
BATCH_NOTE = (
    "compare --batch-sizes: each batch size a participant of its own per backend, in the "
    "same rounds, each trained the same number of optimizer steps from the same initial "
    "weights (float32, Keras' fit(), one device). Examples/s is the geometric mean over "
    "runs; the time ratio is to the fastest backend at that batch size, paired by round "
    "(with the worker process inside its interval); peak RSS is the cell's resident "
    "memory. The figure's bands are those intervals, around the fastest's throughput."
)


def _batches(d: dict, i: int, models: list[str]) -> Section:
    tables = [Table(BATCH_HEADERS, batch_table_rows(d, m), m) for m in models]
    words = [f"{m}: {batch_words(d, m)}" for m in models]
    return Section(
        "Batch sizes: throughput, step time and memory",
        3,
        [BATCH_NOTE],
        bullets=words,
        tables=tables,
        figures=[f"batches_{i}"],
        summary="; ".join(words),
    )


VERSIONS_NOTE = (
    "python -m suite versions: each version set (one pinned release, everything else as "
    "installed) a participant of its own per backend, in two worker processes, all in "
    "the same rounds; each step is the newer release against its neighbour below. A "
    "step is flagged only where its 95% interval lies wholly beyond what the same "
    "program differed by between its own two processes (the A/A control) and beyond "
    "5%: training time paired by round, the worker process inside; predict() paired "
    "by inference turn; the first step and peak memory over the processes (Welch), "
    "beyond 10%; test accuracy paired by seed, beyond ±0.2 points. The figure's bands "
    "are each set's interval against the first."
)


def _versions(d: dict, i: int) -> Section:
    steps = d["versions"]["steps"]
    flagged = flagged_words(steps)
    summary = "; ".join(flagged) if flagged else "no step flagged"
    return Section(
        "Versions: steps between releases",
        3,
        [VERSIONS_NOTE],
        bullets=flagged or ["No step between neighbouring releases is flagged."],
        tables=[Table(STEP_HEADERS, step_table_rows(steps), "every step, flagged first")],
        figures=[f"versions_{i}"],
        summary=summary,
    )


def _glance(d: dict) -> Section:
    acc = {(a["model"], a["variant"], a["backend"]): a for a in d["accuracy"]}
    rows = []
    for (m, v), speed in d["speed"].items():
        for r in speed:
            a = acc.get((m, v, r["backend"]), {})
            rows.append(
                [
                    label(d, m, v),
                    r["backend"],
                    num(r["examples_per_s"]),
                    ratio_text(r["ratio"]) if len(speed) > 1 else "- (alone)",
                    ci_from(r["ratio"]),
                    "-" if a.get("mean") is None else f"{a['mean'] * 100:.2f}",
                    difference_text(a.get("difference")),
                    num(r["first_step_ms"]),
                    memory_text(r),
                ]
            )
    headers = [*HEADLINE[:-1], memory_header(d)]
    return Section(
        "At a glance",
        3,
        tables=[Table(headers, rows, GLANCE_CAPTION)],
        summary="Every backend and model in one table: examples/s, time ratio, accuracy, "
        "first step and memory.",
    )


SPEED_CAPTION = (
    "Training throughput per model and backend: examples/s of plain fit() (geometric mean "
    "over runs), ms per optimizer step, time ratio to the fastest with its 95% CI and the "
    "units it counted, drift (slowest round ÷ fastest: what the pairing cancelled), "
    "achieved GFLOP/s and its share of the machine's best matmul, the step-latency "
    "diagnostic in ms, the first step in ms, time to target in s and peak memory in MiB."
)


def _throughput(d: dict, i: int) -> Section:
    rows = [[label(d, m, v), *_speed_row(r)] for (m, v), rs in d["speed"].items() for r in rs]
    section = Section(
        "Training throughput (what ranks)",
        3,
        summary="Examples/s of plain fit() per workload and backend, paired by round: the "
        "ranking's evidence, with its figures.",
        paragraphs=[
            f"{label(d, m, v)}: {d['verdicts'][(m, v)]}."
            for (m, v) in d["speed"]
            if d["speed"][(m, v)]
        ],
        tables=[Table(["model", *_SPEED_HEADERS[:-1], memory_header(d)], rows, SPEED_CAPTION)],
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
    "test accuracy, % (mean)",
    "sd over seeds, points",
    "target, %",
    "reached",
    "difference to fastest, points [95% CI]",
]

ACCURACY_CAPTION = (
    "Final test accuracy per model and backend: mean over seeds in percent, its standard "
    "deviation and the paired difference to the fastest backend in percentage points."
)


def _accuracy(d: dict, i: int) -> Section:
    rows = [
        [
            label(d, a["model"], a["variant"]),
            a["backend"],
            str(a["epochs"]),
            str(a["n"]),
            "-" if a["mean"] is None else f"{a['mean'] * 100:.2f}",
            "-" if a["std"] is None else f"{a['std'] * 100:.2f}",
            "-" if a["target"] is None else f"{a['target'] * 100:.1f}",
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
        summary="Final test accuracy per workload and backend, paired by seed, and accuracy "
        "against training time.",
        paragraphs=note,
        bullets=[
            f"{label(d, m, v)}: {accuracy_sentence(d['accuracy'], m, v)}" for m, v in d["groups"]
        ],
        tables=[Table(ACCURACY_HEADERS, rows, ACCURACY_CAPTION)],
        figures=[f"accuracy_time_{i}"],
    )


_SPEED_HEADERS = [
    "backend",
    "examples/s",
    "ms/step",
    "time ratio [95% CI]",
    "CI units",
    "verdict",
    "rounds timed",
    "drift",
    "GFLOP/s (% of peak)",
    "latency, ms: median [p10, p90] (diagnostic)",
    "first step, ms",
    "time to target, s (seeds reached)",
    "peak memory, MiB",
]


def _speed_row(r: dict) -> list[str]:
    latency = (
        "-"
        if r["latency_ms"] is None
        else f"{num(r['latency_ms'])} [{num(r['latency_p10_ms'])}, {num(r['latency_p90_ms'])}]"
    )
    return [
        r["backend"],
        num(r["examples_per_s"]),
        num(r["ms_per_step"]),
        ratio_text(r["ratio"]),
        ci_from(r["ratio"]),
        r["verdict"],
        str(r["rounds"]),
        "-" if r["drift"] is None else f"{r['drift']:.2f}",
        gflops(r),
        latency,
        num(r["first_step_ms"]),
        f"{num(r['time_to_accuracy_s'])} ({r['reached']}/{r['seeds']})",
        memory_text(r),
    ]


def memory_header(d: dict) -> str:
    """On a GPU the memory column holds two figures; the header says which."""
    gpu = any(r.get("on_gpu") for rs in d["speed"].values() for r in rs)
    return "peak memory, MiB: RSS; GPU" if gpu else "peak memory, MiB"


def memory_text(r: dict) -> str:
    """Peak RSS, and on a GPU the framework's peak device memory beside it ("?" where
    JAX's running peak did not rise during the cell: it cannot be reset)."""
    if not r.get("on_gpu"):
        return num(r["peak_rss_mb"])
    gpu = "?" if r.get("peak_device_mb") is None else num(r["peak_device_mb"])
    return f"{num(r['peak_rss_mb'])}; {gpu}"
