"""The report's sentences: who is fastest and by how much, where the data cannot tell,
whether accuracies are equivalent, and the advice that follows from those numbers."""

from __future__ import annotations

from suite.core.stats import Ratio
from suite.report.tables import SPEED_THRESHOLD


def _fmt_ratio(r: Ratio) -> str:
    if r.low is None:
        return f"{r.ratio:.2f}x (no CI: {r.method})"
    return f"{r.ratio:.2f}x [{r.low:.2f}, {r.high:.2f}]"


def speed_sentence(rows: list[dict]) -> str:
    """One sentence: who is fastest, by how much, and where the data cannot tell."""
    if len(rows) < 2:
        return "only one backend measured"
    best = rows[0]["backend"]
    parts = []
    for r in rows[1:]:
        if r["verdict"] == "slower":
            parts.append(f"{r['backend']} takes {_fmt_ratio(r['ratio'])} as long")
        else:
            parts.append(
                f"{best} and {r['backend']} are indistinguishable here ({_fmt_ratio(r['ratio'])}, "
                f"threshold {SPEED_THRESHOLD:.0%})"
            )
    lead = (
        f"{best} has the highest training throughput"
        if any(r["verdict"] == "slower" for r in rows[1:])
        else f"no backend is clearly faster than {best}"
    )
    return f"{lead}; " + "; ".join(parts)


def accuracy_sentence(rows: list[dict], model: str, var: str) -> str:
    """Whether the backends' accuracies are equivalent within the margin, paired by seed."""
    mine = [r for r in rows if r["model"] == model and r["variant"] == var]
    diffs = [r for r in mine if r["difference"]]
    if mine and all(r["n"] == 0 for r in mine):
        return "not applicable (no test accuracy: synthetic data)"
    if not diffs:
        return "no accuracy pairs"
    parts = []
    for r in diffs:
        d = r["difference"]
        if d.equivalent is None:
            parts.append(
                f"{r['backend']} − {r['reference']} {d.mean * 100:+.2f} points from {d.n} seed: "
                "cannot tell (needs at least 2 seeds)"
            )
        else:
            word = "equivalent" if d.equivalent else "not shown equivalent"
            parts.append(
                f"{r['backend']} − {r['reference']} {d.mean * 100:+.2f} points "
                f"[{d.low * 100:+.2f}, {d.high * 100:+.2f}] over {d.n} seeds: {word} "
                f"within ±{d.margin * 100:.1f} (TOST p = {d.p_equivalence:.3f})"
            )
    return "; ".join(parts)


def recommendation(device: dict, grads_ok: bool | None) -> list[str]:
    """Short advice per model, derived only from the numbers in the report."""
    lines = []
    for (model, var), rows in device["speed"].items():
        if not rows:
            continue
        label = (
            model if len({v for m, v in device["speed"] if m == model}) == 1 else f"{model} ({var})"
        )
        lines.append(
            f"{label}: {speed_sentence(rows)}. Accuracy: "
            f"{accuracy_sentence(device['accuracy'], model, var)}."
        )
    if grads_ok is not None:
        lines.append(
            "Gradients: the backends compute equivalent losses and gradients "
            "(see the gradient table)."
            if grads_ok
            else "Gradients: at least one comparison FAILED; check the gradient table "
            "before trusting cross-backend results."
        )
    return lines
