"""The report's layout as plain data (``Section``, ``Table``) and the small formatters
every section shares; ``render`` turns these into Markdown and HTML."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field


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
    summary: str = ""  # set: a detail section, collapsed behind this one-line verdict
    notes: list[str] = field(default_factory=list)  # paragraphs under the tables


MINUS = "\u2212"  # one minus sign throughout, never a hyphen

# a number, optionally with its unit, CI, a note in brackets and a word or three of
# verdict ("0.31 [0.12, 0.50] differs"); anything else is text, left-aligned
NUMERIC = re.compile(
    r"^[+\u2212-]?\d[\d.,]*(e[+\u2212-]?\d+)?[%×]?( [a-zA-Z/]+)?( \[[^\]]*\])?"
    r"( \([^)]*\))?( [a-z]+){0,3}( \([^)]*\))?$"
)
EMPTY = ("", "-", "\u2014", "n/a")


def num(x: float | None, digits: int = 3) -> str:
    """``x`` to about ``digits`` significant figures (what the noise supports), with
    thousands separators, the minus sign and never a negative zero; "-" for None."""
    if x is None:
        return "-"
    if x == 0:
        return "0"
    rounded = float(f"{x:.{digits}g}")
    if rounded == 0:
        return "0"
    decimals = max(digits - 1 - int(math.floor(math.log10(abs(rounded)))), 0)
    return f"{rounded:,.{decimals}f}".replace("-", MINUS)


def signed(x: float, decimals: int = 2) -> str:
    """``x`` with its sign (+ or the minus sign), "0.00" when it rounds to zero."""
    text = f"{x:+.{decimals}f}"
    if float(text) == 0:
        return f"{0:.{decimals}f}"
    return text.replace("-", MINUS)


def numeric_columns(rows: list[list[str]]) -> list[bool]:
    """Per column: does every non-empty cell start with a number (right-aligned)?"""
    if not rows:
        return []
    out = []
    for j in range(len(rows[0])):
        cells = [str(r[j]) for r in rows if j < len(r) and str(r[j]) not in EMPTY]
        out.append(bool(cells) and all(NUMERIC.match(c.replace(",", "")) for c in cells))
    return out


def anchor(title: str) -> str:
    """A section title's id as GitHub makes it for Markdown headings (lower case,
    punctuation dropped, spaces to hyphens), so one table of contents serves both."""
    kept = re.sub(r"[^\w\- ]", "", title.lower())
    return kept.replace(" ", "-") or "section"


def label(d: dict, model: str, var: str) -> str:
    """A (model, variant) group's name: the model, and where the model has several
    variants on the device, what sets this one apart (``short_variants``); a tuned
    cell's group by its mode."""
    single = len(d["groups"]) == len(d["models"])
    if single:
        return model
    tuned = variant_parts(var).get("tuned")
    if tuned:
        return f"{model} (tuned {tuned})"
    mine = [v for m, v in d["groups"] if m == model and "tuned" not in variant_parts(v)]
    short = short_variants(mine).get(var)
    return f"{model} ({short})" if short else model


def variant_parts(var: str) -> dict[str, str]:
    """``RunConfig.variant`` text back into name -> value."""
    return dict(p.split("=", 1) for p in var.split(", ") if "=" in p)


def short_variants(variants: list[str]) -> dict[str, str]:
    """Each variant as the settings that differ between ``variants`` (a setting a
    variant leaves out is at its default), e.g. ``dtype_policy=mixed_bfloat16`` beside
    ``dtype_policy=float32`` instead of the whole settings text twice."""
    from suite.core.config import VARIANT_NEW

    parts = {v: variant_parts(v) for v in variants}

    def value(p, k):
        return p.get(k, str(VARIANT_NEW.get(k)))

    keys = list(dict.fromkeys(k for p in parts.values() for k in p))
    differ = [k for k in keys if len({value(p, k) for p in parts.values()}) > 1]
    return {v: ", ".join(f"{k}={value(parts[v], k)}" for k in differ) for v in variants}


def ratio_text(q) -> str:
    """A ratio with its CI, three significant figures (``num``); None is the fastest."""
    if q is None:
        return "1 (fastest)"
    if q.runs:
        return f"runs disagree: {num(min(q.runs))}–{num(max(q.runs))}"
    if q.low is None:
        return f"{num(q.ratio)} (no CI)"
    return f"{num(q.ratio)} [{num(q.low)}, {num(q.high)}]"


def identical(d) -> bool:
    """Every seed gave both backends the same accuracy: no spread, no difference."""
    return d.n >= 2 and d.low == d.high == d.mean == 0


def difference_kind(d) -> str:
    """What a paired accuracy difference shows: "one seed" (cannot tell), "identical"
    (every seed the same), "equivalent" (TOST within the margin), "differs" (the CI
    excludes 0) or "too few" (neither shown: too few seeds for the margin)."""
    if d.low is None:
        return "one seed"
    if identical(d):
        return "identical"
    if d.equivalent:
        return "equivalent"
    if d.low > 0 or d.high < 0:
        return "differs"
    return "too few"


def seeds_words(n: int) -> str:
    return "both seeds" if n == 2 else f"all {n} seeds"


def difference_text(d) -> str:
    """A paired accuracy difference in points, with its CI and what it shows."""
    if d is None:
        return "-"
    kind = difference_kind(d)
    if kind == "one seed":
        return f"{signed(d.mean * 100)} (1 seed: cannot tell)"
    if kind == "identical":
        return f"0.00 (identical on {seeds_words(d.n)})"
    ci = f"[{signed(d.low * 100)}, {signed(d.high * 100)}]"
    if kind == "too few":
        return f"{signed(d.mean * 100)} {ci} not shown equivalent ({d.n} seeds too few)"
    return f"{signed(d.mean * 100)} {ci} {kind}"


def gflops(r: dict) -> str:
    """Achieved GFLOP/s and its share of the machine's best large-matmul rate."""
    if r.get("gflops_per_s") is None:
        return "not counted"
    if not r.get("peak_gflops"):
        return num(r["gflops_per_s"])
    return f"{num(r['gflops_per_s'])} ({r['gflops_per_s'] / r['peak_gflops']:.1%})"


def ci_units(q) -> str:
    """What a ratio's interval counted as independent units: "runs" (runs as units, or
    unpaired runs) or "rounds" (paired rounds)."""
    return "runs" if q.method.startswith(("runs as units", "unpaired")) else "rounds"


def ci_from(q) -> str:
    """The units behind a ratio's interval, for a table cell: "3 runs", "24 rounds"."""
    if q is None:
        return "-"
    if q.low is None:
        return f"none ({q.n} {ci_units(q)[:-1] if q.n == 1 else ci_units(q)})"
    return f"{q.n} {ci_units(q)}"
