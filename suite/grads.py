"""Gradient equivalence: same model, same weights, same batch; do the backends agree?

The comparison functions are pure numpy. ``run_grads`` spawns one child process
per backend (``suite.grads_child``), reads the arrays each child saved, compares
every pair of backends and each backend against float64 numpy references for the
softmax (closed form) and MLP (backprop) models, and writes one schema-versioned
JSON file.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from suite.atomic import write_new
from suite.backends import child_env
from suite.errors import SuiteError

SCHEMA = "keras-backend-suite/grads"
SCHEMA_VERSION = 2  # 2: float64 judged per model from its own computation

# Largest allowed max|a-b| / max|b| for logits, loss and every gradient tensor, and
# smallest allowed cosine similarity. float32: the largest spread measured between
# backends on this suite's models was ~2e-6 relative (see README); 1e-4 leaves
# ~50x headroom and still flags a 1e-3 relative perturbation of one element.
# float64: agreement to ~1e-12 is expected; 1e-10 leaves headroom for reductions
# that sum in a different order.
# "elem" is element-wise, so a small element cannot hide under a large one: every
# |a_i - b_i| <= elem * (|b_i| + ELEM_FLOOR * max|b|), i.e. allclose with rtol = elem and
# atol = elem * ELEM_FLOOR * max|b| (float32: rtol 1e-3, atol 1e-5 max|b|). The worst
# element measured between backends was 1.8e-6 max|b| (cnn), 5x inside; an element
# 20,000x smaller than the largest and wrong by 100% passes max|a-b|/max|b| (5e-5) but
# scores 5e-3 here, 5x outside. Elements under ~1e-5 max|b| are below what float32 can
# tell apart from rounding of the sums that made the large ones.
TOLERANCE = {
    "float32": {"rel": 1e-4, "cosine": 1 - 1e-6, "elem": 1e-3},
    "float64": {"rel": 1e-10, "cosine": 1 - 1e-12, "elem": 1e-9},
}
ELEM_FLOOR = 1e-2
NA = "n/a"  # float64 row that Keras computed in float32: measured, not judged
COMPILED = "compiled step"  # float32, one step of Keras' compiled train function


@dataclass(frozen=True)
class Diff:
    max_abs: float
    rel: float  # max|a-b| / max|b|
    cosine: float
    elem: float = 0.0  # max_i |a_i-b_i| / (|b_i| + ELEM_FLOOR max|b|)


def compare_arrays(a, b) -> Diff:
    """Max absolute difference, difference relative to b's max magnitude, cosine."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        return Diff(float("inf"), float("inf"), 0.0)
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    rel = diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    cosine = float(a @ b / norms) if norms > 0 else (1.0 if diff == 0 else 0.0)
    if scale > 0:
        elem = float(np.max(np.abs(a - b) / (np.abs(b) + ELEM_FLOOR * scale)))
    else:
        elem = rel
    return Diff(diff, rel, cosine, elem)


def compare_gradients(ga: dict, gb: dict) -> tuple[dict[str, Diff], Diff, list[str]]:
    """Per-variable and overall (all gradients concatenated) diffs, and structural problems."""
    problems = [f"variable {k} missing on one side" for k in sorted(set(ga) ^ set(gb))]
    common = sorted(set(ga) & set(gb))
    per_var = {}
    for k in common:
        if np.shape(ga[k]) != np.shape(gb[k]):
            problems.append(f"{k}: shape {np.shape(ga[k])} vs {np.shape(gb[k])}")
        per_var[k] = compare_arrays(ga[k], gb[k])
    same = [k for k in common if np.shape(ga[k]) == np.shape(gb[k])]
    overall = compare_arrays(
        np.concatenate([np.ravel(ga[k]) for k in same] or [[]]),
        np.concatenate([np.ravel(gb[k]) for k in same] or [[]]),
    )
    return per_var, overall, problems


def verdict(diffs: list[Diff], problems: list[str], dtype: str) -> bool:
    """True when every diff is within the dtype's tolerance and nothing is missing."""
    tol = TOLERANCE[dtype]
    return not problems and all(
        d.rel <= tol["rel"] and d.cosine >= tol["cosine"] and d.elem <= tol["elem"] for d in diffs
    )


def _softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of float64 logits and its gradient (softmax - onehot(y)) / N."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(-np.log(p[np.arange(n), y]).mean())
    p[np.arange(n), y] -= 1.0
    return loss, p / n


def softmax_reference(
    x: np.ndarray, y: np.ndarray, kernel: np.ndarray, bias: np.ndarray
) -> tuple[float, np.ndarray, dict]:
    """Closed form, float64: dL/dW = X^T (softmax(XW+b) - onehot(y)) / N, dL/db = column
    means of the same. Returns loss, logits and gradients keyed like Keras' variables."""
    X = np.asarray(x, np.float64).reshape(len(x), -1)
    logits = X @ kernel.astype(np.float64) + bias.astype(np.float64)
    loss, delta = _softmax_cross_entropy(logits, y)
    return loss, logits, {"logits/kernel": X.T @ delta, "logits/bias": delta.sum(axis=0)}


MLP_LAYERS = ("hidden1", "hidden2", "logits")  # Dense layers; ReLU on all but the last
# A pre-activation this close to zero (relative to the layer's largest) can change
# sign under float32 rounding, which flips that unit's ReLU gradient.
KINK_BAND = 1e-6


def mlp_reference(
    x: np.ndarray, y: np.ndarray, weights: dict, flips: frozenset = frozenset()
) -> tuple[float, np.ndarray, dict, list]:
    """Float64 backprop through the MLP. ``flips`` holds (layer, example, unit) whose
    ReLU mask is inverted. Also returns the near-zero pre-activations (the kinks)."""
    h = np.asarray(x, np.float64).reshape(len(x), -1)
    inputs, masks, kinks = [], [], []
    for layer in MLP_LAYERS:
        inputs.append(h)
        z = h @ weights[f"{layer}/kernel"].astype(np.float64) + weights[f"{layer}/bias"]
        if layer == MLP_LAYERS[-1]:
            break
        mask = z > 0
        for i, j in zip(*np.nonzero(np.abs(z) <= KINK_BAND * np.abs(z).max()), strict=True):
            kinks.append((layer, int(i), int(j)))
        for lyr, i, j in flips:
            if lyr == layer:
                mask[i, j] = not mask[i, j]
        masks.append(mask)
        h = z * mask
    loss, delta = _softmax_cross_entropy(z, y)
    grads = {}
    for k in range(len(MLP_LAYERS) - 1, -1, -1):
        layer = MLP_LAYERS[k]
        grads[f"{layer}/kernel"] = inputs[k].T @ delta
        grads[f"{layer}/bias"] = delta.sum(axis=0)
        if k:
            delta = (delta @ weights[f"{layer}/kernel"].astype(np.float64).T) * masks[k - 1]
    return loss, z, grads, kinks


def explain_by_kinks(ga: dict, x, y, weights: dict, dtype: str, max_kinks: int = 4) -> list | None:
    """The ReLU flips under which ``ga`` matches the float64 MLP reference, or None.

    Tries every assignment of the near-zero pre-activations (at most 2**max_kinks);
    an empty list means it matches with no flip at all."""
    *_, kinks = mlp_reference(x, y, weights)
    if len(kinks) > max_kinks:
        return None
    for r in range(len(kinks) + 1):
        for flips in itertools.combinations(kinks, r):
            _, _, ref, _ = mlp_reference(x, y, weights, frozenset(flips))
            per_var, overall, problems = compare_gradients(ga, ref)
            if verdict([*per_var.values(), overall], problems, dtype):
                return [list(f) for f in flips]
    return None


def _section(arrays: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def _judge(
    ga: dict, gb: dict, logits_a, logits_b, loss_a: float, loss_b: float, judged_as: str
) -> dict:
    """Gradient, logits and loss diffs of side a against side b, and the plain verdict."""
    per_var, overall, problems = compare_gradients(ga, gb)
    logits = compare_arrays(logits_a, logits_b)
    loss_rel = abs(loss_a - loss_b) / abs(loss_b) if loss_b else float("inf")
    loss = Diff(abs(loss_a - loss_b), loss_rel, 1.0, loss_rel)
    ok = verdict([*per_var.values(), overall, logits, loss], problems, judged_as)
    return {
        "judged_as": judged_as,
        "loss": asdict(loss),
        "logits": asdict(logits),
        "overall": asdict(overall),
        "per_variable": {k: asdict(v) for k, v in per_var.items()},
        "worst_variable_rel": max((d.rel for d in per_var.values()), default=0.0),
        "relu_flips": None,
        "problems": problems,
        "status": "pass" if ok else "FAIL",
        "pass": ok,
    }


def _explain_ties(row: dict, model: str, sides: list[dict], x, y, weights: dict) -> dict:
    """A failed MLP comparison becomes a ``tie`` when every side's gradients match the
    float64 reference under some flipping of near-zero ReLU pre-activations, and its
    logits and loss agree within tolerance: a tie excuses gradients, nothing else."""
    outputs_agree = verdict([Diff(**row["logits"]), Diff(**row["loss"])], [], row["judged_as"])
    if row["status"] == "FAIL" and model == "mlp" and not row["problems"] and outputs_agree:
        flips = [explain_by_kinks(g, x, y, weights, row["judged_as"]) for g in sides]
        row["relu_flips"] = flips if len(flips) > 1 else flips[0]
        if all(f is not None for f in flips):
            row["status"], row["pass"] = "tie", True
    return row


def compare_backends(a: dict, b: dict, model: str, dtype: str, context: dict) -> dict:
    """One pair's comparison for one model and dtype, from two children's arrays.

    ``context`` holds the batch (x, y), the shared weights and each side's measured
    float64 matmul error, needed to judge float64 and to explain ReLU ties."""
    pre = f"{model}/{dtype}/"
    ga, gb = _section(a, pre + "grad/"), _section(b, pre + "grad/")
    judged_as = "float32" if dtype == COMPILED else dtype
    if dtype == "float64" and not (context["float64_ok"][0] and context["float64_ok"][1]):
        judged_as = "float32"  # Keras ran part of the float64 model in float32
    la, lb = float(a[pre + "loss"]), float(b[pre + "loss"])
    row = _judge(ga, gb, a[pre + "logits"], b[pre + "logits"], la, lb, judged_as)
    row = _explain_ties(row, model, [ga, gb], context["x"], context["y"], context["weights"][model])
    return {
        "model": model,
        "dtype": dtype,
        "loss_a": la,
        "loss_b": lb,
        **_not_applicable(row, dtype),
    }


def _not_applicable(row: dict, dtype: str) -> dict:
    """A float64 row whose side ran in float32 inside Keras tests no float64: its
    numbers stay on record, its verdict is n/a and counts toward nothing."""
    if dtype == "float64" and row["judged_as"] != "float64":
        row = {**row, "status": NA, "pass": None}
    return row


FLOAT64_REL_ERROR = 1e-12  # float32 arithmetic shows about 1e-7 here, float64 about 1e-16


def computed_in_float64(arrays: dict, model: str) -> bool:
    """Did this side's float64 computation of ``model`` really run in float64? Judged from
    that computation's own outputs: every array float64, and its last layer's product
    within FLOAT64_REL_ERROR of numpy's float64 one."""
    pre = f"{model}/float64/precision/"
    if pre + "last_layer_rel_error" not in arrays:
        return False
    same = bool(arrays[pre + "all_arrays_in_dtype"])
    return same and float(arrays[pre + "last_layer_rel_error"]) <= FLOAT64_REL_ERROR


def float64_precision(arrays: dict, models, dtypes) -> dict:
    """Per backend and model: (last-layer relative error, all arrays float64), for the record."""
    if "float64" not in dtypes:
        return {}
    return {
        b: {
            m: (
                float(arr[f"{m}/float64/precision/last_layer_rel_error"]),
                bool(arr[f"{m}/float64/precision/all_arrays_in_dtype"]),
            )
            for m in models
        }
        for b, arr in arrays.items()
    }


def all_pass(report: dict) -> bool:
    """The overall verdict: every judged comparison passed (n/a rows excluded)."""
    rows = report["pairs"] + report["reference"]
    return all(r["pass"] for r in rows if r["status"] != NA)


def compare_reference(
    arrays: dict,
    model: str,
    dtype: str,
    x: np.ndarray,
    y: np.ndarray,
    weights: dict,
    float64_ok: bool,
) -> dict:
    """A backend's loss, logits and gradients against the float64 numpy reference
    (closed form for softmax, backprop for the MLP, with ReLU ties explained)."""
    if model == "softmax":
        loss, logits, grads = softmax_reference(
            x, y, weights["logits/kernel"], weights["logits/bias"]
        )
    else:
        loss, logits, grads, _ = mlp_reference(x, y, weights)
    pre = f"{model}/{dtype}/"
    ga = _section(arrays, pre + "grad/")
    judged_as = dtype if dtype == "float32" or float64_ok else "float32"
    row = _judge(
        ga, grads, arrays[pre + "logits"], logits, float(arrays[pre + "loss"]), loss, judged_as
    )
    row = _explain_ties(row, model, [ga], x, y, weights)
    return {"model": model, "dtype": dtype, **_not_applicable(row, dtype)}


def trajectory_divergence(a: dict, b: dict, model: str, optimizer: str) -> dict:
    """Loss curves and max relative weight difference at each recorded step."""
    pre = f"{model}/traj/{optimizer}/"
    steps = sorted({int(k[len(pre) + 1 :].split("/")[0]) for k in a if k.startswith(pre + "w")})
    weight_rel = {}
    for s in steps:
        wa, wb = _section(a, f"{pre}w{s}/"), _section(b, f"{pre}w{s}/")
        weight_rel[str(s)] = max(compare_arrays(wa[k], wb[k]).rel for k in wa)
    la, lb = a[pre + "losses"], b[pre + "losses"]
    return {
        "model": model,
        "optimizer": optimizer,
        "weight_rel": weight_rel,
        "loss_abs_diff_final": float(abs(la[-1] - lb[-1])),
        "loss_abs_diff_max": float(np.max(np.abs(la - lb))),
    }


def run_child(backend: str, request_path: Path, out_path: Path, log) -> None:
    cmd = [
        sys.executable,
        "-m",
        "suite.grads_child",
        "--backend",
        backend,
        "--request",
        str(request_path),
        "--out",
        str(out_path),
    ]
    proc = subprocess.run(cmd, env=child_env(), stderr=subprocess.PIPE, text=True)
    for line in proc.stderr.splitlines():
        if line.startswith(f"[{backend}]"):
            log(line)
    if proc.returncode != 0:
        tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1:] or ["?"]
        raise SuiteError(f"grads child for {backend} failed: {tail[0]}")


def run_grads(
    models: list[str],
    backends: list[str],
    dtypes: list[str],
    steps: int,
    batch_size: int,
    seed: int,
    threads: int,
    out: Path,
    weights_dir: Path,
    log=lambda m: None,
) -> tuple[dict, Path]:
    """Spawn one child per installed backend, compare, write ``out/grads-<time>.json``."""
    from suite.backends import is_installed
    from suite.data import load_mnist, preprocess
    from suite.weights import read_weights_npz

    skipped, arrays = [b for b in backends if not is_installed(b)], {}
    weights = {m: str(weights_dir / f"{m}-seed{seed}.npz") for m in models}
    request = {
        "models": models,
        "dtypes": dtypes,
        "steps": steps,
        "batch_size": batch_size,
        "seed": seed,
        "threads": threads,
        "weights": weights,
    }
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        request_path = Path(tmp) / "request.json"
        request_path.write_text(json.dumps(request))
        for b in skipped:
            log(f"[{b}] not installed: skipped")
        ran = [b for b in backends if b not in skipped]
        # The children run at once: nothing here is timed, and each child's results
        # do not depend on the others (same request, same weights files).
        with ThreadPoolExecutor(max_workers=len(ran) or 1) as pool:
            jobs = [
                pool.submit(run_child, b, request_path, Path(tmp) / f"{b}.npz", log) for b in ran
            ]
            for job in jobs:
                job.result()  # the first failure, in backend order
        for b in ran:
            with np.load(Path(tmp) / f"{b}.npz") as f:
                arrays[b] = {k: f[k] for k in f.files}
    shared = {m: read_weights_npz(Path(p)) for m, p in weights.items()}
    mnist = load_mnist()
    x, y = preprocess(mnist.x_train[:batch_size]), mnist.y_train[:batch_size].astype(np.int64)
    report = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "settings": {
            **request,
            "tolerance": TOLERANCE,
            "backends_run": ran,
            "skipped": skipped,
            "trajectory_learning_rates": {"sgd": 0.01, "adam": 1e-3},
        },
        "weights_identical": _check_loaded(arrays, shared, models, dtypes),
        "pairs": [],
        "reference": [],
        "trajectory": [],
        "frameworks": {b: str(a["meta/framework"]) for b, a in arrays.items()},
        "seconds": None,
    }
    f64 = {(b, m): computed_in_float64(arr, m) for b, arr in arrays.items() for m in models}
    report["float64_precision"] = float64_precision(arrays, models, dtypes)
    context = {"x": x, "y": y, "weights": shared}
    for a, b in itertools.combinations(ran, 2):
        for m in models:
            for d in dtypes:
                ctx = {**context, "float64_ok": (f64[a, m], f64[b, m])}
                pair = compare_backends(arrays[a], arrays[b], m, d, ctx)
                report["pairs"].append({"a": a, "b": b, **pair})
            for opt in ("sgd", "adam") if steps else ():
                report["trajectory"].append(
                    {"a": a, "b": b, **trajectory_divergence(arrays[a], arrays[b], m, opt)}
                )
        for m in models:
            ctx = {**context, "float64_ok": (False, False)}
            pair = compare_backends(_compiled(arrays[a]), _compiled(arrays[b]), m, COMPILED, ctx)
            report["pairs"].append({"a": a, "b": b, **pair})
    for b in ran:  # the timed path against the checked path, on one backend
        for m in models:
            ctx = {**context, "float64_ok": (False, False)}
            side = {"a": f"{b} compiled", "b": f"{b} eager"}
            row = compare_backends(_compiled(arrays[b]), arrays[b], m, "float32", ctx)
            report["pairs"].append({**side, **row, "dtype": "compiled vs eager"})
    for m in [m for m in ("softmax", "mlp") if m in models]:
        for b in ran:
            for d in dtypes:
                ref = compare_reference(arrays[b], m, d, x, y, shared[m], f64[b, m])
                report["reference"].append({"backend": b, **ref})
    report["seconds"] = round(time.time() - started, 1)
    path = _new_path(out)
    write_new(path, json.dumps(report, indent=1, allow_nan=False).encode())
    return report, path


def _compiled(arrays: dict) -> dict:
    """A child's compiled-step arrays under the keys a float32 comparison reads."""
    renamed = {}
    for key, value in arrays.items():
        model, _, rest = key.partition("/compiled/")
        if rest:
            renamed[f"{model}/{COMPILED}/{rest}"] = value
            renamed[f"{model}/float32/{rest}"] = value
    return renamed


def _check_loaded(arrays: dict, shared: dict, models, dtypes) -> dict:
    """Did every backend hold bit-identical weights (float64: the exact float32 values)?"""
    result = {}
    for b, arr in arrays.items():
        ok = True
        for m in models:
            for d in dtypes:
                loaded = _section(arr, f"{m}/{d}/loaded/")
                ok &= set(loaded) == set(shared[m]) and all(
                    np.array_equal(loaded[k], shared[m][k].astype(d)) for k in loaded
                )
        result[b] = bool(ok)
    return result


def _new_path(out: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for n in range(1000):
        path = out / (f"grads-{stamp}" + (f"-{n}" if n else "") + ".json")
        if not path.exists():
            return path
    raise SuiteError(f"cannot find a new file name in {out}")


def _row(r: dict, pair: str) -> list[str]:
    note = " (float32 inside Keras)" if r["status"] == NA else ""
    return [
        r["model"],
        r["dtype"],
        pair,
        f"{r['loss']['max_abs']:.2e}",
        f"{r['logits']['rel']:.2e}",
        f"{r['overall']['rel']:.2e}",
        f"{r['worst_variable_rel']:.2e}",
        f"{r['overall']['cosine']:.12f}",
        r["status"] + note,
    ]


GRADS_HEADERS = [
    "model",
    "dtype",
    "pair",
    "|loss diff|",
    "logits rel",
    "grads rel",
    "worst var rel",
    "grads cosine",
    "verdict",
]
TRAJECTORY = "Trajectory: max relative weight difference after step"
VERDICT_NOTE = (
    "'tie': the gradients differ only through ReLU pre-activations within float32 "
    "rounding of zero (each side matches the float64 reference under some flipping of "
    "them; see README), while logits and loss agree within tolerance. 'n/a (float32 "
    "inside Keras)': Keras computed part of the float64 model in float32 on that "
    "backend, so the row tests no float64; it is shown but excluded from the verdict."
)


def grads_tables(report: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, rows) of the comparison tables: backend pairs, each backend
    against the numpy references, and the training trajectories."""
    tables = [
        ("Backend pairs", GRADS_HEADERS, [_row(p, f"{p['a']}-{p['b']}") for p in report["pairs"]]),
    ]
    if report["reference"]:
        refs = [_row(r, f"{r['backend']}-numpy") for r in report["reference"]]
        tables.append(("Against float64 numpy references", GRADS_HEADERS, refs))
    if report["trajectory"]:
        steps = sorted({s for t in report["trajectory"] for s in t["weight_rel"]}, key=int)
        traj = [
            [
                t["model"],
                t["optimizer"],
                f"{t['a']}-{t['b']}",
                *[f"{t['weight_rel'][s]:.2e}" for s in steps],
                f"{t['loss_abs_diff_max']:.2e}",
            ]
            for t in report["trajectory"]
        ]
        headers = ["model", "optimizer", "pair", *[f"step {s}" for s in steps], "max |loss diff|"]
        tables.append((TRAJECTORY, headers, traj))
    return tables


def grads_notes(report: dict) -> list[str]:
    """The sentences that explain the tables: weights as loaded, float64, verdicts."""
    loaded = ", ".join(
        f"{b}: {'identical' if ok else 'DIFFERENT'}"
        for b, ok in report["weights_identical"].items()
    )
    f64 = "; ".join(
        f"{b} {m}: {e:.1e}{'' if same else ', arrays not all float64'}"
        for b, per_model in report.get("float64_precision", {}).items()
        for m, (e, same) in per_model.items()
    )
    return [
        f"Shared initial weights as loaded: {loaded}",
        "float64 decided from the float64 computation itself: every array it produced is "
        "float64 and the model's last Dense layer matches numpy's float64 product within "
        f"1e-12 (relative): {f64 or 'not run'}",
        VERDICT_NOTE,
    ]


def format_report(report: dict) -> str:
    from suite.format import format_table

    tables = grads_tables(report)
    comparisons = [row for title, _, rows in tables if title != TRAJECTORY for row in rows]
    text = format_table(GRADS_HEADERS, comparisons)
    for title, headers, rows in tables:
        if title == TRAJECTORY:
            text += f"\n\n{title}\n" + format_table(headers, rows)
    return text + "\n\n" + "\n".join(grads_notes(report))
