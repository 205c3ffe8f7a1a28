"""Speed across batch sizes (``compare --batch-sizes``): per workload, the winner at each
batch size and where it flips, a table of examples/s, step time and peak memory per
backend and batch size, and the data of its figure. Pure functions of a device group's
report data; a workload has a batch sweep where its float32, untuned variants differ in
batch size. Accuracy is not judged across batch sizes (each trained the same number of
steps, not to a target)."""

from __future__ import annotations

from suite.report.layout import num, variant_parts


def batch_groups(d: dict, model: str) -> list[tuple[int, str]]:
    """(batch size, variant) of ``model``'s float32, untuned variants, smallest batch
    first; empty unless there are two batch sizes or more."""
    found: dict[int, str] = {}
    for m, v in d["groups"]:
        parts = variant_parts(v)
        if m != model or "tuned" in parts or parts.get("dtype_policy", "float32") != "float32":
            continue
        if "batch_size" in parts:
            found.setdefault(int(parts["batch_size"]), v)
    return sorted(found.items()) if len(found) > 1 else []


def batch_words(d: dict, model: str) -> str:
    """Who is fastest at each batch size, as ranges, with the margin where the winner
    changes: "jax up to 128; tensorflow from 512: 1.31× faster than jax [1.20, 1.43]".
    A tie (the data cannot separate them) is a winner of its own ("jax or torch")."""
    from suite.report.verdict import short_speed

    verdicts = {v.key: v for v in d.get("verdict", [])}
    points = [
        (batch, verdicts[(model, var)]) for batch, var in batch_groups(d, model)
        if (model, var) in verdicts
    ]  # fmt: skip
    if not points:
        return ""
    runs: list[list] = []  # consecutive batch sizes with the same winner
    for batch, v in points:
        if runs and runs[-1][0] == v.use:
            runs[-1][1].append(batch)
        else:
            runs.append([v.use, [batch], v])
    if len(runs) == 1:
        use, sizes, _ = runs[0]
        return f"{use} at every batch size ({sizes[0]}–{sizes[-1]})"
    words = []
    for i, (use, sizes, v) in enumerate(runs):
        words.append(f"{use} {_where(i, len(runs), sizes)}"
                     + ("" if i == 0 else f": {short_speed(v.speed)}"))  # fmt: skip
    return "; ".join(words)


def _where(i: int, n: int, sizes: list[int]) -> str:
    """The batch sizes of the ``i``th of ``n`` ranges with one winner, in words."""
    if i == 0:
        return f"up to {sizes[-1]}"
    if i == n - 1:
        return f"from {sizes[0]}"
    return f"at {sizes[0]}" if len(sizes) == 1 else f"at {sizes[0]}–{sizes[-1]}"


def batch_rows(d: dict, model: str) -> list[dict]:
    """Per batch size and backend: examples/s (geometric mean over runs), its time ratio
    to that batch size's fastest with the 95% CI, ms per step, peak RSS."""
    rows = []
    for batch, var in batch_groups(d, model):
        for r in d["speed"].get((model, var), []):
            q = r["ratio"]
            rows.append(
                {
                    "batch": batch,
                    "backend": r["backend"],
                    "examples_per_s": r["examples_per_s"],
                    "ratio": q,
                    "ms_per_step": r["ms_per_step"],
                    "peak_rss_mb": r["peak_rss_mb"],
                }
            )
    return rows


def batch_table_rows(d: dict, model: str) -> list[list[str]]:
    def ratio(q) -> str:
        if q is None:
            return "1 (fastest)"
        return num(q.ratio) + ("" if q.low is None else f" [{num(q.low)}, {num(q.high)}]")

    return [
        [str(r["batch"]), r["backend"], f"{r['examples_per_s']:,.0f}", ratio(r["ratio"]),
         num(r["ms_per_step"]), "-" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:,.0f}"]
        for r in batch_rows(d, model)
    ]  # fmt: skip


BATCH_HEADERS = ["batch", "backend", "examples/s", "time ratio to the fastest [95% CI]",
                 "ms/step", "peak RSS, MiB"]  # fmt: skip


def batch_curves(d: dict, model: str) -> dict[str, list[tuple[int, float, float, float]]]:
    """The figure's data: per backend, (batch, examples/s, low, high) with the band from
    the time ratio's CI against that batch size's fastest (whose own point has none)."""
    rows = batch_rows(d, model)
    fastest = {r["batch"]: r["examples_per_s"] for r in rows if r["ratio"] is None}
    curves: dict[str, list] = {}
    for r in rows:
        q, top = r["ratio"], fastest.get(r["batch"], r["examples_per_s"])
        low = high = r["examples_per_s"]
        if q is not None and q.low is not None:
            low, high = top / q.high, top / q.low
        curves.setdefault(r["backend"], []).append((r["batch"], r["examples_per_s"], low, high))
    return curves
