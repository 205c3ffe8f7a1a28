"""One backend's side of the data-parallel check, in its own process.

``python -m suite.checks.parallel.child BACKEND REQUEST.json`` (the request:
``suite.checks.requests.ReplicaRequest``) trains each model K SGD steps (lr 0.03,
constant, dropout off) from the shared initial weights on the same K global batches
twice: on one device with Keras' ``fit()``, then over N devices with the backend's
engine (``suite.frameworks.<backend>.parallel``), and saves the initial, single-device
and N-device weights. ``fault`` breaks the N-device run on purpose (one replica trains
on another's shard; torch also: gradients not averaged) for the must-fail tests.
"""

from __future__ import annotations

import sys

import numpy as np

from suite.checks.parallel.judge import LEARNING_RATE
from suite.checks.requests import ReplicaRequest, read_request
from suite.core.children import child_args
from suite.core.errors import SuiteError
from suite.core.hosts import Cluster, Place, processes
from suite.core.platform import traits
from suite.frameworks import select_backend


def _batches(mnist, steps: int, batch: int, seed: int):
    from suite.core.data import epoch_batches, preprocess

    order = epoch_batches(steps * batch, batch, seed, 0).ravel()
    return preprocess(mnist.x_train[order]), mnist.y_train[order].astype(np.int32)


def _dropout_off(model):
    for layer in model.layers:
        if type(layer).__name__ == "Dropout":
            layer.rate = 0.0
    return model


def _keras_sgd(model):
    import keras

    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _sgd_model(cfg):
    """The cell's model, dropout off, compiled with the check's SGD."""
    from suite.training.build import build_model

    return _keras_sgd(_dropout_off(build_model(cfg)))


def normalises_batch(model) -> bool:
    """Does the model compute statistics over the batch in training (BatchNormalization)?"""
    import keras

    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)


def per_shard(model, shards: int):
    """``model`` run on each of ``shards`` equal parts of every batch and concatenated,
    compiled with the check's SGD: on one device, what N replicas that each normalise
    over their own shard compute (the loss and its gradient are the global batch's mean
    either way). The weights are ``model``'s own."""
    import keras

    class PerShard(keras.Model):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def call(self, x, training=None):
            parts = keras.ops.split(x, shards, axis=0)
            return keras.ops.concatenate([self.inner(p, training=training) for p in parts], 0)

    return _keras_sgd(PerShard(model))


def _reference(cfg, x, y, batch: int, shards: int) -> tuple[dict, dict, bool]:
    """Initial and single-device weights after the K steps, and whether the reference
    normalised per shard (the engine's batch statistics are per replica and the model
    has a BatchNormalization), the way the N replicas do."""
    from suite import frameworks

    with frameworks.engine(cfg.backend).scope(cfg.device, 1):
        model = _sgd_model(cfg)
        init = _weights(model)
        by_shard = frameworks.engine(cfg.backend).batch_statistics() == "replica"
        by_shard = by_shard and normalises_batch(model)
        trainer = per_shard(model, shards) if by_shard else model
        trainer.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    return init, _weights(model), by_shard


def _weights(model) -> dict:
    from suite.training.weights import model_weights

    return model_weights(model)


def _config(backend: str, model: str, devices: int, steps: int, batch: int):
    from suite.core.config import RunConfig, validate

    loop = traits(backend).parallel_loop
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
    from suite import frameworks
    from suite.training.build import build_model

    engine = frameworks.engine(backend)
    cfg = _config(backend, model, devices, steps, batch)
    x, y = _batches(mnist, steps, batch, cfg.seed)
    init, single, by_shard = _reference(cfg, x, y, batch, devices)
    if cfg.loop != "fit":  # the suite's loop (torch's DDP ranks), not Keras' fit()
        ranks = engine.DDPRanks(cfg, build_model, mnist.cache_path, False, fault)
        for i in range(0, len(y), batch):
            ranks.step(x[i : i + batch], y[i : i + batch])
        parallel = _weights(ranks.model)
        ranks.close()
    else:
        if fault == "wrong-shard":  # replica 1's half of each batch replaced by replica 0's
            x, y = x.copy(), y.copy()
            shard = batch // devices
            for i in range(0, len(y), batch):
                x[i + shard : i + 2 * shard] = x[i : i + shard]
                y[i + shard : i + 2 * shard] = y[i : i + shard]
        elif fault != "none":
            raise SuiteError(f"--fault {fault}: only torch can skip averaging (no_sync)")
        with engine.scope(cfg.device, devices):
            dp = _sgd_model(cfg)
        dp.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        parallel = _weights(dp)
    return init, single, parallel, by_shard


def place(backend: str, r: ReplicaRequest, index: int) -> Place:
    """Process ``index`` of the cluster the request's hosts make on ``backend``."""
    n = processes(backend, r.hosts, r.devices)
    return Place(index, Cluster(n, tuple(r.ports[:n])))


def host_rows(steps: int, batch: int, hosts: int, host: int, fault: str) -> np.ndarray:
    """The rows of the K global batches that ``host`` feeds: its ``batch/hosts`` rows of
    each. ``fault="wrong-shard"``: host 1 feeds host 0's rows instead."""
    shard = batch // hosts
    mine = 0 if (fault == "wrong-shard" and host == 1) else host
    return np.concatenate(
        [np.arange(s * batch + mine * shard, s * batch + (mine + 1) * shard) for s in range(steps)]
    )


def train_hosts(backend: str, model: str, r: ReplicaRequest, index: int, mnist):
    """Process ``index`` of several hosts: host 0 also trains the single-device
    reference (on its own device, no collective) and returns the three weight sets;
    the others train their shards in step with it and return None."""
    from suite import frameworks

    engine = frameworks.engine(backend)
    world = r.hosts * r.devices
    cfg = _config(backend, model, world, r.steps, r.batch_size)
    x, y = _batches(mnist, r.steps, r.batch_size, cfg.seed)
    if cfg.loop == "fit" and r.fault not in ("none", "wrong-shard"):
        raise SuiteError(f"--fault {r.fault}: only torch can skip averaging (no_sync)")
    init = single = by_shard = None
    if index == 0:
        init, single, by_shard = _reference(cfg, x, y, r.batch_size, world)
    replica = engine.host_replica(cfg, place(backend, r, index), _sgd_model, r.fault)
    if replica is None:  # Keras' fit() on this host's rows of every global batch
        rows = host_rows(r.steps, r.batch_size, r.hosts, index, r.fault)
        with engine.scope(cfg.device, world):
            dp = _sgd_model(cfg)
        dp.fit(x[rows], y[rows], batch_size=r.batch_size // r.hosts, shuffle=False, verbose=0)
        parallel = _weights(dp)
    else:  # the engine's own loop: the replica cuts its shard itself
        try:
            for i in range(0, len(y), r.batch_size):
                replica.step(x[i : i + r.batch_size], y[i : i + r.batch_size])
            parallel = _weights(replica.model)
        finally:  # every path leaves the group, a failed step's too
            replica.close()
    return (init, single, parallel, by_shard) if index == 0 else None


def main(argv=None) -> int:
    backend, request, *host = child_args(
        "suite.checks.parallel.child", argv, "BACKEND", "REQUEST", "[HOST]", optional=1
    )
    host = int(host[0]) if host else 0  # this process's index over --hosts
    r = read_request(ReplicaRequest, request)
    multi = r.hosts > 1
    local = 1 if (multi and traits(backend).process_per_device) else r.devices
    select_backend(backend, "cpu", None, devices=local)
    from suite import frameworks
    from suite.core.data import load_mnist
    from suite.core.files import write_atomic
    from suite.core.platform import visible_cpus

    if multi:  # before any framework work: JAX's distributed runtime starts here
        frameworks.join(backend, place(backend, r, host))
    frameworks.current().configure("cpu", len(visible_cpus()))
    if not multi:  # the devices before the first op
        frameworks.engine(backend).prepare_devices("cpu", r.devices)
    mnist = load_mnist(online=False)
    arrays = {}
    for m in r.models:
        if multi:
            sets = train_hosts(backend, m, r, host, mnist)
        else:
            sets = train_both(backend, m, r.devices, r.steps, r.batch_size, mnist, r.fault)
        if sets is None:
            continue  # not host 0: trained its shards, has nothing to save
        for name, ws in zip(("init", "single", "parallel"), sets[:3], strict=True):
            arrays.update({f"{m}|{name}/{k}": v for k, v in ws.items()})
        arrays[f"{m}|meta/per_shard"] = np.asarray(sets[3])
    if host == 0:
        write_atomic(r.out, lambda f: np.savez(f, **arrays))
    return 0


if __name__ == "__main__":
    sys.exit(main())
