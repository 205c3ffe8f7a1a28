"""TensorFlow: tf.distribute.MirroredStrategy, model built and compiled in its scope; over
several hosts MultiWorkerMirroredStrategy with a loop of the suite's own (``host_replica``)."""

from __future__ import annotations

import contextlib
import json
import os

import tensorflow as tf

from suite.core.errors import SuiteError

_STRATEGY: dict = {}


def _logical_devices(device: str, devices: int) -> list[str]:
    kind = "GPU" if device == "gpu" else "CPU"
    cpu = tf.config.list_physical_devices("CPU")[0]
    # (listing logical devices would start the runtime; reading the configuration not)
    if kind == "CPU" and len(tf.config.get_logical_device_configuration(cpu) or []) < devices:
        try:  # N virtual CPUs; possible only before TensorFlow initialises its runtime
            config = [tf.config.LogicalDeviceConfiguration() for _ in range(devices)]
            tf.config.set_logical_device_configuration(cpu, config)
        except RuntimeError as e:
            raise SuiteError(f"--devices {devices}: TensorFlow started already ({e})") from None
    names = [d.name for d in tf.config.list_logical_devices(kind)]
    if len(names) < devices:
        raise SuiteError(f"--devices {devices}: TensorFlow sees {len(names)} {kind} device(s)")
    return names[:devices]


def strategy(device: str, devices: int):
    """One MirroredStrategy per process (a second one would re-create the devices)."""
    if (device, devices) not in _STRATEGY:
        names = _logical_devices(device, devices)
        _STRATEGY[device, devices] = tf.distribute.MirroredStrategy(names)
    return _STRATEGY[device, devices]


def scope(device: str, devices: int):
    """MirroredStrategy's scope over ``devices`` devices, or after ``initialize`` the
    MultiWorkerMirroredStrategy's (one device: none, the model on this worker alone)."""
    if devices == 1:
        return contextlib.nullcontext()
    if "hosts" in _STRATEGY:
        return _STRATEGY["hosts"].scope()
    return strategy(device, devices).scope()


def engine_info(device: str, devices: int) -> dict:
    if "hosts" in _STRATEGY and devices > 1:
        s = _STRATEGY["hosts"]
        return {
            "engine": "MultiWorkerMirroredStrategy",
            "hosts": len(json.loads(os.environ["TF_CONFIG"])["cluster"]["worker"]),
            "devices": list(s.extended.worker_devices),
            "loop": "the suite's strategy.run loop (Keras 3.15's fit() fails under it)",
        }
    if devices == 1:
        return {"engine": "none (one device)", "devices": [], "loop": "keras fit()"}
    s = strategy(device, devices)
    return {
        "engine": type(s).__name__,
        "devices": list(s.extended.worker_devices),
        "loop": "keras fit(); Keras turns XLA off under tf.distribute",
    }


def prepare_devices(device: str, devices: int) -> None:
    """N logical CPU devices (one MirroredStrategy), made before TensorFlow's first op."""
    if devices > 1 and "hosts" not in _STRATEGY:
        strategy(device, devices)


def initialize(job_addresses: str, num_processes: int, process_id: int) -> None:
    """This process as worker ``process_id`` of ``num_processes``: a ``TF_CONFIG`` naming
    every worker (``job_addresses``: comma-separated, host 0's first) and the one
    MultiWorkerMirroredStrategy of this process, made before any other TensorFlow work.
    Keras 3.15's ``fit()`` fails under that strategy before its first step (its symbolic
    build reduces a per-replica batch; keras-team/keras#20585), so the suite trains
    under it with a loop of its own (``host_replica``), as it trains torch's DDP."""
    if num_processes == 1:
        return
    workers = job_addresses.split(",")
    if len(workers) != num_processes:
        raise SuiteError(
            f"--hosts {num_processes}: TensorFlow needs every worker's address, got {job_addresses}"
        )
    task = {"type": "worker", "index": process_id}
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers}, "task": task})
    _STRATEGY["hosts"] = tf.distribute.MultiWorkerMirroredStrategy()


class _HostReplica:
    """This worker's part of data-parallel training under the strategy ``initialize``
    made: ``build(cfg)`` (a compiled Keras model) in its scope, its optimizer built
    there, and ``step(x, y)``: one optimizer step on this worker's rows of the global
    batch (x, y) with ``strategy.run``. Each replica's loss is its share of the global
    batch's mean; Keras' optimizer sums the replicas' gradients in its merge call
    (summing them again here would double them). ``fault="wrong-shard"``: worker 1
    trains on worker 0's rows."""

    def __init__(self, cfg, index: int, build, fault: str = "none"):
        import keras

        strategy = _STRATEGY["hosts"]
        self.shard = cfg.batch_size // strategy.num_replicas_in_sync
        self.lo = (0 if fault == "wrong-shard" and index == 1 else index) * self.shard
        with strategy.scope():
            model = build(cfg)
            optimizer = model.optimizer
            optimizer.build(model.trainable_variables)
        self.model, global_batch = model, cfg.batch_size

        @tf.function
        def step(x, y):
            def replica(x, y):
                with tf.GradientTape() as tape:
                    logits = model(x, training=True)
                    per = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
                    loss = tf.reduce_sum(per) / global_batch
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply(grads, model.trainable_variables)
                return loss

            losses = strategy.run(replica, args=(x, y))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

        self._step = step

    def step(self, x, y):
        """One step on this worker's rows of the global batch; the global mean loss."""
        rows = slice(self.lo, self.lo + self.shard)
        return self._step(tf.constant(x[rows]), tf.constant(y[rows]))

    def drain(self) -> None:
        """Nothing to wait for: a chunk ends by reading its last step's loss, which the
        all-reduce and every update before it have made (TensorFlow's sync_devices
        cannot run under MultiWorkerMirroredStrategy)."""

    def close(self) -> None:
        pass


def host_replica(cfg, place, build, fault: str = "none"):
    """This worker's replica (``_HostReplica``) under MultiWorkerMirroredStrategy;
    ``build(cfg)``: the compiled Keras model."""
    if "hosts" not in _STRATEGY:
        raise SuiteError("TensorFlow: host_replica before initialize")
    return _HostReplica(cfg, place.index, build, fault)


def batch_statistics() -> str:
    """Under a tf.distribute strategy each replica runs the model on its shard:
    Keras' BatchNormalization (synchronized=False, its default) uses that shard's statistics."""
    return "replica"
