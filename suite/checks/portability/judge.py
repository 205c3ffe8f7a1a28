"""Weights that travel between backends, judged: the logits the saving backend computed
against those the loading backend computes from the same ``.weights.h5`` file (pure
numpy)."""

from __future__ import annotations

import numpy as np

from suite.core.errors import SuiteError
from suite.core.schemas import Transfer

# float32 logits from the same weights, summed in another order by another library:
# each differs by a few float32 roundings of the largest logit's magnitude.
LOGIT_RTOL = 1e-5  # of max |logit| over the test set


def judge_transfer(
    model: str,
    source: str,
    target: str,
    saved: np.ndarray,
    loaded: np.ndarray,
    weights_identical: bool | None = None,
) -> Transfer:
    """Pass when every logit agrees within LOGIT_RTOL x max(1, max|logit|) and (where
    checked) every variable loaded equals the saved one exactly, BatchNorm's moving
    statistics included. Changed labels are counted and shown; a label can only change
    beyond a near tie if logits differ beyond the tolerance, which fails already."""
    saved, loaded = np.asarray(saved, np.float64), np.asarray(loaded, np.float64)
    if saved.shape != loaded.shape:
        raise SuiteError(
            f"{model} {source}->{target}: logits of shape {saved.shape} vs {loaded.shape}"
        )
    diff = float(np.abs(saved - loaded).max()) if saved.size else 0.0
    scale = float(np.abs(saved).max()) if saved.size else 0.0
    tolerance = LOGIT_RTOL * max(scale, 1.0)
    changed = int(np.sum(saved.argmax(axis=1) != loaded.argmax(axis=1)))
    ok = bool(np.isfinite(diff) and diff <= tolerance) and weights_identical is not False
    verdict = "pass" if ok else "FAIL"
    return Transfer(
        model, source, target, len(saved), diff, scale, tolerance, changed, verdict,
        weights_identical,
    )  # fmt: skip


def judge_all(
    logits: dict[tuple[str, str, str], np.ndarray], identical: dict | None = None
) -> list[Transfer]:
    """``logits[(model, saved_on, predicted_on)]``; every (source, target) pair with
    source != target, judged against the source's own prediction; ``identical`` holds
    whether each transfer's loaded variables equal the saved ones."""
    rows = []
    for (model, source, target), loaded in sorted(logits.items()):
        if source != target and (model, source, source) in logits:
            same = (identical or {}).get((model, source, target))
            rows.append(
                judge_transfer(model, source, target, logits[model, source, source], loaded, same)
            )
    return rows
