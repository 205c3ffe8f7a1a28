"""The report's figures (matplotlib, Agg): thin drawings of the report data, one colour
per backend throughout, titles and axes a reader understands."""

from __future__ import annotations

import io
import re

import numpy as np

from suite.core.environments import parse_label
from suite.core.schemas import NA, TOLERANCE
from suite.report.batches import batch_curves, batch_groups
from suite.report.layout import label

# Okabe & Ito's colour-blind-safe palette: one colour, marker and line style per backend
# everywhere; backend pairs (gradient figures) take the palette's other colours
STYLE = {
    "jax": {"color": "#0072B2", "marker": "o", "ls": "-"},
    "tensorflow": {"color": "#E69F00", "marker": "s", "ls": "--"},
    "torch": {"color": "#009E73", "marker": "^", "ls": ":"},
}
OTHER = {"color": "#555555", "marker": "D", "ls": "-."}
PAIR_COLOURS = ["#000000", "#D55E00", "#CC79A7", "#56B4E9"]
PANEL = (3.6, 3.0)  # inches of one panel; the page lays panels out side by side or stacked
DPI = 120


def style(backend: str) -> dict:
    return STYLE.get(backend, OTHER)


def plain(text: str) -> str:
    """A name taken from a result file, drawn as text: its "$" escaped, so math text
    (kept on for the axes' own labels) never reads it as TeX."""
    return str(text).replace("$", r"\$")


def figures(report: dict, problems: list[str] | None = None) -> dict[str, bytes]:
    """PNG figures by name: one panel per model (``throughput_0.lstm``,
    ``accuracy_time_0.lstm``, ``trajectory.lstm``), ``grads_heatmap`` and
    ``misclassified``; absent where there is nothing to draw. Each figure's
    ``figure_problems`` are appended to ``problems`` when a list is given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}

    def add(name: str, fig) -> None:  # check, save and close each figure as it is drawn
        if problems is not None:
            problems.extend(f"{name}: {p}" for p in figure_problems(fig))
        out[name] = _png(fig)

    for i, d in enumerate(report["devices"]):
        for k in d["groups"]:
            if d["rounds"].get(k):
                add(f"throughput_{i}.{_key(d, k)}", _throughput(plt, d, k))
        for m in d["models"]:
            if batch_groups(d, m):
                add(f"batches_{i}.{m}", _batches(plt, d, m))
            # one evaluation per cell draws no curve: nothing to show against time
            if any(mm == m and len(pts) > 1 for (_, mm), pts in d["histories"].items()):
                add(f"accuracy_time_{i}.{m}", _accuracy(plt, d, m))
        for (b, m, dist), pts in (d.get("versions") or {}).get("curves", {}).items():
            steps = [r for r in d["versions"]["steps"] if (r["backend"], r["model"]) == (b, m)]
            add(f"versions_{i}.{b}-{m}-{dist}", _versions(plt, b, m, pts, steps))
    g = report["grads"]
    if g and g["pairs"]:
        add("grads_heatmap", _heatmap(plt, g["pairs"]))
        for m in dict.fromkeys(t["model"] for t in g["trajectory"] or []):
            add(
                f"trajectory.{m}", _trajectory(plt, [t for t in g["trajectory"] if t["model"] == m])
            )
    gallery = _gallery(report, plt)
    if gallery:
        add("misclassified", gallery)
    return out


def _key(d: dict, k: tuple) -> str:
    """A figure key's model part: ``label`` made safe for a file name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", label(d, *k)).strip("-")


def _panel(plt, height: float = PANEL[1]):
    fig, ax = plt.subplots(figsize=(PANEL[0], height), layout="constrained")
    return fig, ax


def _throughput(plt, d: dict, k: tuple):
    per = d["rounds"][k]
    # the bar is the tables' figure (geometric mean over runs), not another aggregate
    table = {r["backend"]: r["examples_per_s"] for r in d["speed"].get(k, [])}
    bar = {b: table.get(b) or float(np.median(per[b])) for b in per}
    fig, ax = _panel(plt)
    names = sorted(per, key=lambda b: -bar[b])
    for x, b in enumerate(names):
        v = np.asarray(per[b])
        jitter = (np.arange(len(v)) % 7 - 3) * 0.04
        st = style(b)
        ax.plot(x + jitter, v, st["marker"], ms=3, alpha=0.6, color=st["color"])
        ax.plot([x - 0.3, x + 0.3], [bar[b]] * 2, color="black", lw=1.5)
    ax.set_xticks(range(len(names)), [plain(n) for n in names])
    ax.set_ylim(bottom=0)
    _thousands(ax)
    name = plain(label(d, *k))  # a long variant label goes on a line of its own
    long = len(name) > 16
    title = f"{name}{chr(10) if long else ': '}throughput per round"
    ax.set_title(title, fontsize=8 if long else 10)
    ax.set_ylabel("examples/s (plain fit)")
    return fig


def _thousands(ax) -> None:
    """The y axis's numbers written out with thousands separators (50,000, not 5e4)."""
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _versions(plt, backend: str, model: str, pts: list, steps: list):
    """Training throughput against release, the band each set's interval against the
    first, a flagged step's newer release marked with a red ring."""
    fig, ax = _panel(plt)
    st = style(backend)
    labels, ys, lo, hi = zip(*pts, strict=True)
    xs = range(len(labels))
    ax.plot(xs, ys, marker=st["marker"], ls=st["ls"], color=st["color"], label=plain(backend))
    ax.fill_between(xs, lo, hi, color=st["color"], alpha=0.15, lw=0)
    flagged = {r["new"] for r in steps if r["flag"] and r["metric"] == "training time"}
    for x, name, y in zip(xs, labels, ys, strict=True):
        if name in flagged:
            ax.plot([x], [y], "o", ms=12, mfc="none", mec="#c0392b", mew=1.5)
    parsed = [parse_label(name) for name in labels]
    ticks = [v + (f" ({copy})" if copy > 1 else "") for _, v, copy in parsed]
    ax.set_xticks(list(xs), ticks, rotation=20 if len(ticks) > 4 else 0, fontsize=8)
    ax.set_ylim(bottom=0)
    _thousands(ax)
    ax.set_xlabel(f"{parsed[0][0]} release")
    ax.set_ylabel("examples/s (plain fit)")
    ax.set_title(f"{plain(model)} on {plain(backend)}: throughput by release", fontsize=10)
    return fig


def _batches(plt, d: dict, m: str):
    """Throughput against batch size, one line per backend, log axes, each point's band
    its time ratio's CI against that batch size's fastest."""
    from matplotlib.ticker import LogLocator

    fig, ax = _panel(plt)
    for b, pts in batch_curves(d, m).items():
        st = style(b)
        xs, ys, lo, hi = zip(*pts, strict=True)
        ax.plot(xs, ys, marker=st["marker"], ls=st["ls"], color=st["color"], label=plain(b))
        ax.fill_between(xs, lo, hi, color=st["color"], alpha=0.15, lw=0)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    sizes = sorted({x for pts in batch_curves(d, m).values() for x, *_ in pts})
    ax.set_xticks(sizes, [str(x) for x in sizes])
    ax.minorticks_off()
    # 1, 2 and 5 of every decade, written out: a short log axis otherwise has one label
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    _thousands(ax)
    ax.set_xlabel("batch size")
    ax.set_ylabel("examples/s (plain fit)")
    ax.set_title(f"{plain(m)}: throughput by batch size", fontsize=10)
    ax.legend(fontsize=7)
    return fig


def _accuracy(plt, d: dict, m: str):
    targets = {a["model"]: a["target"] for a in d["accuracy"]}
    fig, ax = _panel(plt)
    values = []
    for (b, mm), pts in sorted(d["histories"].items()):
        if mm == m:
            acc = [p[1] * 100 for p in pts]
            values += acc
            st = style(b)
            ax.plot([p[0] for p in pts], acc, ms=4, label=plain(b), **st)
    target = targets.get(m)
    if target:
        ax.axhline(target * 100, ls=(0, (1, 2)), lw=1, color="grey", label="target")
        values.append(target * 100)
    low, high = min(values), max(values)
    pad = max(1.0 - (high - low), 0) / 2 + 0.2  # never less than ~1 point of axis
    ax.set_ylim(low - pad, min(high + pad, 100))
    ax.set_title(f"{plain(m)}: test accuracy vs time", fontsize=10)
    ax.set_xlabel("training s (throughput clock)")
    ax.set_ylabel("test accuracy, %")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def _judged_ratio(p: dict) -> float:
    """A comparison's difference over the bound it was judged by: its worst variable's
    over that variable's own bound (files from 2026-12-05 on), else the overall
    difference over the dtype's single tolerance."""
    worst = p.get("worst")
    if worst and worst.get("bound"):
        return worst["rel"] / worst["bound"]
    tol = (p.get("tolerance") or TOLERANCE[p.get("judged_as", p["dtype"])])["rel"]
    return p["overall"]["rel"] / tol


def _heatmap(plt, pairs: list[dict]):
    """Each cell: the gradient difference over the tolerance it was judged by (log10;
    below 0 passes). ``tie`` and ``n/a`` cells are grey and labelled."""
    from matplotlib.colors import ListedColormap

    pairs = [p for p in pairs if p["dtype"] != "compiled vs eager"]  # backend pairs only
    names = sorted({f"{p['a']}-{p['b']}" for p in pairs})
    rows = sorted({(p["model"], p["dtype"]) for p in pairs})  # one row each: tall, narrow
    grid = np.full((len(rows), len(names)), np.nan)
    labels = {}
    for p in pairs:
        r, c = rows.index((p["model"], p["dtype"])), names.index(f"{p['a']}-{p['b']}")
        if p["status"] == "tie":
            labels[r, c] = "tie"
        elif p["status"] == NA:
            labels[r, c] = "n/a"
        else:
            grid[r, c] = np.log10(max(_judged_ratio(p), 1e-18))
            labels[r, c] = "pass" if p["pass"] else "FAIL"
    fig, ax = plt.subplots(
        figsize=(1.2 * len(names) + 3.2, max(0.32 * len(rows) + 1.6, 3.0)), layout="constrained"
    )
    ax.imshow(np.where(np.isnan(grid), 0, 1), cmap=ListedColormap(["#dddddd", "white"]),
              vmin=0, vmax=1, aspect="auto")  # fmt: skip
    im = ax.imshow(grid, cmap="RdBu_r", vmin=-5, vmax=5, aspect="auto")  # blue passes
    for (r, c), text in labels.items():
        dark = not np.isnan(grid[r, c]) and abs(grid[r, c]) > 3
        ax.text(c, r, text, ha="center", va="center", fontsize=7,
                color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(len(names)), [plain(n) for n in names], fontsize=7)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(rows)), [f"{plain(m)} {dt}" for m, dt in rows], fontsize=7)
    fig.colorbar(im, label="log10(difference / tolerance)\nbelow 0 passes", shrink=0.6)
    ax.set_title("Gradient difference between backends", fontsize=10)
    return fig


def _trajectory(plt, trajectory: list[dict]):
    """One model's panel: how far the weights drift apart, per pair (colour) and
    optimizer (line style); the log axis keeps matplotlib's own math-text labels."""
    fig, ax = _panel(plt, height=3.6)
    pairs = list(dict.fromkeys(f"{t['a']}-{t['b']}" for t in trajectory))
    for t in trajectory:
        steps = sorted(t["weight_rel"], key=int)
        pair = f"{t['a']}-{t['b']}"
        ax.semilogy(
            [int(s) for s in steps],
            [max(t["weight_rel"][s], 1e-17) for s in steps],
            marker="o" if t["optimizer"] == "sgd" else "s",
            ms=3,
            ls="-" if t["optimizer"] == "sgd" else "--",
            color=PAIR_COLOURS[pairs.index(pair) % len(PAIR_COLOURS)],
            label=plain(f"{pair} {t['optimizer']}"),
        )
    ax.set_title(f"{plain(trajectory[0]['model'])}: weights apart", fontsize=10)
    ax.set_xlabel("training step")
    ax.set_ylabel("max relative weight difference")
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    return fig


def _gallery(report, plt):
    """Test images each backend's model gets wrong (first few), predicted vs true."""
    try:
        from suite.core.data import load_mnist

        mnist = load_mnist(online=False)
    except Exception:  # no cached MNIST here: the report goes on without the gallery
        return None
    items = [
        (b, m, i, p)
        for d in report["devices"]
        for (b, m), wrong in sorted(d["misclassified"].items())
        for i, p in wrong[:6]
    ]
    if not items:
        return None
    cols = 6
    rows = -(-len(items) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(cols * 1.1, rows * 1.3), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (b, m, i, p) in zip(axes.ravel(), items, strict=False):
        ax.imshow(mnist.x_test[i], cmap="gray_r")
        ax.set_title(plain(f"{b} {m}\n#{i}: {p} (true {mnist.y_test[i]})"), fontsize=6)
    return fig


def figure_problems(fig) -> list[str]:
    """What a reader would see broken in ``fig``, found before saving: text printed as
    raw TeX (math text off, or a "$" left unparsed), any text or legend drawn partly
    outside the figure (a title or legend cut off), and tick numbers of five or more
    digits without thousands separators (400000 for 400,000)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    problems = []

    def outside(bb) -> bool:
        return bb.x0 < box.x0 - 1 or bb.y0 < box.y0 - 1 or bb.x1 > box.x1 + 1 or bb.y1 > box.y1 + 1

    for t in fig.findobj(Text):
        text = t.get_text()
        if text and not t.get_parse_math() and ("$" in text or "\\" in text):
            problems.append(f"raw math text {text!r}")
    for ax in fig.axes:  # what each axes draws: title, labels, tick labels, legend
        name = ax.get_title() or ax.get_ylabel() or "an axes"
        before = len(problems)
        if ax.get_title() and outside(ax.title.get_window_extent(renderer)):
            problems.append(f"title cut off: {ax.get_title()!r}")
        legend = ax.get_legend()
        if legend is not None and outside(legend.get_window_extent(renderer)):
            problems.append(f"legend cut off in {name!r}")
        if len(problems) == before and outside(ax.get_tightbbox(renderer)):
            problems.append(f"labels cut off in {name!r}")
        for tick in ax.get_xticklabels() + ax.get_yticklabels():
            text = tick.get_text()
            if re.fullmatch(r"[-\u2212]?\d{5,}", text):
                problems.append(f"tick {text!r} without thousands separators in {name!r}")
                break
    for legend in fig.legends:
        if outside(legend.get_window_extent(renderer)):
            problems.append("figure legend cut off")
    return list(dict.fromkeys(problems))


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()
