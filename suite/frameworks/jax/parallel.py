"""JAX: keras.distribution.DataParallel over N devices, then plain fit()."""

from __future__ import annotations

import contextlib
import os

import jax
import keras

from suite.core.errors import SuiteError


def _devices(device: str, devices: int) -> list:
    found = jax.devices("gpu" if device == "gpu" else "cpu")
    if len(found) < devices:
        raise SuiteError(f"--devices {devices}: JAX sees {len(found)} {device} device(s)")
    return found[:devices]


def initialize(job_addresses: str, num_processes: int, process_id: int) -> None:
    """This process as host ``process_id`` of ``num_processes``: Keras'
    ``distribution.initialize`` (``jax.distributed.initialize``) with host 0 running the
    coordinator at the first of ``job_addresses``, and CPU collectives over gloo. Before
    any JAX computation; ``jax.devices()`` then lists every host's devices,
    ``jax.local_devices()`` this one's."""
    if num_processes > 1:
        if "cpu" in os.environ.get("JAX_PLATFORMS", "cpu"):
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
        keras.distribution.initialize(job_addresses, num_processes, process_id)


def prepare_devices(device: str, devices: int) -> None:
    """Nothing: the N virtual CPU devices come from XLA_FLAGS, set before JAX started
    (``suite.frameworks.set_device_count``)."""


def host_replica(cfg, place, build, fault: str = "none"):
    """None: over several hosts JAX trains with Keras' own fit() on this host's rows of
    every global batch, under ``scope`` (no loop of the suite's)."""
    return None


def scope(device: str, devices: int):
    """Set the global distribution; the model built after it is data-parallel. With one
    device, none: a model built then lives on the first device only. ``devices`` counts
    every host's: with several hosts each feeds its own rows of every global batch
    (Keras' auto-sharding is for tf.data input only, so it is off)."""
    keras.distribution.set_distribution(None)
    if devices > 1:
        mesh = keras.distribution.DeviceMesh((devices,), ["batch"], _devices(device, devices))
        dp = keras.distribution.DataParallel(device_mesh=mesh)
        if jax.process_count() > 1:
            dp.auto_shard_dataset = False
        keras.distribution.set_distribution(dp)
    return contextlib.nullcontext()


def engine_info(device: str, devices: int) -> dict:
    return {
        "engine": "DataParallel" if devices > 1 else "none (one device)",
        "hosts": jax.process_count(),
        "devices": [str(d) for d in _devices(device, devices)],
        "loop": "keras fit()",
    }


def batch_statistics() -> str:
    """keras.distribution.DataParallel shards one jitted computation: a
    BatchNormalization's mean and variance run over the whole global batch."""
    return "global"
