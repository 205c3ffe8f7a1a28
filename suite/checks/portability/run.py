"""The portability check, run. Keras 3 writes ``.weights.h5`` in one format on every
backend. Each backend (one child process each, ``suite.checks.portability.child``)
trains every model briefly from the shared initial weights, saves its weights and
predicts the whole test set; then each backend loads every other backend's files into
a fresh model and predicts the test set again; ``judge_all`` compares."""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from models.brought import slug
from suite.checks.portability.judge import LOGIT_RTOL, judge_all
from suite.checks.requests import PortabilityRequest, write_request
from suite.core.children import python_module, run_child
from suite.core.errors import SuiteError
from suite.core.files import new_json_path, write_json
from suite.core.schemas import PORTABILITY, PORTABILITY_VERSION, Transfer

TRAIN_EXAMPLES = 6000  # the brief training before saving


def _child(request: PortabilityRequest, backend: str, work: Path, log) -> None:
    path = write_request(work / f"request-{request.mode}-{backend}.json", request)
    cmd = python_module("suite.checks.portability.child", backend, path)
    run_child(cmd, f"portability {request.mode} on {backend}")
    log(f"  {request.mode} on {backend}: done")


def run_portability(
    models: list[str],
    backends: list[str],
    out: Path,
    train_examples: int,
    data: str | None,
    log,
    init_dirs: dict[str, str] | None = None,
) -> tuple[Path, list[Transfer]]:
    """Save on every backend, load on every other, judge, write ``portability-<time>.json``.
    ``init_dirs``: a brought model's folder of initial weights."""
    if len(backends) < 2:
        raise SuiteError("--backends: weights travel between two backends at least")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="portability-") as tmp:
        work = Path(tmp)
        for mode in ("save", "load"):
            request = PortabilityRequest(
                mode, models, str(work), train_examples, data, dict(init_dirs or {})
            )
            with ThreadPoolExecutor(max_workers=len(backends)) as pool:
                jobs = [pool.submit(_child, request, b, work, log) for b in backends]
                for job in jobs:
                    job.result()  # the first failure, in backend order
        names = {slug(m): m for m in models}  # files carry the slug; rows the name

        def key(p: Path, suffix: str) -> tuple:
            model, *sides = p.name.removesuffix(suffix).split("--")
            return (names.get(model, model), *sides)

        logits = {key(p, ".npy"): np.load(p) for p in work.glob("*.npy")}
        identical = {
            key(p, ".json"): json.loads(p.read_text())["identical"]
            for p in work.glob("*--*--*.json")
        }
    rows = judge_all(logits, identical)
    blob = {
        "schema": PORTABILITY,
        "schema_version": PORTABILITY_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "models": models,
        "backends": backends,
        "train_examples": train_examples,
        "logit_rtol": LOGIT_RTOL,
        "seconds": time.perf_counter() - start,
        "transfers": [asdict(r) for r in rows],
    }
    return write_json(new_json_path(out, "portability"), blob), rows


def check_portability(
    models, backends, out: Path, data: str | None, train_examples: int,
    prepared: dict | None = None, log=print,
) -> tuple[Path, list[Transfer]]:  # fmt: skip
    """The whole check (``portability``, and ``compare`` after its matrix) on the
    installed ``backends``: the result's path and its rows. ``prepared``: brought models
    made ready already; the others are prepared into ``out`` first."""
    from suite.core.platform import installed_backends
    from suite.training.brought import pinned_models

    backends = [b for b in backends if b in installed_backends()]
    first = backends[0] if backends else "jax"
    names, init_dirs = pinned_models(models, prepared, 0, first, out, log)
    log(f"portability: {', '.join(names)} saved and loaded on {', '.join(backends)}")
    return run_portability(names, backends, out, train_examples, data, log, init_dirs)
