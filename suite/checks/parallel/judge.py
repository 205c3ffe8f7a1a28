"""Is data-parallel training the same training? Judged from the weights: every
variable's N-device result must be within ``REL_TOLERANCE`` of the single-device one,
relative to how far the single device moved it (pure numpy). A variable the single
device barely moved (below ``REL_TOLERANCE`` of the model's largest move: an attention
key bias, whose gradient is zero in exact arithmetic) is judged on the model's largest
move, since its own is rounding noise. Where the replicas normalise over their own
shards, the reference did too (``per_shard``), and the moving statistics, which each
replica keeps for itself, are not compared."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.core.errors import SuiteError

# float32 gradients summed in another order (per shard, then across replicas) move the
# weights by a few roundings of the update; a replica on the wrong data moves them by
# a sizeable fraction of it.
REL_TOLERANCE = 1e-4

# small enough that K steps stay near-linear: at 0.1, resnet amplified the 1e-7 rounding
# differences of a 2-device sum to 5e-2 of the weights' move by step 5 (JAX, 2026-12-05)
LEARNING_RATE = 0.03  # and large enough that the rounding of each update stays far below it
MOVING = ("moving_mean", "moving_variance")  # a BatchNormalization's own statistics


@dataclass(frozen=True)
class ReplicaCheck:
    backend: str
    model: str
    devices: int
    steps: int
    worst_variable: str
    worst_rel: float  # max |w_N - w_1| / max |w_1 - w_0| over variables
    verdict: str  # "pass" or "FAIL"
    # BatchNormalization statistics per replica, matched by a per-shard reference
    per_shard: bool = False


def judge(backend: str, model: str, devices: int, steps: int, arrays: dict) -> ReplicaCheck:
    """``arrays``: ``init/P``, ``single/P``, ``parallel/P`` for every variable path P."""
    per_shard = bool(arrays.get("meta/per_shard", False))
    paths = sorted(k.removeprefix("init/") for k in arrays if k.startswith("init/"))
    if per_shard:
        paths = [p for p in paths if not p.endswith(MOVING)]
    if not paths or any(
        f"parallel/{p}" not in arrays or f"single/{p}" not in arrays for p in paths
    ):
        raise SuiteError(f"{backend} {model}: the replica check saved incomplete weights")
    moved, diff = {}, {}
    for p in paths:
        w0, w1, wn = (
            np.asarray(arrays[f"{k}/{p}"], np.float64) for k in ("init", "single", "parallel")
        )
        moved[p], diff[p] = float(np.abs(w1 - w0).max()), float(np.abs(wn - w1).max())
    largest = max(moved.values())
    rel = {}
    for p in paths:
        still = moved[p] <= REL_TOLERANCE * largest  # its own move is rounding noise
        scale = largest if still else moved[p]
        rel[p] = diff[p] / scale if scale > 0 else (0.0 if diff[p] == 0 else float("inf"))
        rel[p] = rel[p] if np.isfinite(rel[p]) else float("inf")
    worst = max(paths, key=lambda p: rel[p])
    worst_rel = rel[worst]
    ok = worst_rel <= REL_TOLERANCE
    verdict = "pass" if ok else "FAIL"
    return ReplicaCheck(backend, model, devices, steps, worst, worst_rel, verdict, per_shard)
