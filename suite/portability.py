"""Weights that travel between backends: train on one, predict on another.

Keras 3 writes ``.weights.h5`` in one format on every backend. ``run_portability``
has each backend (one child process each, ``suite.portability_child``) train
every model briefly from the shared initial weights, save its weights and
predict the whole test set; then each backend loads every other backend's files
into a fresh model and predicts the test set again. ``judge_transfer`` compares
the logits the saving backend computed with those the loading backend computes
from the same file. The judging is pure numpy.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from suite.atomic import write_new
from suite.backends import run_child
from suite.errors import SuiteError

SCHEMA = "keras-backend-suite/portability"
SCHEMA_VERSION = 1
# float32 logits from the same weights, summed in another order by another library:
# each differs by a few float32 roundings of the largest logit's magnitude.
LOGIT_RTOL = 1e-5  # of max |logit| over the test set


@dataclass(frozen=True)
class Transfer:
    """One model's weights saved on ``source`` and loaded on ``target``."""

    model: str
    source: str
    target: str
    images: int
    max_abs_logit_diff: float
    max_abs_logit: float
    tolerance: float
    # test images whose predicted label differs: within tolerance this can only happen
    # where the top two logits are within 2 x tolerance of each other (a near tie)
    labels_differ: int
    verdict: str  # "pass" or "FAIL"


def judge_transfer(
    model: str, source: str, target: str, saved: np.ndarray, loaded: np.ndarray
) -> Transfer:
    """Pass when every logit agrees within LOGIT_RTOL x max(1, max|logit|). Changed labels
    are counted and shown; a label can only change beyond a near tie if logits differ
    beyond the tolerance, which fails already."""
    saved, loaded = np.asarray(saved, np.float64), np.asarray(loaded, np.float64)
    if saved.shape != loaded.shape:
        raise SuiteError(
            f"{model} {source}->{target}: logits of shape {saved.shape} vs {loaded.shape}"
        )
    diff = float(np.abs(saved - loaded).max()) if saved.size else 0.0
    scale = float(np.abs(saved).max()) if saved.size else 0.0
    tolerance = LOGIT_RTOL * max(scale, 1.0)
    changed = int(np.sum(saved.argmax(axis=1) != loaded.argmax(axis=1)))
    ok = bool(np.isfinite(diff) and diff <= tolerance)
    verdict = "pass" if ok else "FAIL"
    return Transfer(model, source, target, len(saved), diff, scale, tolerance, changed, verdict)


def judge_all(logits: dict[tuple[str, str, str], np.ndarray]) -> list[Transfer]:
    """``logits[(model, saved_on, predicted_on)]``; every (source, target) pair with
    source != target, judged against the source's own prediction."""
    rows = []
    for (model, source, target), loaded in sorted(logits.items()):
        if source != target and (model, source, source) in logits:
            rows.append(
                judge_transfer(model, source, target, logits[model, source, source], loaded)
            )
    return rows


def all_pass(rows: list[Transfer]) -> bool:
    return bool(rows) and all(r.verdict == "pass" for r in rows)


def transfer_table(rows: list[Transfer]) -> tuple[list[str], list[list[str]]]:
    header = [
        "model",
        "saved on",
        "loaded on",
        "max |Δ logit|",
        "tolerance",
        "labels differ",
        "verdict",
    ]
    body = [
        [
            r.model,
            r.source,
            r.target,
            f"{r.max_abs_logit_diff:.2e}",
            f"{r.tolerance:.1e}",
            f"{r.labels_differ} / {r.images}",
            r.verdict,
        ]
        for r in rows
    ]
    return header, body


def transfer_from_dict(data: dict) -> Transfer:
    try:
        row = Transfer(**data)
    except TypeError as e:
        raise SuiteError(f"malformed {SCHEMA} row ({e})") from None
    numbers = [row.max_abs_logit_diff, row.max_abs_logit, row.tolerance]
    if row.verdict not in ("pass", "FAIL") or not all(np.isfinite(n) for n in numbers):
        raise SuiteError(f"malformed {SCHEMA} row (verdict or numbers)")
    return row


def _child(mode: str, backend: str, work: Path, models: list[str], args: list[str], log) -> None:
    cmd = [sys.executable, "-m", "suite.portability_child", mode, backend, str(work), *models]
    run_child(cmd + args, f"portability {mode} on {backend}")
    log(f"  {mode} on {backend}: done")


def run_portability(
    models: list[str],
    backends: list[str],
    out: Path,
    train_examples: int,
    data: str | None,
    log,
) -> tuple[Path, list[Transfer]]:
    """Save on every backend, load on every other, judge, write ``portability-<time>.json``."""
    if len(backends) < 2:
        raise SuiteError("--backends: weights travel between two backends at least")
    extra = ["--train-examples", str(train_examples)] + (["--data", data] if data else [])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="portability-") as tmp:
        work = Path(tmp)
        for backend in backends:
            _child("save", backend, work, models, extra, log)
        for backend in backends:
            _child("load", backend, work, models, extra, log)
        logits = {
            tuple(p.name.removesuffix(".npy").split("--")): np.load(p) for p in work.glob("*.npy")
        }
    rows = judge_all(logits)
    blob = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "models": models,
        "backends": backends,
        "train_examples": train_examples,
        "logit_rtol": LOGIT_RTOL,
        "seconds": time.perf_counter() - start,
        "transfers": [asdict(r) for r in rows],
    }
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = out / f"portability-{stamp}.json"
    return write_new(path, json.dumps(blob, indent=1).encode()), rows
