"""Which backends exist and are installed, which CPUs this process may use, and the
environment a child process gets: the facts every layer needs, with no framework
imported (``importlib.util.find_spec`` only looks)."""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass

from suite.core.errors import SuiteError

BACKENDS = ("torch", "jax", "tensorflow")  # names as keras.backend.backend() spells them
FRAMEWORK_MODULE = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}


@dataclass(frozen=True)
class Traits:
    """What a backend does that the layers without a framework (the core's checks, the
    planners, the report) must know before, or without, loading it. Written once, here;
    callers ask ``traits(backend).x`` instead of testing the backend's name. What needs
    the framework loaded is its engine's (``suite.frameworks.ENGINE_CONTRACT``)."""

    # the loop data-parallel training runs in: Keras' "fit" (its distribution) or the
    # suite's "torch-ddp" loop (Keras 3.15's fit() has no torch distribution)
    parallel_loop: str
    # over several hosts (or devices, for torch) one process per device, as torchrun
    # starts ranks; otherwise one process per host with its devices inside
    process_per_device: bool
    # over --hosts, the suite's own loop (one step per call), or None: Keras' fit()
    hosts_loop: str | None
    # why a host holds one device only (--hosts with --devices N refused), or None
    one_device_per_host: str | None
    # the distribution under which Keras turns jit_compile (XLA) off, or None
    drops_jit_under: str | None
    # its native loop can run k steps per compiled call (torch's is eager)
    native_steps_per_execution: bool
    # what Keras runs for this backend with jit_compile=False
    jit_off: str


TRAITS = {
    "torch": Traits(
        parallel_loop="torch-ddp",
        process_per_device=True,
        hosts_loop="torch's DDP loop",
        one_device_per_host=None,
        drops_jit_under=None,
        native_steps_per_execution=False,
        jit_off="eager",
    ),
    "jax": Traits(
        parallel_loop="fit",
        process_per_device=False,
        hosts_loop=None,
        one_device_per_host=None,
        drops_jit_under=None,
        native_steps_per_execution=True,
        jit_off="eager",
    ),
    "tensorflow": Traits(
        parallel_loop="fit",
        process_per_device=False,
        hosts_loop="the suite's MultiWorkerMirroredStrategy loop",
        one_device_per_host="MultiWorkerMirroredStrategy runs one CPU device per worker",
        drops_jit_under="tf.distribute",
        native_steps_per_execution=True,
        jit_off="tf.function graph, no XLA",
    ),
}


def traits(backend: str) -> Traits:
    """``backend``'s traits (SuiteError naming the backends for an unknown one)."""
    if backend not in TRAITS:
        raise SuiteError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    return TRAITS[backend]


# Lines TensorFlow's C++ runtime writes to fd 2 at import, before any setting (not even
# TF_CPP_MIN_LOG_LEVEL) can stop them: informational and warnings only, errors kept.
FRAMEWORK_LOG = re.compile(r"^(WARNING: All log messages before absl|[IW]\d{4} |To enable the)")


def is_installed(backend: str) -> bool:
    names = (FRAMEWORK_MODULE[backend], "keras")
    return all(importlib.util.find_spec(n) is not None for n in names)


def installed_backends() -> list[str]:
    return [b for b in BACKENDS if is_installed(b)]


def check_backend(backend: str) -> None:
    """Raise SuiteError for an unknown or uninstalled backend, naming the fix."""
    if backend not in BACKENDS:
        raise SuiteError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if not is_installed(backend):
        raise SuiteError(
            f"{backend} is not installed: pip install '.[{backend}]' (or run tox -e {backend}-cpu)"
        )


def visible_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity), else all."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def pin_cpus(threads: int, first: int = 0) -> list[int]:
    """Restrict this process to ``threads`` of its visible CPUs from the ``first``th on,
    before any framework starts: torch's OpenMP, TensorFlow's and XLA's pools all size
    themselves from the affinity, so every backend gets the same CPU set (and each of
    several hosts on this machine a set of its own). Returns the set in effect."""
    cpus = visible_cpus()[first : first + threads]
    if hasattr(os, "sched_setaffinity") and cpus:
        os.sched_setaffinity(0, cpus)
    return visible_cpus()


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child that chooses its own backend."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    return {**env, **extra}
