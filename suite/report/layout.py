"""The report's layout as plain data (``Section``, ``Table``) and the small formatters
every section shares; ``render`` turns these into Markdown and HTML."""

from __future__ import annotations

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


def label(d: dict, model: str, var: str) -> str:
    single = len(d["groups"]) == len(d["models"])
    return model if single else f"{model} ({var})"


def ci_kind(rows: list[dict]) -> str:
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


def pct(v) -> str:
    return f"{v:.2%}" if v is not None else "-"


def gflops(r: dict) -> str:
    """Achieved GFLOP/s and its share of the machine's best large-matmul rate."""
    if r.get("gflops_per_s") is None:
        return "not counted"
    if not r.get("peak_gflops"):
        return f"{r['gflops_per_s']:.2f}"
    return f"{r['gflops_per_s']:.2f} ({r['gflops_per_s'] / r['peak_gflops']:.1%})"
