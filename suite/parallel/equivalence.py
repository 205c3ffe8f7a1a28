"""Is data-parallel training the same training? N replicas against one device.

``python -m suite.parallel.equivalence BACKEND DEVICES OUT.npz --models M... --steps K
[--fault F]`` (one process per backend, as Keras needs) trains each model K SGD steps
(lr 0.1, constant, dropout off) from the shared initial weights on the same K global
batches twice: on one device with Keras' ``fit()``, then over N devices with the
backend's engine (``suite.parallel``), and saves the initial, single-device and
N-device weights. ``judge`` compares them: every variable's N-device result must be
within ``REL_TOLERANCE`` of the single-device one, relative to how far the single
device moved it. ``--fault`` breaks the N-device run on purpose (one replica trains on
another's shard; torch also: gradients not averaged) for the must-fail tests.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite.errors import SuiteError

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


def _batches(mnist, steps: int, batch: int, seed: int):
    from suite.data import epoch_batches, preprocess

    order = epoch_batches(steps * batch, batch, seed, 0).ravel()
    return preprocess(mnist.x_train[order]), mnist.y_train[order].astype(np.int32)


def _dropout_off(model) -> None:
    for layer in model.layers:
        if type(layer).__name__ == "Dropout":
            layer.rate = 0.0


def _keras_sgd(model):
    import keras

    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _weights(model) -> dict:
    from suite.weights import model_weights

    return model_weights(model)


def _config(backend: str, model: str, devices: int, steps: int, batch: int):
    from suite.config import RunConfig, validate

    loop = "torch-ddp" if backend == "torch" else "fit"
    return validate(
        RunConfig(
            backend,
            model,
            epochs=1,
            batch_size=batch,
            learning_rate=LEARNING_RATE,
            optimizer="sgd",
            schedule="constant",
            train_examples=steps * batch,
            devices=devices,
            loop=loop,
        ),  # fmt: skip
        check_install=False,
    )


def train_both(backend: str, model: str, devices: int, steps: int, batch: int, mnist, fault: str):
    """Initial, single-device and N-device weights after ``steps`` SGD steps."""
    from suite.parallel import engine
    from suite.train import build_model

    cfg = _config(backend, model, devices, steps, batch)
    x, y = _batches(mnist, steps, batch, cfg.seed)
    with engine(backend).scope(cfg.device, 1):
        single = build_model(cfg)
        _dropout_off(single)
        init = _weights(single)
        _keras_sgd(single).fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    if backend == "torch":
        from suite.parallel.torch import DDPTrainer

        trainer = DDPTrainer(cfg, mnist.cache_path, dropout=False, fault=fault)
        for i in range(0, len(y), batch):
            trainer.replica.step(x[i : i + batch], y[i : i + batch])
        parallel = _weights(trainer.model)
        trainer.close()
    else:
        if fault == "wrong-shard":  # replica 1's half of each batch replaced by replica 0's
            x, y = x.copy(), y.copy()
            shard = batch // devices
            for i in range(0, len(y), batch):
                x[i + shard : i + 2 * shard] = x[i : i + shard]
                y[i + shard : i + 2 * shard] = y[i : i + shard]
        elif fault != "none":
            raise SuiteError(f"--fault {fault}: only torch can skip averaging (no_sync)")
        with engine(backend).scope(cfg.device, devices):
            dp = build_model(cfg)
            _dropout_off(dp)
            _keras_sgd(dp)
        dp.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        parallel = _weights(dp)
    return init, _weights(single), parallel


def run_check(backends, models, devices: int, steps: int, batch: int, fault: str, log):
    """One child per backend; returns every (backend, model) check."""
    import tempfile

    from suite.backends import run_child

    checks = []
    with tempfile.TemporaryDirectory(prefix="replicas-") as tmp:
        for backend in backends:
            out = Path(tmp) / f"{backend}.npz"
            cmd = [sys.executable, "-m", "suite.parallel.equivalence", backend, str(devices)]
            cmd += [str(out), "--models", *models, "--steps", str(steps)]
            cmd += ["--batch-size", str(batch), "--fault", fault]
            run_child(cmd, f"replica check on {backend}")
            with np.load(out) as f:
                arrays = {k: f[k] for k in f.files}
            for m in models:
                part = {k.split("|", 1)[1]: v for k, v in arrays.items() if k.startswith(m + "|")}
                checks.append(judge(backend, m, devices, steps, part))
                log(f"  {backend} {m}: {checks[-1].verdict} ({checks[-1].worst_rel:.1e})")
    return checks


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m suite.parallel.equivalence")
    p.add_argument("backend")
    p.add_argument("devices", type=int)
    p.add_argument("out", type=Path)
    p.add_argument("--models", nargs="+", default=["softmax", "mlp", "cnn"])
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--fault", default="none")
    args = p.parse_args(argv)
    from suite.backends import select_backend

    select_backend(args.backend, "cpu", None, devices=args.devices)
    from suite import backends
    from suite.atomic import write_atomic
    from suite.data import load_mnist

    backends.current().configure("cpu", len(backends.visible_cpus()))
    if args.backend == "tensorflow":  # the logical devices exist before the first op
        from suite.parallel import engine

        engine("tensorflow").strategy("cpu", args.devices)
    mnist = load_mnist(online=False)
    arrays = {}
    for m in args.models:
        init, single, parallel = train_both(
            args.backend, m, args.devices, args.steps, args.batch_size, mnist, args.fault
        )
        for name, ws in (("init", init), ("single", single), ("parallel", parallel)):
            arrays.update({f"{m}|{name}/{k}": v for k, v in ws.items()})
    write_atomic(args.out, lambda f: np.savez(f, **arrays))
    return 0


if __name__ == "__main__":
    sys.exit(main())
