"""TensorFlow: tf.distribute.MirroredStrategy, model built and compiled in its scope."""

from __future__ import annotations

import contextlib

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
    """Several hosts are refused: the engine would be MultiWorkerMirroredStrategy (a
    ``TF_CONFIG`` per worker naming every host's address), but Keras 3.15's ``fit()``
    fails under it before the first step (its symbolic build reduces a per-replica
    batch: "Attempt to convert a value (PerReplica...) to a Tensor"; seen here over
    loopback, and upstream as keras-team/keras#20585)."""
    if hosts > 1:
        raise SuiteError(
            f"--hosts {hosts} on tensorflow: Keras 3.15's fit() fails under "
            "MultiWorkerMirroredStrategy (keras-team/keras#20585); use --backends jax torch"
        )
