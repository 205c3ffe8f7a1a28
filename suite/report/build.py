"""Everything the report shows, as plain data: ``build_report`` reads the folders
(``collect``), groups the runs and computes every table, sentence and figure input."""

from __future__ import annotations

import datetime
from pathlib import Path

from suite.core.data import TRAIN_IMAGES
from suite.core.stats import waiting_cpu_share
from suite.report.aa import aa_reach, aa_rows, process_of_cells, withhold
from suite.report.collect import Collected, collect
from suite.report.export import (
    csv_rows,
    grads_csv_rows,
    inference_csv_rows,
    portability_csv_rows,
    recipes_csv_rows,
    rounds_csv_rows,
)
from suite.report.groups import group, model_groups, model_order, ok_runs, round_throughputs
from suite.report.inference import inference_rows
from suite.report.merge import merge_grads, merge_portability
from suite.report.noise import disturbed, flag_rows, noise_rows, phase_rows
from suite.report.precision import policy_rows, policy_winners
from suite.report.reruns import rerun_rows
from suite.report.tables import (
    accuracy_rows,
    machine_peak,
    native_rows,
    ratio_rows,
    scaling_rows,
    speed_rows,
)
from suite.report.text import speed_sentence
from suite.report.tuned import tuned_rows
from suite.report.verdict import verdict_rows, workload_rows
from suite.report.versions import chains, set_failures, step_rows, version_curves


def _device(key: str, cells: dict, target: float | None = None) -> dict:
    keys = model_groups(cells)
    process = process_of_cells(cells)
    aa = aa_rows(cells)
    reach = aa_reach(aa)
    speed = withhold({k: speed_rows(cells, *k, process=process) for k in keys}, reach)
    busy = disturbed(cells, speed)
    return {
        "key": key,
        "models": list(dict.fromkeys(m for m, _ in keys)),
        "groups": keys,
        "accuracy": accuracy_rows(cells, speed),
        "speed": speed,
        "inference": {k: rows for k in keys if (rows := inference_rows(cells, *k))},
        "policies": policy_rows(cells),
        "policy_winners": policy_winners(cells, speed, process),
        "tuned": tuned_rows(cells),
        "native": native_rows(cells),
        "aa": aa,
        "process": process,
        "aa_reach": reach,
        "verdicts": {k: speed_sentence(rows) for k, rows in speed.items()},
        "ratios": ratio_rows(speed),
        "rounds": _rounds(cells, keys),
        "environment": _environment(cells),
        "histories": _histories(cells),
        "scaling": scaling_rows(cells),
        "versions": _versions(cells, aa, process),
        "noise": noise_rows(runs := [r for rs in cells.values() for r in rs]),
        "noise_flags": flag_rows(cells, speed),
        "disturbed": busy,
        "phases": phase_rows(runs),
        "reruns": rerun_rows(speed, target),
        "misclassified": _misclassified(cells),
        "subsets": _subsets(cells),
        "failures": _failures(cells),
        "title": device_title(next(iter(cells.values()))[0].environment),
        "conditions": {**conditions(cells), "disturbed": [m for m, _ in busy]},
    }


def _versions(cells: dict, aa: list, process) -> dict:
    """``versions``: every step between neighbouring version sets and the trend data."""
    found = chains(cells)
    if not found:
        return {}
    return {"steps": step_rows(found, aa, process), "curves": version_curves(found, process)}


def device_title(env: dict) -> str:
    """The device group's heading in words: "CPU: <model>, N logical cores, host <name>"
    or "GPU: <name> (host CPU ...)"."""
    dev = env.get("device", {})
    cores = f"{env.get('cpu_cores_logical', '?')} logical cores, host {env.get('hostname', '?')}"
    if dev.get("kind") == "gpu":
        return f"GPU: {dev.get('name', '?')} (host CPU {env.get('cpu', '?')}, {cores})"
    return f"CPU: {env.get('cpu', '?')}, {cores}"


def conditions(cells: dict) -> dict:
    """What the device group's numbers depend on, as recorded by its runs: machine,
    versions, each backend's Keras mode and threads, recipes, run dates."""
    runs = [r for rs in cells.values() for r in rs]
    env = runs[0].environment
    dev = env.get("device", {})
    backends, recipes = {}, {}
    for r in sorted(runs, key=lambda r: r.config["backend"]):
        c, e = r.config, r.environment
        if c.get("impl", "keras") != "keras":
            continue
        backends.setdefault(
            c["backend"],
            {
                "version": next(iter((e.get("framework") or {}).values()), "?"),
                "jit": e.get("settings", {}).get("jit_compile_resolved"),
                "steps_per_execution": c.get("steps_per_execution", 1),
                "threads": e.get("settings", {}).get("intra_op_threads"),
            },
        )
        recipes.setdefault(
            c["model"],
            {
                k: c.get(k)
                for k in ("batch_size", "optimizer", "learning_rate", "epochs", "train_examples")
            },
        )
    stamps = sorted(str(r.environment.get("timestamp", ""))[:10] for r in runs)
    policies: dict[str, str | None] = {}
    for r in runs:  # policy -> why the device had no native units for it (None: it had)
        policy = r.config.get("dtype_policy", "float32")
        policies[policy] = policies.get(policy) or r.environment.get("half_support")
    return {
        "cpu": env.get("cpu"),
        "cores": env.get("cpu_cores_logical"),
        "memory_bytes": env.get("memory_bytes"),
        "vector_flags": env.get("cpu_vector_flags"),
        "gpu": dev.get("name") if dev.get("kind") == "gpu" else None,
        # every Keras release the runs used (several in a versions run), oldest first
        "keras": _releases(r.environment.get("keras") for r in runs),
        "backends": backends,
        "recipes": dict(sorted(recipes.items(), key=lambda kv: model_order(kv[0]))),
        "dates": (stamps[0], stamps[-1]),
        "policies": dict(sorted(policies.items(), key=lambda kv: kv[0] != "float32")),
    }


def build_report(folders: list[Path], collected: Collected | None = None) -> dict:
    """Everything the report shows, as plain data; ``collected``: the folders as read
    already (``collect``), not read again."""
    c = collected or collect(folders)
    precision = max(c.precision, key=lambda p: str(p.get("created")), default=None)
    target = precision["target"] if precision else None
    grouped = group(c.runs)
    devices = [_device(key, cells, target) for key, cells in grouped.items()]
    kept = {(r.cell, r.run_id) for cells in grouped.values() for rs in cells.values() for r in rs}
    old = frozenset((r.cell, r.run_id) for r in c.runs) - kept
    grads = merge_grads(c.grads)
    for d in devices:
        d["verdict"] = verdict_rows(d, grads)
        d["workloads"] = workload_rows(d)
    portability = merge_portability(c.portability)
    startup = max(c.startup, key=lambda b: str(b.get("created")), default=None)
    fits = max(c.fits, key=lambda b: str(b.get("created")), default=None)
    ratios = {
        (d["key"], q["backend"], q["model"], q["variant"]): q for d in devices for q in d["ratios"]
    }
    inference = {
        (d["key"], q["backend"], q["model"], q["variant"]): q
        for d in devices
        for rows in d["inference"].values()
        for q in rows
    }
    return {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "folders": [str(f) for f in folders],
        "n_runs": len(c.runs),
        "skipped": c.skipped,
        "devices": devices,
        "grads": grads,
        "sweeps": c.sweeps,
        "csv": csv_rows(c.runs, ratios, inference, old),
        "rounds_csv": rounds_csv_rows(c.runs, old),
        "inference_csv": inference_csv_rows(c.runs, old),
        "grads_csv": grads_csv_rows(grads),
        "recipes_csv": recipes_csv_rows(c.recipes),
        "portability_csv": portability_csv_rows(portability),
        "recipes": c.recipes,
        "portability": portability,
        "startup": startup,
        "fits": fits,
        "version_failures": set_failures(c.version_sets),
        "precision": precision,
        "waiting_cpu_share": waiting_cpu_share(c.rounds),
    }


def _releases(versions) -> str:
    """The distinct releases, oldest first, joined: "3.14.1, 3.15.1"."""
    from suite.core.environments import release_key

    found = {v for v in versions if v}
    return ", ".join(sorted(found, key=release_key)) or "?"


def _environment(cells) -> list[list[str]]:
    r = next(iter(cells.values()))[0].environment
    rows = [
        ["python", r.get("python")],
        ["keras", _releases(rs[0].environment.get("keras") for rs in cells.values())],
        ["cpu", r.get("cpu")],
        ["cores (logical)", r.get("cpu_cores_logical")],
        ["os", r.get("os")],
    ]
    seen = {}
    for runs in cells.values():
        env = runs[0].environment
        seen[env["backend"]] = (
            env.get("framework"),
            env.get("settings", {}).get("intra_op_threads"),
        )
    rows += [
        [f"{b}: versions, threads", ", ".join(f"{k} {x}" for k, x in (v or {}).items()) + f"; {t}"]
        for b, (v, t) in sorted(seen.items())
    ]
    peak, by = machine_peak(cells)
    if peak:
        rows.append(["% of peak denominator", f"{peak:.1f} GFLOP/s: best float32 matmul, via {by}"])
    if "cpu_theoretical_peak" in r:  # results written before it was recorded lack it
        rows += [["theoretical float32 peak", peak_text(r["cpu_theoretical_peak"], peak)]]
    return [[str(a), str(b)] for a, b in rows]


def peak_text(theory: dict | None, measured: float | None) -> str:
    """The theoretical peak beside the measured one, and what it means when the
    measured rate beats it (the cores run above the clock the kernel reports)."""
    if not theory:
        return "not derivable here (unknown vector units or clock)"
    text = f"{theory['gflops']:.1f} GFLOP/s = {theory['derivation']}"
    if measured and measured > theory["gflops"]:
        text += (
            f"; the measured matmul ({measured:.1f}) beats it, so the cores run above the "
            "reported clock (boost): read this as a floor of the true peak"
        )
    elif measured:
        text += f"; the measured matmul reaches {measured / theory['gflops']:.0%} of it"
    return text


def _histories(cells) -> dict:
    """(backend, model) -> [(cumulative train seconds, test accuracy)] of the first seed."""
    out = {}
    for (b, m, impl, _), runs in cells.items():
        ok = [
            r for r in ok_runs(runs) if r.history and r.history[-1].test_accuracy is not None
        ]  # synthetic data: no accuracy, no curve
        if impl == "keras" and ok and (b, m) not in out:
            t, pts = 0.0, []
            for h in ok[0].history:
                t += h.train_seconds
                pts.append((t, h.test_accuracy))
            out[(b, m)] = pts
    return out


def _failures(cells) -> list[tuple[str, str, str]]:
    """(backend, model, the framework's message on one line) of every cell that could not
    run: a brought model may use a layer or op one backend lacks."""
    out = []
    for (b, m, _, _), runs in cells.items():
        for r in runs:
            if r.status == "failed":
                first = ((r.error or "").strip().splitlines() or ["no message"])[0][:240]
                if (b, m, first) not in out:
                    out.append((b, m, first))
    return out


def _subsets(cells) -> dict[str, int]:
    """model -> training images per cell, for models trained on fewer than all of
    MNIST's (compare --quick does so for the heavy workloads, --train-examples for all)."""
    out = {}
    for (_, m, _, _), runs in cells.items():
        n = min(r.config.get("train_examples", TRAIN_IMAGES) for r in runs)
        if n < TRAIN_IMAGES:
            out[m] = min(n, out.get(m, n))
    return out


def _misclassified(cells) -> dict:
    return {
        (b, m): runs[0].misclassified[:8]
        for (b, m, impl, _), runs in cells.items()
        if impl == "keras" and runs[0].status == "ok"
    }


def _rounds(cells, keys) -> dict:
    """(model, variant) -> backend -> per-round throughputs (examples/s), for the figure."""
    out = {}
    for model, var in keys:
        for (b, m, impl, v), runs in cells.items():
            if m == model and v == var and impl == "keras":
                vals = [t for r in ok_runs(runs) for t in round_throughputs(r).values()]
                if vals:
                    out.setdefault((model, var), {})[b] = vals
    return out
