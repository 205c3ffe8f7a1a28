"""Plain-text tables for the terminal and Markdown (pure functions)."""

from __future__ import annotations


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; numbers are passed in already formatted."""
    cells = [list(map(str, headers))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_results(results) -> str:
    rows = []
    for r in results:
        t = r.step_time_ms
        rows.append(
            [
                r.config["backend"],
                r.config["model"],
                r.config["seed"],
                r.status,
                f"{r.final_test_accuracy:.2%}" if r.final_test_accuracy is not None else "-",
                f"{t.median:.3f} [{t.ci_low:.3f}, {t.ci_high:.3f}]" if t else "-",
                f"{t.iqr:.3f}" if t else "-",
                f"{r.first_step_ms:.0f}" if r.first_step_ms is not None else "-",
                f"{r.throughput_examples_per_s:,.0f}" if r.throughput_examples_per_s else "-",
                f"{r.time_to_accuracy_s:.1f}" if r.time_to_accuracy_s is not None else "-",
                f"{r.total_train_seconds:.1f}" if r.total_train_seconds is not None else "-",
            ]
        )
    headers = [
        "backend",
        "model",
        "seed",
        "status",
        "test acc",
        "ms/step median [95% CI]",
        "IQR",
        "first step ms",
        "examples/s",
        "time to target s",
        "train s",
    ]
    return format_table(headers, rows)


def format_sweep(sweep: dict) -> str:
    rows = []
    for m in sweep["modes"]:
        best = m["mode"] in (sweep["best_keras"], sweep["best_native"])
        rows.append(
            [
                m["mode"] + (" *" if best else ""),
                m["status"],
                f"{m['median_ms']:.3f} [{m['ci_ms'][0]:.3f}, {m['ci_ms'][1]:.3f}]"
                if m["median_ms"] is not None
                else "-",
                f"{m['first_step_ms']:.0f}" if m["first_step_ms"] is not None else "-",
                f"{m['test_accuracy']:.2%}" if m["test_accuracy"] is not None else "-",
                "yes" if m["trains_correctly"] else "no",
                (m["error"] or "")[:60],
            ]
        )
    head = f"sweep {sweep['backend']} {sweep['model']} (* = fastest that trains correctly)"
    table = format_table(
        [
            "mode",
            "status",
            "ms/step median [95% CI]",
            "first step ms",
            "test acc",
            "trains ok",
            "error",
        ],
        rows,
    )
    o = sweep["overhead"]
    tail = (
        f"Keras overhead: {o['keras_mode']} / native {o['native_mode']} = {o['ratio']:.2f}x "
        f"[{o['ci'][0]:.2f}, {o['ci'][1]:.2f}]"
        if o
        else "Keras overhead: n/a"
    )
    return f"{head}\n{table}\n{tail}\n"
