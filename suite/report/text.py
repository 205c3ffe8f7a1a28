"""The report's sentences: who is fastest and by how much, where the data cannot tell,
and whether accuracies are equivalent (the verdict's words are in ``verdict``)."""

from __future__ import annotations

from suite.core.stats import Ratio
from suite.report.layout import difference_kind, seeds_words, signed
from suite.report.tables import SPEED_THRESHOLD


def _fmt_ratio(r: Ratio) -> str:
    if r.runs:
        return f"{r.ratio:.2f}× pooled, but {r.method}"
    if r.low is None:
        return f"{r.ratio:.2f}× (no CI: {r.method})"
    return f"{r.ratio:.2f}× [{r.low:.2f}, {r.high:.2f}]"


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
        kind = difference_kind(d)
        if kind == "identical":
            parts.append(f"{r['backend']} − {r['reference']}: identical on {seeds_words(d.n)}")
        elif kind == "one seed":
            parts.append(
                f"{r['backend']} − {r['reference']} {signed(d.mean * 100)} points from {d.n} seed: "
                "cannot tell (needs at least 2 seeds)"
            )
        else:
            within = f"equivalent within ±{d.margin * 100:.1f} (TOST p = {d.p_equivalence:.2g})"
            if kind != "equivalent":
                why = (
                    "differs"
                    if kind == "differs"
                    else f"no difference seen, but {d.n} seeds are too few"
                )
                within = f"{why}: not shown {within}"
            parts.append(
                f"{r['backend']} − {r['reference']} {signed(d.mean * 100)} points "
                f"[{signed(d.low * 100)}, {signed(d.high * 100)}] over {d.n} seeds: {within}"
            )
    return "; ".join(parts)
