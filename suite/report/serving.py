"""The report's sections on serving and precision, as plain data: inference speed per
model and backend, and mixed precision against float32 (``compare --dtype-policy``)."""

from __future__ import annotations

from suite.report.layout import Section, Table, ci_from, difference_text, label, num, ratio_text
from suite.report.tables import SPEED_THRESHOLD

INFERENCE_NOTE = (
    "Measured after each cell trained, in turns of their own that the backends take in "
    "rounds like the training chunks (so each ratio is paired by round, with runs as the "
    "units where there are 3 or more). *predict()*: Keras' own `model.predict()` over "
    "the 10,000 test images at the batch shown (its data adapter, the compiled predict "
    "function per batch, outputs gathered into numpy) — what scoring a data set costs. "
    "*One example*: `model.predict_on_batch()` on a single image, the compiled predict "
    "function a server calls per request (JAX: a jitted function; TensorFlow: a "
    "tf.function graph, XLA only where Keras turns it on; torch: eager), each call timed "
    "until its output is a numpy array on the host, so asynchronous dispatch cannot end "
    "a span early. The median and p99 are over every call of every run; the first call "
    "of each (tracing and compilation, every batch shape) is timed apart and never in "
    "them. Backends are ranked only when the interval excludes 1 and the ratio exceeds "
    f"{1 + SPEED_THRESHOLD:.2f}."
)

INFERENCE_HEADERS = [
    "model",
    "backend",
    "predict(), examples/s",
    "predict() time ratio [95% CI]",
    "CI units",
    "one example, ms: median",
    "p99",
    "latency ratio to the lowest [95% CI]",
    "calls",
    "first predict(), s",
    "first single call, ms",
]


def inference_section(d: dict) -> Section:
    rows = []
    for (m, v), per in d["inference"].items():
        for r in per:
            rows.append(
                [
                    label(d, m, v),
                    r["backend"],
                    num(r["predict_examples_per_s"]),
                    ratio_text(r["predict_ratio"]),
                    ci_from(r["predict_ratio"]),
                    num(r["single_median_ms"]),
                    num(r["single_p99_ms"]),
                    ratio_text(r["single_ratio"]).replace("fastest", "lowest"),
                    f"{r['calls']:,}",
                    num(r["predict_first_s"]),
                    num(r["single_first_ms"]),
                ]
            )
    batches = sorted({r["batch"] for per in d["inference"].values() for r in per if r["batch"]})
    caption = (
        "Inference per model and backend: predict() over the test set"
        + (f" at batch {', '.join(map(str, batches))}" if batches else "")
        + ", examples/s (geometric mean over runs) and its time ratio to the fastest; one "
        "example through the compiled predict function: median and p99 latency in ms "
        "and the ratio of medians to the lowest backend's; the first calls (compilation)."
    )
    return Section(
        "Inference (predict() and one example)",
        3,
        summary="predict() throughput and one-example latency per workload and backend.",
        paragraphs=[INFERENCE_NOTE],
        tables=[Table(INFERENCE_HEADERS, rows, caption)],
    )


POLICY_WORDS = {
    "faster": "mixed faster",
    "slower": "mixed slower",
    "indistinguishable": "indistinguishable here",
}

POLICY_HEADERS = [
    "model",
    "backend",
    "policy",
    "training throughput, mixed ÷ float32 [95% CI]",
    "CI units",
    "verdict",
    "predict(), mixed ÷ float32 [95% CI]",
    "test accuracy, % (float32 → mixed)",
    "accuracy difference, points [95% CI]",
    "time to target, s (float32 → mixed)",
    "native units",
]


def policy_section(d: dict) -> Section:
    rows = []
    for p in d["policies"]:
        acc = (
            f"{num(p['accuracy_base'] * 100, 4)} → {num(p['accuracy_mixed'] * 100, 4)}"
            if p["accuracy_base"] is not None and p["accuracy_mixed"] is not None
            else "-"
        )
        rows.append(
            [
                p["model"],
                p["backend"],
                p["policy"],
                ratio_text(p["throughput"]).replace(" (fastest)", ""),
                ci_from(p["throughput"]),
                POLICY_WORDS[p["verdict"]],
                ratio_text(p["predict"]) if p["predict"] else "-",
                acc,
                difference_text(p["difference"]),
                f"{num(p['tta_base'])} → {num(p['tta_mixed'])}",
                "no" if p["half_support"] else "yes",
            ]
        )
    missing = sorted({p["half_support"] for p in d["policies"] if p["half_support"]})
    notes = [
        "Each backend trained in the mixed policy and in float32 side by side, in the same "
        "rounds, from the same initial weights and batches per seed: the throughput ratio "
        "is paired by round (> 1: the mixed policy trains faster), the accuracy difference "
        "(mixed − float32) by seed, equivalence within ±0.2 points by TOST. Variables stay "
        "float32 under the mixed policies; layers compute in the half type (Keras' "
        "`mixed_float16` also scales the loss)."
    ]
    notes += [f"Ran without native units for its half type: {m}." for m in missing]
    epochs = sorted({p["epochs"] for p in d["policies"] if p["epochs"]})
    caption = (
        "Mixed precision against float32 per model and backend"
        + (f" ({'/'.join(map(str, epochs))} epoch(s) per cell)" if epochs else "")
        + ": training and predict() throughput ratios, test accuracy and its paired "
        "difference, time to target, and whether the device has units for the half type."
    )
    return Section(
        "Mixed precision against float32",
        3,
        summary="Each mixed policy against float32, per backend: throughput, accuracy and "
        "time to target.",
        paragraphs=notes,
        tables=[Table(POLICY_HEADERS, rows, caption)],
    )


TUNED_HEADERS = [
    "model",
    "backend",
    "best mode",
    "examples/s",
    "time ratio [95% CI]",
    "CI units",
    "verdict",
    "mode ÷ default throughput [95% CI]",
]


def tuned_section(d: dict) -> Section:
    rows = [
        [
            label(d, m, v),
            r["backend"],
            r["mode"],
            num(r["examples_per_s"]),
            ratio_text(r["ratio"]),
            ci_from(r["ratio"]),
            r["verdict"],
            "-" if r["gain"] is None else ratio_text(r["gain"]),
        ]
        for (m, v), per in d["tuned"].items()
        for r in per
    ]
    note = (
        "Each backend also trained in its best Keras mode (from `sweep`: the fastest mode "
        "whose first loss and accuracy match the default mode's), as a participant of its "
        "own in the same rounds as the defaults, so both rankings are paired by round. "
        "Where no mode beat a backend's default, its default cells stand for it here. "
        "*mode ÷ default*: the tuned cells' throughput over the same backend's default "
        "cells (> 1: the mode is faster). The defaults' ranking is in the tables above."
    )
    caption = (
        "The ranking with every backend in its best mode: examples/s of plain fit() and "
        "the time ratio to the fastest, and each mode's gain over its own default."
    )
    return Section(
        "Each backend at its best (tuned)",
        3,
        summary="The ranking with every backend in its best Keras mode.",
        paragraphs=[note],
        tables=[Table(TUNED_HEADERS, rows, caption)],
    )
