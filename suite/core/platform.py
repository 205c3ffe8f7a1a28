"""Which backends exist and are installed, which CPUs this process may use, and the
environment a child process gets: the facts every layer needs, with no framework
imported (``importlib.util.find_spec`` only looks)."""

from __future__ import annotations

import importlib.util
import os
import re

from suite.core.errors import SuiteError

BACKENDS = ("torch", "jax", "tensorflow")  # names as keras.backend.backend() spells them
FRAMEWORK_MODULE = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}

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
