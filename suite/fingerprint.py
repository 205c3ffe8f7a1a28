"""The environment behind a number: versions, CPU, threads, device, command line."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import suite

FRAMEWORK_DISTS = {
    "torch": ("torch",),
    "jax": ("jax", "jaxlib"),
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "-uno"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def fingerprint(backend: str, device: dict, settings: dict) -> dict:
    """Everything that can move a number, as plain JSON values."""
    import psutil

    return {
        "suite_version": suite.__version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "keras": _version("keras"),
        "backend": backend,
        "framework": {d: _version(d) for d in FRAMEWORK_DISTS[backend] if _version(d)},
        "numpy": _version("numpy"),
        "cpu": cpu_model(),
        "cpu_cores_logical": psutil.cpu_count(logical=True),
        "cpu_cores_physical": psutil.cpu_count(logical=False),
        "memory_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "hostname": platform.node(),
        "device": device,
        "settings": settings,
        "env": {
            k: os.environ.get(k)
            for k in (
                "KERAS_BACKEND",
                "CUDA_VISIBLE_DEVICES",
                "JAX_PLATFORMS",
                "XLA_FLAGS",
                "OMP_NUM_THREADS",
                "NVIDIA_TF32_OVERRIDE",
                "TF_ENABLE_ONEDNN_OPTS",
                "OPENBLAS_CORETYPE",
            )
        },
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
    }
