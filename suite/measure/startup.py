"""``startup``: how long from a fresh process to the end of the first training step, per
backend and workload, with empty compilation caches (cold) and with each framework's
persistent cache filled (warm), and when the backend that starts slower but steps faster
has caught up (``suite.core.startup``).

Each attempt is a fresh process, ``python -m suite.measure.startup REQUEST`` (a
``StartupRequest``): it takes its own start time from the operating system, then times
importing Keras and its framework, building and compiling the model, the first train
step (tracing and compiling happen here) and ``steps`` more steps, each waited for
(their median is the steady step). MNIST is read between the build and the first step
and left out. Cold attempts get an empty cache folder; warm ones the backend's folder,
filled once by an untimed attempt first. Attempts run one at a time, backends and cold
or warm alternating by repeat; the repeats (fresh processes) are the units of every
interval.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from suite.core.children import child_args, python_module, run_child
from suite.core.files import new_json_path, read_request, utc_stamp, write_json, write_request
from suite.core.schemas import STARTUP, STARTUP_VERSION

STEADY_STEPS = 20


@dataclass(frozen=True)
class StartupRequest:
    backend: str
    model: str
    cache_dir: str  # the persistent compilation cache: empty (cold) or filled (warm)
    out: str  # the attempt's JSON goes there
    steps: int = STEADY_STEPS  # steps after the first, each timed, for the steady step
    what: str = "train"  # "train": the first train step; "predict": the first predict()


WHATS = ("train", "predict")


def measure_startup(
    backends, models, repeats: int, out: Path, log, steps=STEADY_STEPS, whats=WHATS
) -> Path:
    """Every backend x model x what (the first train step, the first predict() call),
    cold and warm, ``repeats`` times each in fresh processes; writes one startup result
    into ``out`` and returns its path."""
    rows, caches = [], {}
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="suite-startup-") as tmp:
        work = Path(tmp)
        for m in models:  # fill each warm cache once, untimed
            for b in backends:
                for what in whats:
                    caches[b, m, what] = work / f"warm-{b}-{m}-{what}"
                    caches[b, m, what].mkdir()
                    fill = work / "fill.json"
                    _attempt(StartupRequest(b, m, str(caches[b, m, what]), str(fill), 1, what), log)
        for r in range(repeats):
            for m in models:
                order = list(backends) if r % 2 == 0 else list(backends)[::-1]
                for b in order:
                    for what in whats:
                        rows += _pair(b, m, what, r, caches[b, m, what], work, steps, log)
    blob = {
        "schema": STARTUP,
        "schema_version": STARTUP_VERSION,
        "created": utc_stamp(),
        "backends": list(backends),
        "models": list(models),
        "repeats": repeats,
        "steady_steps": steps,
        "wall_s": time.time() - started,
        "rows": rows,
    }
    return write_json(new_json_path(out, "startup"), blob)


def _pair(b, m, what, r: int, warm: Path, work: Path, steps: int, log) -> list[dict]:
    """One cold and one warm attempt, in the order the repeat's parity gives."""
    rows = []
    for cache in ("cold", "warm") if r % 2 == 0 else ("warm", "cold"):
        folder = warm if cache == "warm" else work / f"cold-{b}-{m}-{what}-{r}"
        folder.mkdir(exist_ok=True)
        req = StartupRequest(b, m, str(folder), str(work / "attempt.json"), steps, what)
        row = {"repeat": r, "cache": cache, "what": what, **_attempt(req, log)}
        rows.append(row)
        log(f"  {m} {b} {what} {cache} #{r + 1}: done {row['total_s']:.2f} s after the start")
        if cache == "cold":
            shutil.rmtree(folder, ignore_errors=True)
    return rows


def _attempt(req: StartupRequest, log) -> dict:
    """One fresh process; its timings."""
    with tempfile.TemporaryDirectory(prefix="suite-startup-req-") as tmp:
        path = write_request(Path(tmp) / "request.json", req)
        run_child(python_module("suite.measure.startup", path), f"start-up of {req.backend}",
                  log, f"  [{req.backend}] ")  # fmt: skip
    return json.loads(Path(req.out).read_text())


def main(argv=None) -> int:
    import psutil

    born = psutil.Process().create_time()  # the operating system's start of this process
    (path,) = child_args("suite.measure.startup", argv, "REQUEST")
    r = read_request(StartupRequest, path)
    from suite import frameworks

    frameworks.select_backend(r.backend, "cpu")
    bk = frameworks.current()  # imports Keras and the framework
    from suite.core.platform import visible_cpus

    bk.configure("cpu", len(visible_cpus()))
    imported = time.time()
    cache = bk.compilation_cache(r.cache_dir)
    from suite.core.config import RunConfig, validate
    from suite.training.build import build_compiled_model

    cfg = validate(RunConfig(r.backend, r.model))
    model = build_compiled_model(cfg)
    built = time.time()
    x, y = _batch(cfg, r.what)
    if r.what == "predict":  # a user's predict() on one batch of test images

        def step():
            model.predict(x, batch_size=len(x), verbose=0)

    else:
        step = bk.make_train_step(model, x, y)
    begin = time.time()
    step()  # traces and compiles, then trains
    first = time.time() - begin
    steady = []
    for _ in range(r.steps):
        t = time.perf_counter()
        step()
        steady.append(time.perf_counter() - t)
    steady.sort()
    row = {
        "backend": r.backend,
        "model": r.model,
        "import_s": imported - born,
        "build_s": built - imported,
        "first_step_s": first,
        "step_s": steady[len(steady) // 2],
        "total_s": imported - born + built - imported + first,
        "cache_setting": cache,
        "batch_size": cfg.batch_size,
        # the horizon of the catch-up: one epoch of training, or the test set's batches
        "steps_per_epoch": (
            cfg.test_examples // cfg.inference_batch
            if r.what == "predict"
            else cfg.train_examples // cfg.batch_size
        ),
    }
    Path(r.out).write_text(json.dumps(row))
    return 0


def _batch(cfg, what: str):
    """One batch of MNIST in the cell's layout (read from the cache, outside the clock):
    training images at the recipe's batch, or test images at the inference batch."""
    import numpy as np

    from suite.core.data import load_mnist, preprocess

    mnist = load_mnist(online=False)
    if what == "predict":
        b = cfg.inference_batch
        return preprocess(mnist.x_test[:b], cfg.data_format), mnist.y_test[:b].astype(np.int32)
    b = cfg.batch_size
    return preprocess(mnist.x_train[:b], cfg.data_format), mnist.y_train[:b].astype(np.int32)


if __name__ == "__main__":
    sys.exit(main())
