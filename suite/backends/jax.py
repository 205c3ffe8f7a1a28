"""What Keras does not abstract on the JAX backend."""

from __future__ import annotations

import os

import jax

from suite.errors import SuiteError


def configure(device: str, threads: int, allow_tf32: bool = False) -> dict:
    """Apply precision and device settings; return what is actually in effect.

    XLA's CPU thread pool is sized from the visible cores; a single thread is
    forced through XLA_FLAGS before import (see ``select_backend``).
    """
    jax.config.update("jax_default_matmul_precision", "default" if allow_tf32 else "highest")
    if device == "gpu":
        try:
            jax.devices("gpu")
        except RuntimeError:
            raise SuiteError(
                "--device gpu: JAX sees no GPU (install the jax-gpu extra on a "
                "machine with one, or use --device cpu)"
            ) from None
    flags = os.environ.get("XLA_FLAGS", "")
    single = "intra_op_parallelism_threads=1" in flags
    return {
        "intra_op_threads": 1 if single else os.cpu_count(),
        "xla_flags": flags,
        "default_matmul_precision": jax.config.jax_default_matmul_precision,
        "platform": jax.default_backend(),
    }


def seed(seed: int) -> None:
    pass  # JAX has no global generator; keras derives its keys from Python's random


def device_info(device: str) -> dict:
    d = jax.devices()[0]
    info = {
        "framework": "jax",
        "framework_version": jax.__version__,
        "kind": device,
        "name": d.device_kind,
        "platform": d.platform,
    }
    if device == "gpu":
        info["count"] = jax.device_count()
    return info


def synchronize(value=None) -> None:
    """Block until the arrays in ``value`` (any pytree) are computed."""
    if value is not None:
        jax.block_until_ready(value)


def reset_peak_memory(device: str) -> None:
    pass  # XLA keeps one running peak per device; read it as it is


def peak_device_memory(device: str) -> int | None:
    if device != "gpu":
        return None
    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("peak_bytes_in_use")
