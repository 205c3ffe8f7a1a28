"""Is data-parallel training the same training? Judged from the weights: every
variable's N-device result must be within ``REL_TOLERANCE`` of the single-device one,
relative to how far the single device moved it (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.core.errors import SuiteError

# float32 gradients summed in another order (per shard, then across replicas) move the
# weights by a few roundings of the update; a replica on the wrong data moves them by
# a sizeable fraction of it.
REL_TOLERANCE = 1e-4

LEARNING_RATE = 0.1


@dataclass(frozen=True)
class ReplicaCheck:
    backend: str
    model: str
    devices: int
    steps: int
    worst_variable: str
    worst_rel: float  # max |w_N - w_1| / max |w_1 - w_0| over variables
    verdict: str  # "pass" or "FAIL"


def judge(backend: str, model: str, devices: int, steps: int, arrays: dict) -> ReplicaCheck:
    """``arrays``: ``init/P``, ``single/P``, ``parallel/P`` for every variable path P."""
    paths = sorted(k.removeprefix("init/") for k in arrays if k.startswith("init/"))
    if not paths or any(
        f"parallel/{p}" not in arrays or f"single/{p}" not in arrays for p in paths
    ):
        raise SuiteError(f"{backend} {model}: the replica check saved incomplete weights")
    rel = {}
    for p in paths:
        w0, w1, wn = (
            np.asarray(arrays[f"{k}/{p}"], np.float64) for k in ("init", "single", "parallel")
        )
        moved, diff = float(np.abs(w1 - w0).max()), float(np.abs(wn - w1).max())
        rel[p] = diff / moved if moved > 0 else (0.0 if diff == 0 else float("inf"))
        rel[p] = rel[p] if np.isfinite(rel[p]) else float("inf")
    worst = max(paths, key=lambda p: rel[p])
    worst_rel = rel[worst]
    ok = worst_rel <= REL_TOLERANCE
    return ReplicaCheck(backend, model, devices, steps, worst, worst_rel, "pass" if ok else "FAIL")
