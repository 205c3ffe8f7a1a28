"""The report's figures (matplotlib, Agg): thin drawings of the report data, one colour
per backend throughout, titles and axes a reader understands."""

from __future__ import annotations

import io

import numpy as np

from suite.core.schemas import NA, TOLERANCE

COLOURS = {"torch": "#ee4c2c", "jax": "#4285f4", "tensorflow": "#ff9900"}


def figures(report: dict) -> dict[str, bytes]:
    """PNG figures by name (``throughput_0``, ``accuracy_time_0``, ``grads_heatmap``,
    ``trajectory``, ``misclassified``); absent where there is nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["text.parse_math"] = False  # names from result files are text, not TeX
    out = {}
    for i, d in enumerate(report["devices"]):
        if any(d["rounds"].get(k) for k in d["groups"]):
            out[f"throughput_{i}"] = _throughput(plt, d)
        if d["histories"]:
            out[f"accuracy_time_{i}"] = _accuracy(plt, d)
    g = report["grads"]
    if g and g["pairs"]:
        out["grads_heatmap"] = _heatmap(plt, g["pairs"])
        if g["trajectory"]:
            out["trajectory"] = _trajectory(plt, g["trajectory"])
    gallery = _gallery(report, plt)
    if gallery:
        out["misclassified"] = gallery
    return out


def _panels(plt, n: int, height: float = 3.0):
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, height), squeeze=False)
    return fig, axes[0]


def _throughput(plt, d: dict) -> bytes:
    groups = [k for k in d["groups"] if d["rounds"].get(k)]
    fig, axes = _panels(plt, len(groups))
    for ax, k in zip(axes, groups, strict=True):
        per = d["rounds"][k]
        names = sorted(per, key=lambda b: -float(np.median(per[b])))
        for x, b in enumerate(names):
            v = np.asarray(per[b])
            jitter = (np.arange(len(v)) % 7 - 3) * 0.04
            ax.plot(x + jitter, v, "o", ms=3, alpha=0.6, color=COLOURS.get(b, "grey"))
            ax.plot([x - 0.3, x + 0.3], [np.median(v)] * 2, color="black", lw=1.5)
        ax.set_xticks(range(len(names)), names)
        ax.set_ylim(bottom=0)
        ax.set_title(f"{k[0]}: throughput per round")
        ax.set_ylabel("examples/s (plain fit)")
    return _png(fig)


def _accuracy(plt, d: dict) -> bytes:
    models = [m for m in d["models"] if any(k[1] == m for k in d["histories"])]
    targets = {a["model"]: a["target"] for a in d["accuracy"]}
    fig, axes = _panels(plt, len(models))
    for ax, m in zip(axes, models, strict=True):
        values = []
        for (b, mm), pts in sorted(d["histories"].items()):
            if mm == m:
                acc = [p[1] * 100 for p in pts]
                values += acc
                ax.plot([p[0] for p in pts], acc, marker="o", ms=3, label=b,
                        color=COLOURS.get(b, "grey"))  # fmt: skip
        target = targets.get(m)
        if target:
            ax.axhline(target * 100, ls="--", lw=1, color="grey", label="target")
            values.append(target * 100)
        low, high = min(values), max(values)
        pad = max(1.0 - (high - low), 0) / 2 + 0.2  # never less than ~1 point of axis
        ax.set_ylim(low - pad, min(high + pad, 100))
        ax.set_title(f"{m}: test accuracy vs training time")
        ax.set_xlabel("training s (throughput clock)")
        ax.set_ylabel("test accuracy, %")
        ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def _heatmap(plt, pairs: list[dict]) -> bytes:
    """Each cell: the gradient difference over the tolerance it was judged by (log10;
    below 0 passes). ``tie`` and ``n/a`` cells are grey and labelled, not red."""
    from matplotlib.colors import ListedColormap

    pairs = [p for p in pairs if p["dtype"] != "compiled vs eager"]  # backend pairs only
    names = sorted({f"{p['a']}-{p['b']}" for p in pairs})
    cols = sorted({(p["model"], p["dtype"]) for p in pairs})
    grid = np.full((len(names), len(cols)), np.nan)
    labels = {}
    for p in pairs:
        r, c = names.index(f"{p['a']}-{p['b']}"), cols.index((p["model"], p["dtype"]))
        if p["status"] == "tie":
            labels[r, c] = "tie"
        elif p["status"] == NA:
            labels[r, c] = "n/a"
        else:
            tol = TOLERANCE[p.get("judged_as", p["dtype"])]["rel"]
            grid[r, c] = np.log10(max(p["overall"]["rel"], 1e-18) / tol)
            labels[r, c] = "pass" if p["pass"] else "FAIL"
    fig, ax = plt.subplots(figsize=(1.1 * len(cols) + 2.5, 0.55 * len(names) + 1.8))
    ax.imshow(np.where(np.isnan(grid), 0, 1), cmap=ListedColormap(["#dddddd", "white"]),
              vmin=0, vmax=1)  # fmt: skip
    im = ax.imshow(grid, cmap="RdYlGn_r", vmin=-8, vmax=2)
    for (r, c), text in labels.items():
        ax.text(c, r, text, ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(cols)), [f"{m}\n{dt}" for m, dt in cols], fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    fig.colorbar(im, label="log10(difference / tolerance)\nbelow 0 passes")
    ax.set_title("Gradient difference between backends")
    return _png(fig)


def _trajectory(plt, trajectory: list[dict]) -> bytes:
    """One small panel per model: how far the weights drift apart, per pair and optimizer."""
    from matplotlib import ticker

    models = list(dict.fromkeys(t["model"] for t in trajectory))
    fig, axes = _panels(plt, len(models), height=3.2)
    for ax, m in zip(axes, models, strict=True):
        for t in (t for t in trajectory if t["model"] == m):
            steps = sorted(t["weight_rel"], key=int)
            ax.semilogy(
                [int(s) for s in steps],
                [max(t["weight_rel"][s], 1e-17) for s in steps],
                marker="o",
                ms=3,
                ls="-" if t["optimizer"] == "sgd" else "--",
                label=f"{t['a']}-{t['b']} {t['optimizer']}",
            )
        # plain tick labels: math text is off (result names are text), so the log axis'
        # default TeX labels would print raw
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.0e}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_title(f"{m}: weights apart")
        ax.set_xlabel("training step")
        ax.set_ylabel("max relative weight difference")
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(0, -0.25), ncol=2, frameon=False)
    return _png(fig)


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
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.25), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (b, m, i, p) in zip(axes.ravel(), items, strict=False):
        ax.imshow(mnist.x_test[i], cmap="gray_r")
        ax.set_title(f"{b} {m}\n#{i}: {p} (true {mnist.y_test[i]})", fontsize=6)
    return _png(fig)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()
