"""The one dispatch point to the per-framework folders.

Each framework has one folder, ``suite/frameworks/<backend>/``, with the same module
names (as Keras keeps ``keras/src/backend/<name>/``): ``runtime`` (what Keras does not
abstract: threads, precision, device, synchronisation, memory, gradients), ``native``
(the same networks and step written in the framework itself) and ``parallel`` (its
data-parallel engine). Their contracts are declared here and checked with ``ast`` by
tests/frameworks/test_contract.py; nothing outside these folders imports torch, jax or
tensorflow.

Keras reads KERAS_BACKEND once, at import. ``select_backend`` sets it (and the
environment variables that must be in place before a framework starts) and refuses if
keras is already imported with another backend. ``current()`` returns the running
backend's runtime module.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import sys

from suite.core.errors import SuiteError
from suite.core.platform import check_backend, pin_cpus

# One autotuning policy for every backend on a GPU (run for torch and JAX on an H200,
# docs/measured.md; TensorFlow's unverified): on. TensorFlow autotunes cuDNN
# convolutions and XLA (JAX, and TF with jit) autotunes its GPU kernels by default;
# torch's cudnn.benchmark is off by default, so torch's configure turns it on.
# Autotuning runs on a new shape's first call, in the warm-up steps, before any
# throughput chunk; each result records conv_autotune.

# The contract every runtime module (suite/frameworks/<backend>/runtime.py) fulfils:
# function name -> parameter names, in order. Keras abstracts the rest;
# tests/frameworks/test_contract.py reads the three modules with ast (no framework
# import) and fails when one drifts.
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
    # the framework's persistent compilation cache in ``path``, before anything compiles
    # (start-up, warm); -> what it set, or why there is none
    "compilation_cache": ("path",),
    # the framework's own out-of-memory error (planted by the must-fail test), and
    # whether an error is one: the largest batch that fits records it, never crashes
    "out_of_memory": ("message",),
    "is_out_of_memory": ("error",),
}

# The same for suite/frameworks/<backend>/native.py: module functions, and the methods of the
# class that ``build`` returns (see suite.frameworks.shared.NativeModel).
NATIVE_CONTRACT: dict[str, tuple[str, ...]] = {"build": ("name", "weights", "cfg")}

NATIVE_METHODS: dict[str, tuple[str, ...]] = {
    "to_batch": ("self", "x", "y"),
    "train_step": ("self", "batch"),
    "predict": ("self", "x"),
}
ENGINE_CONTRACT: dict[str, tuple[str, ...]] = {
    "scope": ("device", "devices"),  # -> context manager to build and compile the model in
    "engine_info": ("device", "devices"),  # -> what ran: engine, device names, notes
    # make this process ``process_id`` of ``num_processes`` (Keras'
    # ``distribution.initialize`` names; the coordinator or rendezvous is the first of
    # ``job_addresses``, 127.0.0.1 here) before any framework work, or refuse (SuiteError)
    "initialize": ("job_addresses", "num_processes", "process_id"),
    # make the ``devices`` devices the engine trains over, before the framework's first op
    "prepare_devices": ("device", "devices"),
    # this process's part of training over several hosts (``place``: a
    # ``suite.core.hosts.Place``): an object with ``step(x, y)``, ``model``, ``close()``
    # training in the engine's own loop, or None where Keras' fit() on this host's rows
    # is the engine; ``build(cfg)`` makes the compiled Keras model
    "host_replica": ("cfg", "place", "build", "fault"),
    # where a normalisation's batch statistics are computed over N replicas: "replica"
    # (each replica's own shard) or "global" (the whole global batch, as on one device)
    "batch_statistics": (),
}


def select_backend(
    backend: str,
    device: str = "cpu",
    threads: int | None = None,
    allow_tf32: bool = False,
    devices: int = 1,
    first_cpu: int = 0,
) -> None:
    """Prepare this process for ``backend`` before keras or any framework is imported
    (with ``threads``: pinned to that many CPUs from the ``first_cpu``th on)."""
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
    set_device_count(backend, device, devices)
    if threads:
        pin_cpus(threads, first_cpu)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        if backend == "jax" and threads == 1:  # XLA's CPU client: no Eigen thread pool
            flags = os.environ.get("XLA_FLAGS", "")
            if "--xla_cpu_multi_thread_eigen" not in flags:
                os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()


def set_device_count(backend: str, device: str, devices: int) -> None:
    """Environment a framework reads at start-up: N virtual CPU devices for XLA."""
    if devices > 1 and device == "cpu" and backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}"


def current():
    """The runtime module of the backend keras is running, e.g.
    ``suite.frameworks.jax.runtime``."""
    import keras

    return importlib.import_module(f"suite.frameworks.{keras.backend.backend()}.runtime")


def engine(backend: str):
    """The module of ``backend``'s data-parallel engine."""
    return importlib.import_module(f"suite.frameworks.{backend}.parallel")


def join(backend: str, place) -> None:
    """This process into its cluster as ``place`` (a ``suite.core.hosts.Place``), with
    the engine's ``initialize``, before any framework work."""
    c = place.cluster
    engine(backend).initialize(c.addresses(), c.processes, place.index)


def build_native(backend: str, model: str, weights: dict, cfg):
    """``backend``'s native implementation of ``model`` (see ``shared.NativeModel``)."""
    return importlib.import_module(f"suite.frameworks.{backend}.native").build(model, weights, cfg)


def fetch_keras_mnist() -> dict:
    """keras.datasets.mnist.load_data() (needs the internet), failing fast without it:
    the last MNIST source the commands offer ``suite.core.data.load_mnist``."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from keras.datasets import mnist

        with contextlib.redirect_stdout(sys.stderr):  # keras prints "Downloading ..."
            (xtr, ytr), (xte, yte) = mnist.load_data()
    except Exception as e:  # no backend, no network, bad download: fall through
        raise SuiteError(f"keras.datasets.mnist.load_data() failed: {type(e).__name__}") from None
    finally:
        socket.setdefaulttimeout(previous)
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}
