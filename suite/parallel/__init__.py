"""Data-parallel training over N devices, with each backend's own engine.

- JAX: ``keras.distribution.DataParallel`` over a ``DeviceMesh``, set with
  ``keras.distribution.set_distribution``, then plain ``fit()``.
- TensorFlow: ``tf.distribute.MirroredStrategy``, model built and compiled in its
  ``scope()``, then ``fit()`` (Keras turns XLA off under tf.distribute).
- torch: Keras 3.15's ``fit()`` has no torch distribution, so, following Keras'
  "distributed training with torch" guide, the Keras model is trained in a torch
  loop wrapped in ``DistributedDataParallel`` (gloo on CPU, nccl on GPU), one
  process per device; not Keras' ``fit()``.

The global batch equals the single-device batch; each replica gets its equal shard
of every batch. On a CPU the N devices are virtual (XLA host devices, TensorFlow
logical devices, N gloo processes) sharing the same cores: what is measured there is
correctness and the engine's overhead, not speed-up.

``ENGINE_CONTRACT`` is what each ``suite/parallel/<backend>.py`` provides; like the
backend modules, nothing outside these modules imports the frameworks for it.
"""

from __future__ import annotations

import importlib
import os

from suite.errors import SuiteError

ENGINE_CONTRACT: dict[str, tuple[str, ...]] = {
    "scope": ("device", "devices"),  # -> context manager to build and compile the model in
    "engine_info": ("device", "devices"),  # -> what ran: engine, device names, notes
}
ENGINES = {
    "jax": "keras.distribution.DataParallel",
    "tensorflow": "tf.distribute.MirroredStrategy",
    "torch": "torch DistributedDataParallel (a torch loop, not Keras fit())",
}
TORCH_OPTIMIZERS = ("sgd", "adam")  # the torch loop maps these to torch.optim
# broken on purpose, for the equivalence check's must-fail cases: a replica trains on
# another replica's shard; (torch) no replica averages its gradients
FAULTS = ("none", "wrong-shard", "unaveraged")


def check_devices(cfg, cpu_count: int) -> None:
    """Refuse impossible data-parallel settings before anything starts."""
    n = cfg.devices
    if n < 1:
        raise SuiteError(f"--devices {n}: give at least 1 device")
    if cfg.loop == "torch-ddp":
        _check_torch_loop(cfg)
    if n == 1:
        return
    if cfg.device == "cpu" and n > cpu_count:
        raise SuiteError(
            f"--devices {n}: this machine has {cpu_count} CPU cores; on the CPU each "
            f"virtual device needs a core of its own, so at most {cpu_count}"
        )
    if cfg.impl != "keras":
        raise SuiteError(f"--devices {n} trains Keras models: it needs --impl keras")
    if cfg.batch_size % n:
        raise SuiteError(
            f"--devices {n}: the global batch {cfg.batch_size} must split into {n} equal shards"
        )
    if cfg.backend == "tensorflow" and cfg.jit == "on":
        raise SuiteError(f"--devices {n} on tensorflow: Keras turns XLA off under tf.distribute")


def _check_torch_loop(cfg) -> None:
    """Settings the torch DDP loop (``--loop torch-ddp``; ``--devices N`` on torch) cannot
    honour."""
    where = f"--devices {cfg.devices} on torch" if cfg.devices > 1 else "--loop torch-ddp"
    if cfg.steps_per_execution != 1:
        raise SuiteError(
            f"{where} with --steps-per-execution {cfg.steps_per_execution}: the torch "
            "data-parallel loop runs one step per call"
        )
    if cfg.optimizer not in TORCH_OPTIMIZERS:
        raise SuiteError(
            f"{where} maps the optimizer to torch.optim: {cfg.optimizer!r} is not one of "
            f"{', '.join(TORCH_OPTIMIZERS)}"
        )
    if cfg.jit == "on":
        raise SuiteError(f"{where}: --jit on (torch.compile) is not supported there")


def set_device_count(backend: str, device: str, devices: int) -> None:
    """Environment a framework reads at start-up: N virtual CPU devices for XLA."""
    if devices > 1 and device == "cpu" and backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}"


def engine(backend: str):
    """The module for ``backend``'s data-parallel engine."""
    return importlib.import_module(f"suite.parallel.{backend}")
