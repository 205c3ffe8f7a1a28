"""The one dispatch point to the per-backend modules.

Keras reads KERAS_BACKEND once, at import. ``select_backend`` sets it (and the
environment variables that must be in place before a framework starts) and
refuses if keras is already imported with another backend. ``current()``
returns the module for the running backend; nothing else in the suite imports
torch, jax or tensorflow.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import time

from suite.errors import SuiteError

# Lines TensorFlow's C++ runtime writes to fd 2 at import, before any setting (not even
# TF_CPP_MIN_LOG_LEVEL) can stop them: informational and warnings only, errors kept.
FRAMEWORK_LOG = re.compile(r"^(WARNING: All log messages before absl|[IW]\d{4} |To enable the)")

BACKENDS = ("torch", "jax", "tensorflow")

# One autotuning policy for every backend on a GPU (unverified here: no GPU was lent to
# this project's sessions): on. TensorFlow autotunes cuDNN convolutions and XLA (JAX, and
# TF with jit) autotunes its GPU kernels by default; torch's cudnn.benchmark is off by
# default, so torch's configure turns it on. Autotuning runs on a new shape's first call,
# in the warm-up steps, before any throughput chunk; each result records conv_autotune.

# The contract every per-backend module (suite/backends/<backend>.py) fulfils: function
# name -> parameter names, in order. Keras abstracts the rest; tests/test_contract.py
# reads the three modules with ast (no framework import) and fails when one drifts.
CONTRACT: dict[str, tuple[str, ...]] = {
    "configure": ("device", "threads", "allow_tf32"),  # -> settings in effect
    "seed": ("seed",),
    "device_info": ("device",),  # -> framework, version, device name
    "synchronize": ("value",),  # wait for queued device work
    "drain": ("model",),  # wait for every update the model's training queued
    "read_loss": ("out",),  # a train-function output's loss on the host
    "reset_peak_memory": ("device",),
    "peak_device_memory": ("device",),  # -> bytes on GPU, None on CPU
    "bare_steps": ("model", "x", "y", "batch_size"),  # timing-check's reference loop
    "enable_float64": (),
    "make_loss_and_grads": ("model",),  # -> (x, y) -> (loss, logits, grads)
    "make_train_step": ("model", "x", "y"),  # -> one Keras train step, waited for
    "matmul_gflops": ("n", "repeats"),
}
# The same for suite/native/<backend>.py: module functions, and the methods of the
# class that ``build`` returns (see suite.native.NativeModel).
NATIVE_CONTRACT: dict[str, tuple[str, ...]] = {"build": ("name", "weights", "cfg")}
NATIVE_METHODS: dict[str, tuple[str, ...]] = {
    "to_batch": ("self", "x", "y"),
    "train_step": ("self", "batch"),
    "predict": ("self", "x"),
}
FRAMEWORK_MODULE = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}


def installed_backends() -> list[str]:
    return [b for b in BACKENDS if is_installed(b)]


def is_installed(backend: str) -> bool:
    names = (FRAMEWORK_MODULE[backend], "keras")
    return all(importlib.util.find_spec(n) is not None for n in names)


def check_backend(backend: str) -> None:
    """Raise SuiteError for an unknown or uninstalled backend, naming the fix."""
    if backend not in BACKENDS:
        raise SuiteError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if not is_installed(backend):
        raise SuiteError(
            f"{backend} is not installed: pip install '.[{backend}]' (or run tox -e {backend}-cpu)"
        )


def select_backend(
    backend: str,
    device: str = "cpu",
    threads: int | None = None,
    allow_tf32: bool = False,
    devices: int = 1,
) -> None:
    """Prepare this process for ``backend`` before keras or any framework is imported."""
    loaded = sys.modules.get("keras")
    if loaded is not None and loaded.backend.backend() != backend:
        raise SuiteError(
            f"keras is already imported with backend {loaded.backend.backend()!r} in this "
            f"process; run one process per backend (set KERAS_BACKEND={backend})"
        )
    check_backend(backend)
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not allow_tf32:
        os.environ["NVIDIA_TF32_OVERRIDE"] = "0"
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        if backend == "jax":
            os.environ["JAX_PLATFORMS"] = "cpu"
    from suite.parallel import set_device_count

    set_device_count(backend, device, devices)
    if threads:
        pin_cpus(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        if backend == "jax" and threads == 1:  # XLA's CPU client: no Eigen thread pool
            flags = os.environ.get("XLA_FLAGS", "")
            if "--xla_cpu_multi_thread_eigen" not in flags:
                os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()


def visible_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity), else all."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def pin_cpus(threads: int) -> list[int]:
    """Restrict this process to its first ``threads`` visible CPUs, before any framework
    starts: torch's OpenMP, TensorFlow's and XLA's pools all size themselves from the
    affinity, so every backend gets the same CPU set. Returns the set in effect."""
    cpus = visible_cpus()[:threads]
    if hasattr(os, "sched_setaffinity") and cpus:
        os.sched_setaffinity(0, cpus)
    return visible_cpus()


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child that chooses its own backend."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    return {**env, **extra}


def run_child(cmd: list[str], what: str):
    """Run a child process that chooses its own backend; SuiteError naming ``what`` and
    the child's last line that is not framework log noise if it fails."""
    import subprocess

    proc = subprocess.run(cmd, env=child_env(), stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        lines = [x for x in proc.stderr.splitlines() if x.strip() and not FRAMEWORK_LOG.match(x)]
        raise SuiteError(f"{what} failed: {(lines or ['?'])[-1]}")
    return proc


def current():
    """The module for the backend keras is running, e.g. ``suite.backends.jax``."""
    import keras

    return importlib.import_module(f"suite.backends.{keras.backend.backend()}")


def best_seconds(run, repeats: int) -> float:
    """Fastest of ``repeats`` calls of ``run`` (which must wait for its own result)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best
