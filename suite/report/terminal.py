"""Plain-text tables for the terminal and Markdown (pure functions)."""

from __future__ import annotations

from suite.core.stats import SPEED_THRESHOLD


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; numbers are passed in already formatted."""
    cells = [list(map(str, headers))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_results(results) -> str:
    """One line per cell: throughput (what ranks) beside latency (a diagnostic)."""
    rows = []
    for r in results:
        t = r.latency_ms
        rows.append(
            [
                r.config["backend"],
                r.config["model"],
                r.config["seed"],
                r.status,
                f"{r.final_test_accuracy:.2%}" if r.final_test_accuracy is not None else "-",
                f"{r.throughput_examples_per_s:,.0f}" if r.throughput_examples_per_s else "-",
                f"{r.ms_per_step:.3f}" if r.ms_per_step else "-",
                f"{len(r.chunks)}",
                f"{t.median:.3f} [{t.p10:.3f}, {t.p90:.3f}]" if t else "-",
                f"{r.first_step_ms:.0f}" if r.first_step_ms is not None else "-",
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
        "throughput examples/s",
        "ms/step",
        "chunks",
        "latency ms median [p10, p90]",
        "first step ms",
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
                f"{m['ms_per_step']:.3f}" if m["ms_per_step"] is not None else "-",
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
            "ms/step (throughput)",
            "first step ms",
            "test acc",
            "trains ok",
            "error",
        ],
        rows,
    )
    return f"{head}\n{table}\n{sweep_margins(sweep)}\n"


def sweep_margins(sweep: dict) -> str:
    """The winner's margin over the runner-up and Keras ÷ native, with paired CIs."""

    def ratio(o: dict) -> str:
        ci = f"[{o['ci'][0]:.2f}, {o['ci'][1]:.2f}]" if o["ci"][0] is not None else "(no CI)"
        return f"{o['ratio']:.2f}× {ci}, {o['rounds']} rounds: {VERDICT_WORDS[o['verdict']]}"

    m, o, g = sweep.get("margin"), sweep["overhead"], sweep.get("gain")
    fastest = sweep.get("fastest_keras", sweep["best_keras"])
    lines = [
        f"runner-up {m['runner_up']} ÷ fastest {fastest}: {ratio(m)}"
        if m
        else "fastest's margin: n/a (fewer than two Keras modes train correctly)",
        f"Keras {o['keras_mode']} ÷ native {o['native_mode']}: {ratio(o)}"
        if o
        else "Keras ÷ native: n/a",
    ]
    if g:
        ci = "(no CI)" if g["ci"][0] is None else f"[{g['ci'][0]:.2f}, {g['ci'][1]:.2f}]"
        kept = f"not clearly {SPEED_THRESHOLD:.0%} faster: the default stays"
        lines.append(
            f"{g['mode']} ÷ default, throughput: {g['ratio']:.2f}× {ci}: "
            + ("the best mode" if g["wins"] else kept)
        )
    if sweep.get("a_a"):
        a = sweep["a_a"]
        lines.append(
            f"A/A: default ÷ the default in a second process: {a['ratio']:.2f}× "
            f"[{a['ci'][0]:.2f}, {a['ci'][1]:.2f}], {a['rounds']} rounds"
        )
    return "\n".join(lines)


VERDICT_WORDS = {
    "slower": "the first takes longer (CI above 1, beyond 5%)",
    "faster": "the first is faster (CI below 1, beyond 5%)",
    "indistinguishable": "indistinguishable here",
}


def format_timing_checks(checks) -> str:
    rows = []
    for c in checks:
        q = c.throughput_ratio
        rows.append(
            [
                c.backend,
                c.model,
                c.impl,
                f"{c.steps_per_block} × {c.passes}, chunks of {c.chunk_steps}",
                f"{c.suite_examples_per_s:,.0f}",
                f"{c.plain_examples_per_s:,.0f}",
                _ci3(q),
                "yes" if 1 - SPEED_THRESHOLD <= q.low and q.high <= 1 + SPEED_THRESHOLD else "no",
                f"{c.latency_suite.median:.3f}" if c.latency_suite else "-",
                f"{c.latency_bare.median:.3f}" if c.latency_bare else "-",
                f"{c.latency_ratio:.3f}" if c.latency_ratio else "-",
            ]
        )
    return format_table(
        [
            "backend",
            "model",
            "impl",
            "block: steps × passes",
            "suite examples/s",
            "plain examples/s",
            "suite/plain [95% CI]",
            "CI within 5%",
            "latency ms",
            "bare ms",
            "latency/bare",
        ],
        rows,
    ) + "".join(_boundary_line(c) for c in checks if c.boundary_ratio is not None)


def _boundary_line(c) -> str:
    """The epoch-boundary arm in words: the plain fit() one call per epoch, what the
    multi-epoch fit() pays at its boundaries, and the suite against the arm."""
    q, v = c.boundary_ratio, c.suite_vs_epochwise
    return (
        f"\n{c.backend} {c.model}: the plain fit() one call per epoch (the time between "
        f"epochs off the clock, as in the suite's chunks) ran "
        f"{c.epochwise_examples_per_s:,.0f} examples/s; multi-epoch fit() / that {_ci3(q)} "
        f"(what its epoch boundaries cost inside the epochs); suite / that {_ci3(v)} "
        "(diagnostics, 95% CI over the same blocks)"
    )


def _ci3(q) -> str:
    """A timing-check ratio with its interval, three decimals."""
    return f"{q.ratio:.3f} [{q.low:.3f}, {q.high:.3f}]"


def _ratio(q) -> str:
    """A ``diff`` ratio with its interval over runs, or why there is none."""
    if q.low is None:
        return f"{q.ratio:.2f} (no CI: one run a side)"
    return f"{q.ratio:.2f} [{q.low:.2f}, {q.high:.2f}]"


def format_diff(rows: list[dict], verdicts: list[str] = ()) -> str:
    """``diff``'s tables: training throughput old and new, the time ratio with its CI
    over runs, and the accuracy change; then every other metric recorded on both sides;
    then the verdicts that changed, and how many cells changed beyond noise."""

    table = [
        [
            r["backend"],
            r["device"],
            r["model"],
            r["impl"],
            f"{r['old_examples_per_s']:,.0f}",
            f"{r['new_examples_per_s']:,.0f}",
            _ratio(r["time_ratio"]),
            r["step_flag"],
            f"{r['old_acc']:.2%} -> {r['new_acc']:.2%}",
            "CHANGED" if r["acc_flag"] else "",
        ]
        for r in rows
    ]
    headers = ["backend", "device", "model", "impl", "old examples/s", "new examples/s",
               "new/old time [95% CI]", "speed", "accuracy", "acc"]  # fmt: skip
    others = [[r["backend"], r["device"], r["model"], o["metric"], _ratio(o["ratio"]),
               {"slower": "larger", "faster": "smaller"}.get(o["flag"], "")]
              for r in rows for o in r["others"]]  # fmt: skip
    other_headers = ["backend", "device", "model", "metric", "new/old [95% CI]", "changed"]
    flagged = sum(
        1 for r in rows if r["step_flag"] or r["acc_flag"] or any(o["flag"] for o in r["others"])
    )
    parts = [format_table(headers, table)]
    if others:
        parts.append(format_table(other_headers, others))
    parts.append("verdicts changed: " + ("; ".join(verdicts) if verdicts else "none"))
    parts.append(
        f"{flagged} of {len(rows)} cells changed beyond noise (a time or size: > 10% "
        "with a 95% CI over runs excluding no change, or > 30% with one run a side; "
        "accuracy beyond seed noise)"
    )
    return "\n".join(parts)


def format_startup_diff(rows: list[dict]) -> str:
    """``diff``'s start-up table: from a fresh process to the end of the first call,
    new ÷ old per backend, workload, call and cache."""
    table = [
        [r["backend"], r["model"], r["what"], r["cache"],
         _ratio(r["ratio"]), r["flag"]]
        for r in rows
    ]  # fmt: skip
    headers = ["backend", "model", "call", "cache", "start-up new/old [95% CI]", "changed"]
    return format_table(headers, table)
