"""The gradient check as tables and sentences, for the terminal and the report."""

from __future__ import annotations

from suite.core.schemas import NA
from suite.report.terminal import format_table


def _row(r: dict, pair: str) -> list[str]:
    note = " (float32 inside Keras)" if r["status"] == NA else ""
    return [
        r["model"],
        r["dtype"],
        pair,
        f"{r['loss']['max_abs']:.2e}",
        f"{r['logits']['rel']:.2e}",
        f"{r['overall']['rel']:.2e}",
        f"{r['worst_variable_rel']:.2e}",
        _one_minus(r["overall"]["cosine"]),
        r["status"] + note,
    ]


def _one_minus(cosine: float) -> str:
    """1 − cosine, where the difference is visible (a cosine printed as 1.000000000000
    says nothing); 0 when the vectors are parallel to the last bit."""
    d = 1.0 - cosine
    return "0" if d == 0 else f"{d:.1e}".replace("-", "\u2212", 1) if d < 0 else f"{d:.1e}"


GRADS_HEADERS = [
    "model",
    "dtype",
    "pair",
    "|loss diff|",
    "logits rel",
    "grads rel",
    "worst var rel",
    "1 − grads cosine",
    "verdict",
]

TRAJECTORY = "Trajectory: max relative weight difference after step"

VERDICT_NOTE = (
    "'tie': the gradients differ only through ReLU pre-activations within float32 "
    "rounding of zero (each side matches the float64 reference under some flipping of "
    "them; see README), while logits and loss agree within tolerance. 'n/a (float32 "
    "inside Keras)': Keras computed part of the float64 model in float32 on that "
    "backend, so the row tests no float64; it is shown but excluded from the verdict."
)


def grads_tables(report: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, rows) of the comparison tables: backend pairs, each backend
    against the numpy references, and the training trajectories."""
    tables = [
        ("Backend pairs", GRADS_HEADERS, [_row(p, f"{p['a']}-{p['b']}") for p in report["pairs"]]),
    ]
    if report["reference"]:
        refs = [
            _row(r, f"{r['backend']}-{r.get('reference', 'numpy')}") for r in report["reference"]
        ]
        tables.append(("Against float64 references", GRADS_HEADERS, refs))
    if report["trajectory"]:
        steps = sorted({s for t in report["trajectory"] for s in t["weight_rel"]}, key=int)
        traj = [
            [
                t["model"],
                t["optimizer"],
                f"{t['a']}-{t['b']}",
                *[f"{t['weight_rel'][s]:.2e}" for s in steps],
                f"{t['loss_abs_diff_max']:.2e}",
            ]
            for t in report["trajectory"]
        ]
        headers = ["model", "optimizer", "pair", *[f"step {s}" for s in steps], "max |loss diff|"]
        tables.append((TRAJECTORY, headers, traj))
    return tables


def grads_notes(report: dict) -> list[str]:
    """The sentences that explain the tables: weights as loaded, float64, verdicts."""
    loaded = ", ".join(
        f"{b}: {'identical' if ok else 'DIFFERENT'}"
        for b, ok in report["weights_identical"].items()
    )
    f64 = "; ".join(
        f"{b} {m}: {e:.1e}{_response(rest)}{'' if same else ', arrays not all float64'}"
        for b, per_model in report.get("float64_precision", {}).items()
        for m, (e, same, *rest) in per_model.items()
    )
    return [
        f"Shared initial weights as loaded: {loaded}",
        "float64 decided from the float64 computation itself: every array it produced is "
        "float64, the model's last Dense layer matches numpy's float64 product within "
        "1e-12 (relative), and the logits answer 1e-10 and 3e-10 relative nudges of the "
        "input in proportion (ratio 2.9-3.1; 0 or another ratio: a layer inside rounded to "
        "float32): "
        f"{f64 or 'not run'}",
        VERDICT_NOTE,
    ]


def _response(rest: list) -> str:
    """The nudge response, where the file has one (files before it lack it)."""
    if not rest or rest[0] is None:
        return ""
    return f", nudge ratio {rest[0]:.2f}"


def format_report(report: dict) -> str:
    tables = grads_tables(report)
    comparisons = [row for title, _, rows in tables if title != TRAJECTORY for row in rows]
    text = format_table(GRADS_HEADERS, comparisons)
    for title, headers, rows in tables:
        if title == TRAJECTORY:
            text += f"\n\n{title}\n" + format_table(headers, rows)
    return text + "\n\n" + "\n".join(grads_notes(report))
