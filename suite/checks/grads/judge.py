"""Gradient equivalence, judged: same model, same weights, same batch; do the backends
agree with each other and with float64 numpy? Pure functions over the arrays each
backend's child saved (``suite.checks.grads.child``)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from suite.checks.grads.diffs import Diff, compare_arrays, compare_gradients, verdict
from suite.checks.grads.references import explain_by_kinks, mlp_reference, softmax_reference
from suite.core.rounding import LOGITS, LOSS, PAIR, ChainTerms, bound, judged_by_chain
from suite.core.schemas import COMPILED, NA, storage_dtype, tolerance, weighted_layers


def _section(arrays: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def _bounds(arrays: dict, model: str) -> dict[str, ChainTerms]:
    """The model's per-variable rounding-bound terms, as the child read them off its
    layers (absent: a file from before the rule, judged by the fixed table)."""
    pre = f"{model}/bounds/"
    return {k[len(pre) :]: ChainTerms.from_list(v) for k, v in arrays.items() if k.startswith(pre)}


def _chain_tolerance(terms: dict, names, judged_as: str, sides: int) -> dict:
    """Per variable (and logits, loss) bounds by the chain rule (``suite.core.rounding``);
    a variable the terms do not name gets the largest bound of the model."""
    fallback = max(terms.values(), key=lambda t: t.length)
    per = {k: bound(terms.get(k, fallback), judged_as, sides) for k in names}
    return {
        "rule": "chain",
        "per_variable": per,
        "logits": bound(terms[LOGITS], judged_as, sides),
        "loss": bound(terms[LOSS], judged_as, sides),
        "rel": max(per.values(), default=0.0),
        "cosine": None,
        "elem": None,
    }


def _worst(per_var: dict[str, Diff], per_bound: dict[str, float]) -> dict | None:
    """The variable closest to (or farthest past) its bound: its name, diff and bound."""
    if not per_var:
        return None
    k = max(per_var, key=lambda v: per_var[v].rel / per_bound[v] if per_bound[v] else 0.0)
    return {"variable": k, "rel": per_var[k].rel, "bound": per_bound[k]}


def _judge(
    ga: dict,
    gb: dict,
    logits_a,
    logits_b,
    loss_a: float,
    loss_b: float,
    judged_as: str,
    layers: int = 1,
    terms: dict | None = None,
    sides: int = PAIR,
) -> dict:
    """Gradient, logits and loss diffs of side a against side b, and the plain verdict.
    float32 and float64 with ``terms``: each variable within its own bound
    (``suite.core.rounding``; ``sides`` 2 for two computations, 1 against an exact
    reference); else the dtype's table (``layers``: the model's weighted layers, which
    a bfloat16 tolerance scales with)."""
    chain = bool(terms) and judged_by_chain(judged_as)
    tol = (
        _chain_tolerance(terms, set(ga) | set(gb), judged_as, sides)
        if chain
        else tolerance(judged_as, layers)
    )
    vanish = tol["per_variable"] if chain else tol["rel"]
    per_var, overall, problems = compare_gradients(ga, gb, vanish)
    logits = compare_arrays(logits_a, logits_b)
    loss_rel = abs(loss_a - loss_b) / abs(loss_b) if loss_b else float("inf")
    loss = Diff(abs(loss_a - loss_b), loss_rel, 1.0, loss_rel)
    if chain:
        per_bound = tol["per_variable"]
        ok = not problems and all(d.rel <= per_bound[k] for k, d in per_var.items())
        ok = ok and logits.rel <= tol["logits"] and loss.rel <= tol["loss"]
    else:
        per_bound = dict.fromkeys(per_var, tol["rel"])
        ok = verdict([*per_var.values(), overall, logits, loss], problems, tol)
    return {
        "judged_as": judged_as,
        "tolerance": tol,
        "loss": asdict(loss),
        "logits": asdict(logits),
        "overall": asdict(overall),
        "per_variable": {k: asdict(v) for k, v in per_var.items()},
        "worst_variable_rel": max((d.rel for d in per_var.values()), default=0.0),
        "worst": _worst(per_var, per_bound),
        "relu_flips": None,
        "problems": problems,
        "status": "pass" if ok else "FAIL",
        "pass": ok,
    }


def _explain_ties(row: dict, model: str, sides: list[dict], x, y, weights: dict) -> dict:
    """A failed MLP comparison becomes a ``tie`` when every side's gradients match the
    float64 reference under some flipping of near-zero ReLU pre-activations, and its
    logits and loss agree within tolerance: a tie excuses gradients, nothing else."""
    tol = row["tolerance"]  # the chain rule bounds each output; the table, all alike
    outputs_agree = all(row[k]["rel"] <= tol.get(k, tol["rel"]) for k in ("logits", "loss"))
    half = row["judged_as"] not in ("float32", "float64")  # ties are float32 rounding
    if (
        row["status"] == "FAIL"
        and model == "mlp"
        and not row["problems"]
        and outputs_agree
        and not half
    ):
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
    layers = weighted_layers(context["weights"][model])
    terms = _bounds(a, model)
    row = _judge(ga, gb, a[pre + "logits"], b[pre + "logits"], la, lb, judged_as, layers, terms)
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
# how linearly the logits answer 1e-10 and 3e-10 relative nudges of the input (the
# child's perturbation_response: the second response over the first): about 3 where every
# layer carried them in float64; 0 (a layer rounded the input to float32, the nudges
# vanished) or anything else (an inner layer did: float32-size jumps) outside this band.
# It sees the inner layers the last-layer check cannot (an LSTM's recurrence).
PERTURBATION_RESPONSE = (2.9, 3.1)


def computed_in_float64(arrays: dict, model: str) -> bool:
    """Did this side's float64 computation of ``model`` really run in float64? Judged from
    that computation's own outputs: every array float64, and its last layer's product
    within FLOAT64_REL_ERROR of numpy's float64 one."""
    pre = f"{model}/float64/precision/"
    if pre + "last_layer_rel_error" not in arrays:
        return False
    same = bool(arrays[pre + "all_arrays_in_dtype"])
    response = arrays.get(pre + "perturbation_response")  # absent in older files
    inner = (
        response is None or PERTURBATION_RESPONSE[0] < float(response) < PERTURBATION_RESPONSE[1]
    )
    return same and inner and float(arrays[pre + "last_layer_rel_error"]) <= FLOAT64_REL_ERROR


def _maybe_float(value) -> float | None:
    return None if value is None else float(value)


def float64_precision(arrays: dict, models, dtypes) -> dict:
    """Per backend and model: (last-layer relative error, all arrays float64, the logits'
    response to a 1e-10 input nudge), for the record."""
    if "float64" not in dtypes:
        return {}
    return {
        b: {
            m: (
                float(arr[f"{m}/float64/precision/last_layer_rel_error"]),
                bool(arr[f"{m}/float64/precision/all_arrays_in_dtype"]),
                _maybe_float(arr.get(f"{m}/float64/precision/perturbation_response")),
            )
            for m in models
        }
        for b, arr in arrays.items()
    }


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
    judged_as = dtype if dtype != "float64" or float64_ok else "float32"
    row = _judge(
        ga,
        grads,
        arrays[pre + "logits"],
        logits,
        float(arrays[pre + "loss"]),
        loss,
        judged_as,
        weighted_layers(weights),
        _bounds(arrays, model),
        sides=1,
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


def _compiled(arrays: dict) -> dict:
    """A child's compiled-step arrays under the keys a float32 comparison reads."""
    renamed = {k: v for k, v in arrays.items() if "/bounds/" in k}
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
                    np.array_equal(loaded[k], shared[m][k].astype(storage_dtype(d))) for k in loaded
                )
        result[b] = bool(ok)
    return result


def compare_float64(arrays: dict, exact: dict, model: str, context: dict) -> dict:
    """A backend's float32 loss, logits and gradients against a real float64 computation
    of the same model (``exact``: the arrays of a backend whose float64 is float64
    throughout, ``computed_in_float64``), each variable within one side's bound: where
    a pair differs, this row names the backend whose float32 is off."""
    ga = _section(arrays, f"{model}/float32/grad/")
    g64 = _section(exact, f"{model}/float64/grad/")
    row = _judge(
        ga,
        g64,
        arrays[f"{model}/float32/logits"],
        exact[f"{model}/float64/logits"],
        float(arrays[f"{model}/float32/loss"]),
        float(exact[f"{model}/float64/loss"]),
        "float32",
        terms=_bounds(arrays, model),
        sides=1,
    )
    weights = context["weights"][model]
    row = _explain_ties(row, model, [ga], context["x"], context["y"], weights)
    return {"model": model, "dtype": "float32", **row}
