"""JAX: keras.distribution.DataParallel over N devices, then plain fit()."""

from __future__ import annotations

import contextlib

import jax
import keras

from suite.core.errors import SuiteError


def _devices(device: str, devices: int) -> list:
    found = jax.devices("gpu" if device == "gpu" else "cpu")
    if len(found) < devices:
        raise SuiteError(f"--devices {devices}: JAX sees {len(found)} {device} device(s)")
    return found[:devices]


def scope(device: str, devices: int):
    """Set the global distribution; the model built after it is data-parallel. With one
    device, none: a model built then lives on the first device only."""
    keras.distribution.set_distribution(None)
    if devices > 1:
        mesh = keras.distribution.DeviceMesh((devices,), ["batch"], _devices(device, devices))
        keras.distribution.set_distribution(keras.distribution.DataParallel(device_mesh=mesh))
    return contextlib.nullcontext()


def engine_info(device: str, devices: int) -> dict:
    return {
        "engine": "DataParallel" if devices > 1 else "none (one device)",
        "devices": [str(d) for d in _devices(device, devices)],
        "loop": "keras fit()",
    }
