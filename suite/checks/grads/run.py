"""The gradient check, run: one child process per backend (``suite.checks.grads.child``)
computes logits, loss and gradients from the shared initial weights on the same batch;
this process compares every pair of backends and each backend against the float64
numpy references, and writes one schema-versioned JSON file."""

from __future__ import annotations

import itertools
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from models.brought import slug
from suite.checks.grads.child import TRAJECTORY_OPTIMIZERS
from suite.checks.grads.judge import (
    _check_loaded,
    _compiled,
    compare_backends,
    compare_float64,
    compare_reference,
    computed_in_float64,
    float64_precision,
    trajectory_divergence,
)
from suite.checks.requests import GradsRequest, write_request
from suite.core.children import python_module, run_child
from suite.core.data import load_mnist, preprocess
from suite.core.files import new_json_path, write_json
from suite.core.platform import is_installed
from suite.core.schemas import COMPILED, GRADS, GRADS_VERSION, TOLERANCE
from suite.core.weights import read_weights_npz

DTYPES = ("float32", "float64")  # the default check
CHOICES = (*DTYPES, "mixed_bfloat16")  # also Keras' bfloat16 policy, on request
STEPS = 100  # trajectory steps per optimizer (compare --quick: 10)


def _child_arrays(request: GradsRequest, backends: list[str], log) -> dict[str, dict]:
    """Every backend's arrays. The children run at once: nothing here is timed, and each
    child's results do not depend on the others (same request, same weights files)."""
    arrays = {}
    with tempfile.TemporaryDirectory() as tmp:
        request_path = write_request(Path(tmp) / "request.json", request)

        def child(b):
            out = Path(tmp) / f"{b}.npz"
            cmd = python_module("suite.checks.grads.child", b, request_path, out)
            # its progress lines only (framework warnings stay out; a failure still
            # reports the child's last line)
            run_child(cmd, f"grads child for {b}", log, show=lambda s: s.startswith(f"[{b}]"))

        with ThreadPoolExecutor(max_workers=len(backends) or 1) as pool:
            for job in [pool.submit(child, b) for b in backends]:
                job.result()  # the first failure, in backend order
        for b in backends:
            with np.load(Path(tmp) / f"{b}.npz") as f:
                arrays[b] = {k: f[k] for k in f.files}
    return arrays


def _pairs(arrays: dict, models, dtypes, steps: int, f64: dict, context: dict) -> tuple:
    """Every backend pair per model and dtype, their trajectories, their compiled steps;
    and each backend's compiled step against its own eager gradients."""
    pairs, trajectory, ran = [], [], list(arrays)
    plain = {**context, "float64_ok": (False, False)}
    for a, b in itertools.combinations(ran, 2):
        for m in models:
            for d in dtypes:
                ctx = {**context, "float64_ok": (f64[a, m], f64[b, m])}
                pairs.append({"a": a, "b": b, **compare_backends(arrays[a], arrays[b], m, d, ctx)})
            for opt in TRAJECTORY_OPTIMIZERS if steps else ():
                divergence = trajectory_divergence(arrays[a], arrays[b], m, opt)
                trajectory.append({"a": a, "b": b, **divergence})
        for m in models:
            pair = compare_backends(_compiled(arrays[a]), _compiled(arrays[b]), m, COMPILED, plain)
            pairs.append({"a": a, "b": b, **pair})
    for b in ran if "float32" in dtypes else ():  # the timed path against the checked
        for m in models:  # path, on one backend (its float32 eager gradients)
            side = {"a": f"{b} compiled", "b": f"{b} eager"}
            key = f"{m}/float32/logits"
            inference = arrays[b].get(f"{m}/float32/inference_logits", arrays[b].get(key))
            eager = {**arrays[b], key: inference}
            row = compare_backends(_compiled(arrays[b]), eager, m, "float32", plain)
            pairs.append({**side, **row, "dtype": "compiled vs eager"})
    return pairs, trajectory


def name_half_sums(pairs: list[dict]) -> list[dict]:
    """Under a mixed policy, a model whose failed pairs are past their bounds in bias
    gradients alone (logits and loss within theirs), with one backend in every such pair:
    that backend sums a bias gradient over the batch in the half type, where the others
    sum in float32 (TensorFlow's BiasAddGrad on bfloat16, docs/checks.md). The rows stay
    failed, a real difference, and say so."""
    for model in dict.fromkeys(p["model"] for p in pairs):
        bad = [
            p for p in pairs
            if p["model"] == model and p["dtype"].startswith("mixed_") and p["status"] == "FAIL"
        ]  # fmt: skip
        if not bad or any("per_variable" not in p["tolerance"] for p in bad):
            continue
        past = [
            k for p in bad for k, d in p["per_variable"].items()
            if d["rel"] > p["tolerance"]["per_variable"][k]
        ]  # fmt: skip
        outputs = all(
            p["logits"]["rel"] <= p["tolerance"]["logits"]
            and p["loss"]["rel"] <= p["tolerance"]["loss"]
            for p in bad
        )
        common = set.intersection(*({p["a"], p["b"]} for p in bad))
        if past and outputs and all(k.endswith("bias") for k in past) and len(common) == 1:
            (odd,) = common
            for p in bad:
                half = p["dtype"].removeprefix("mixed_")
                p["status"] = f"differs: {odd} sums bias gradients in {half}"
    return pairs


def _against_float64(arrays: dict, models, dtypes, f64: dict, context: dict) -> list[dict]:
    """Every backend's float32 against the first backend whose float64 computation of
    the model is float64 throughout (none: no row; Keras' torch matmul is float32)."""
    if not {"float32", "float64"} <= set(dtypes):
        return []
    rows = []
    for m in models:
        exact = next((b for b in arrays if f64[b, m]), None)
        for b in arrays if exact else ():
            row = compare_float64(arrays[b], arrays[exact], m, context)
            rows.append({"backend": b, "reference": f"{exact} float64", **row})
    return rows


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
    init_dirs: dict[str, str] | None = None,
) -> tuple[dict, Path]:
    """Spawn one child per installed backend, compare, write ``out/grads-<time>.json``.
    ``init_dirs``: a brought model's folder of initial weights (its shared weights)."""
    skipped = [b for b in backends if not is_installed(b)]
    for b in skipped:
        log(f"[{b}] not installed: skipped")
    ran = [b for b in backends if b not in skipped]
    weights = {m: str(weights_dir / f"{slug(m)}-seed{seed}.npz") for m in models}
    request = GradsRequest(
        models, dtypes, steps, batch_size, seed, threads, weights, dict(init_dirs or {})
    )
    started = time.time()
    arrays = _child_arrays(request, ran, log)
    shared = {m: read_weights_npz(Path(p)) for m, p in weights.items()}
    mnist = load_mnist()
    x, y = preprocess(mnist.x_train[:batch_size]), mnist.y_train[:batch_size].astype(np.int64)
    f64 = {(b, m): computed_in_float64(arr, m) for b, arr in arrays.items() for m in models}
    context = {"x": x, "y": y, "weights": shared}
    pairs, trajectory = _pairs(arrays, models, dtypes, steps, f64, context)
    pairs = name_half_sums(pairs)
    reference = [
        {"backend": b, **compare_reference(arrays[b], m, d, x, y, shared[m], f64[b, m])}
        for m in [m for m in ("softmax", "mlp") if m in models]
        for b in ran
        for d in dtypes
    ]
    reference += _against_float64(arrays, models, dtypes, f64, context)
    report = {
        "schema": GRADS,
        "schema_version": GRADS_VERSION,
        "settings": {
            **asdict(request),
            "tolerance": TOLERANCE,
            "backends_run": ran,
            "skipped": skipped,
            "trajectory_learning_rates": TRAJECTORY_OPTIMIZERS,
        },
        "weights_identical": _check_loaded(arrays, shared, models, dtypes),
        "pairs": pairs,
        "reference": reference,
        "trajectory": trajectory,
        "frameworks": {b: str(a["meta/framework"]) for b, a in arrays.items()},
        "seconds": round(time.time() - started, 1),
        "float64_precision": float64_precision(arrays, models, dtypes),
    }
    return report, write_json(new_json_path(out, "grads"), report)


def check_gradients(
    models, backends, dtypes, steps: int, batch_size: int, seed: int, threads: int, out: Path,
    prepared: dict | None = None, log=print,
):  # fmt: skip
    """The whole check (``grads``, and ``compare`` after its matrix): (report, path).
    ``prepared``: brought models made ready already, name -> (pinned name, folder); the
    others are prepared into ``out`` first. ``threads`` 0: every core."""
    import os

    from suite.core.data import cache_dir
    from suite.training.brought import pinned_models

    threads = threads or os.cpu_count() or 1
    first = next((b for b in backends if is_installed(b)), backends[0])
    names, init_dirs = pinned_models(models, prepared, seed, first, out, log)
    return run_grads(
        names, backends, dtypes, steps, batch_size, seed, threads, out, cache_dir() / "weights",
        log=log, init_dirs=init_dirs,
    )  # fmt: skip
