"""The largest batch that fits (``compare --batch-sizes ... --memory-limit SIZE``): per
backend and workload, batch sizes doubling from a start, each attempt a fresh process
(``python -m suite.measure.fits REQUEST``, a ``FitRequest``) that builds the model and
trains a few steps at that batch. An attempt fits when it trains and its peak memory
(the GPU's on a GPU, else the process's resident peak) stays within the limit; it does
not when the framework raises its own out-of-memory error or the peak passes the limit.
Either way the attempt is a recorded result ("out of memory at 4,096"), never a crash of
the suite; any other failure ends the search with its one line.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from suite.core.children import child_args, python_module, run_child
from suite.core.errors import SuiteError
from suite.core.files import read_request, write_request

STEPS = 3  # training steps per attempt: the first (compiles) and two more
MAX_DOUBLINGS = 16


@dataclass(frozen=True)
class FitRequest:
    backend: str
    model: str
    device: str
    batch: int
    limit_bytes: int
    out: str  # the attempt's JSON goes there
    steps: int = STEPS
    fault_at: int | None = None  # must-fail test: raise the framework's OOM from this batch


def largest_batch(backend, model, device, start: int, limit: int, log, fault_at=None) -> dict:
    """Attempts at ``start``, 2 x ``start``, ... until one does not fit (or
    ``MAX_DOUBLINGS``): every attempt, the largest batch that fit and the first that
    did not."""
    attempts, batch = [], start
    with tempfile.TemporaryDirectory(prefix="suite-fits-") as tmp:
        for _ in range(MAX_DOUBLINGS):
            req = FitRequest(backend, model, device, batch, limit, str(Path(tmp) / "a.json"),
                             fault_at=fault_at)  # fmt: skip
            attempt = _run(req, Path(tmp), log)
            attempts.append(attempt)
            log(f"  {model} {backend} batch {batch:,}: {attempt['status']}")
            if attempt["status"] != "fits":
                break
            batch *= 2
    fit = [a["batch"] for a in attempts if a["status"] == "fits"]
    fails = [a for a in attempts if a["status"] != "fits"]
    return {
        "backend": backend,
        "model": model,
        "device": device,
        "limit_bytes": limit,
        "attempts": attempts,
        "largest": max(fit) if fit else None,
        "failed_at": fails[0]["batch"] if fails else None,
        "failed_as": fails[0]["status"] if fails else None,
    }


KILLED = (-9, 137)  # SIGKILL: the kernel's out-of-memory killer, where no error is raised


def _run(req: FitRequest, tmp: Path, log) -> dict:
    """One attempt in a fresh process; a process the kernel killed ran out of memory."""
    path = write_request(tmp / "request.json", req)
    lines: list[str] = []
    code = run_child(python_module("suite.measure.fits", path), "attempt", lines.append,
                     check=False)  # fmt: skip
    if code in KILLED:
        return {"batch": req.batch, "status": "out of memory (killed)", "peak_bytes": None,
                "limit_bytes": req.limit_bytes}  # fmt: skip
    if code:
        last = lines[-1] if lines else "?"
        raise SuiteError(f"{req.model} on {req.backend} at batch {req.batch} failed: {last}")
    return json.loads(Path(req.out).read_text())


def main(argv=None) -> int:
    (path,) = child_args("suite.measure.fits", argv, "REQUEST")
    r = read_request(FitRequest, path)
    from suite import frameworks

    frameworks.select_backend(r.backend, r.device)
    bk = frameworks.current()
    status, peak = _attempt(r, bk)
    row = {"batch": r.batch, "status": status, "peak_bytes": peak, "limit_bytes": r.limit_bytes}
    Path(r.out).write_text(json.dumps(row))
    return 0


def _attempt(r: FitRequest, bk) -> tuple[str, int | None]:
    """("fits" | "out of memory" | "over the limit", peak bytes)."""
    import numpy as np

    from suite.core.config import RunConfig, validate
    from suite.core.data import load_mnist, preprocess
    from suite.training.build import build_compiled_model
    from suite.training.probes import peak_rss, reset_peak_rss

    cfg = validate(RunConfig(r.backend, r.model, device=r.device), check_install=False)
    mnist = load_mnist(online=False)
    rows = np.arange(r.batch) % len(mnist.y_train)  # the training images, repeated
    x = preprocess(mnist.x_train[rows], cfg.data_format)
    y = mnist.y_train[rows].astype(np.int32)
    reset_peak_rss()
    bk.reset_peak_memory(r.device)
    try:
        if r.fault_at is not None and r.batch >= r.fault_at:
            raise bk.out_of_memory(f"planted at batch {r.batch} (the must-fail test)")
        model = build_compiled_model(cfg)
        step = bk.make_train_step(model, x, y)
        for _ in range(r.steps):
            step()
    except Exception as e:  # the framework's out-of-memory error is a result
        if not bk.is_out_of_memory(e):
            raise
        return "out of memory", None
    peak = bk.peak_device_memory(r.device) if r.device == "gpu" else peak_rss()
    return ("over the limit" if peak and peak > r.limit_bytes else "fits"), peak


if __name__ == "__main__":
    sys.exit(main())
