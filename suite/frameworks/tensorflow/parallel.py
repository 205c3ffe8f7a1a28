"""TensorFlow: tf.distribute.MirroredStrategy, model built and compiled in its scope; over
several hosts MultiWorkerMirroredStrategy with a loop of the suite's own (``host_train``)."""

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
    if devices == 1:
        return contextlib.nullcontext()
    return strategy(device, devices).scope()


def engine_info(device: str, devices: int) -> dict:
    if devices == 1:
        return {"engine": "none (one device)", "devices": [], "loop": "keras fit()"}
    s = strategy(device, devices)
    return {
        "engine": type(s).__name__,
        "devices": list(s.extended.worker_devices),
        "loop": "keras fit(); Keras turns XLA off under tf.distribute",
    }


def join_hosts(address: str, hosts: int, index: int) -> None:
    """This process as worker ``index`` of ``hosts``: a ``TF_CONFIG`` naming every worker
    (``address``: their addresses, comma-separated, host 0's first) and the one
    MultiWorkerMirroredStrategy of this process, made before any other TensorFlow work.
    Keras 3.15's ``fit()`` fails under that strategy before its first step (its symbolic
    build reduces a per-replica batch; keras-team/keras#20585), so the suite trains
    under it with a loop of its own (``host_train``), as it trains torch's DDP."""
    if hosts == 1:
        return
    workers = address.split(",")
    if len(workers) != hosts:
        raise SuiteError(f"--hosts {hosts}: TensorFlow needs every worker's address, got {address}")
    task = {"type": "worker", "index": index}
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers}, "task": task})
    _STRATEGY["hosts"] = tf.distribute.MultiWorkerMirroredStrategy()


def host_train(build, cfg, batches, learning_rate: float):
    """Under the strategy ``join_hosts`` made: ``build(cfg)`` in its scope, then one SGD
    step per ``(x, y)`` in ``batches`` (this worker's rows of every global batch of
    ``cfg.batch_size``) with ``strategy.run``; each replica's loss is its share of the
    global batch's mean, and Keras' optimizer sums the replicas' gradients in its merge
    call (summing them again here would double them). Returns the model."""
    import keras

    strategy = _STRATEGY["hosts"]
    with strategy.scope():
        model = build(cfg)
        optimizer = keras.optimizers.SGD(learning_rate)
        optimizer.build(model.trainable_variables)

    @tf.function
    def step(x, y):
        def replica(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                per = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
                loss = tf.reduce_sum(per) / cfg.batch_size
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)

        strategy.run(replica, args=(x, y))

    for x, y in batches:
        step(tf.constant(x), tf.constant(y))
    return model
