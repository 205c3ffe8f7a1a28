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


# float32 FLOPs per cycle per core = 2 (a fused multiply-add) x float32 lanes x FMA
# pipes, from vendor manuals; (vendor, family, lowest model) -> (lanes x pipes, what)
FMA_UNITS = [
    ("AuthenticAMD", 0x1A, 0, 32, "Zen 5: 2 x 512-bit FMA pipes"),
    ("AuthenticAMD", 0x19, 0, 16, "Zen 3/4: 2 x 256-bit FMA pipes (AVX-512 double-pumped)"),
    ("AuthenticAMD", 0x17, 0x30, 16, "Zen 2: 2 x 256-bit FMA pipes"),
    ("AuthenticAMD", 0x17, 0, 8, "Zen/Zen+: 2 x 128-bit FMA pipes"),
]


def theoretical_peak(cpuinfo: str, physical_cores: int | None) -> dict | None:
    """Float32 peak = physical cores x clock x FLOPs per cycle, derived from
    /proc/cpuinfo's text: vendor, family and model pick the FMA pipes (AMD, from
    ``FMA_UNITS``); Intel is derived from its flags, assuming 2 FMA pipes of the widest
    vector width (true of Xeon Gold 6xxx and Platinum; Silver, Bronze and some Gold
    5xxx have one 512-bit pipe, half this). The clock is the one the kernel reports,
    usually the base clock: a core boosting above it beats this figure. None when the
    text lacks what the derivation needs."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    try:
        vendor, mhz = fields["vendor_id"], float(fields["cpu MHz"])
        family, model = int(fields["cpu family"]), int(fields["model"])
    except (KeyError, ValueError):
        return None
    flags = set(fields.get("flags", "").split())
    lanes, what = None, None
    for v, fam, lowest, units, text in FMA_UNITS:
        if vendor == v and family == fam and model >= lowest:
            lanes, what = units, text
            break
    if lanes is None and vendor == "GenuineIntel" and "fma" in flags:
        wide = "avx512f" in flags
        lanes = 32 if wide else 16
        what = f"Intel: 2 x {512 if wide else 256}-bit FMA pipes assumed"
    if lanes is None or not physical_cores or mhz <= 0:
        return None
    per_cycle = 2 * lanes
    return {
        "gflops": round(physical_cores * mhz / 1e3 * per_cycle, 1),
        "derivation": f"{physical_cores} cores x {mhz / 1e3:.2f} GHz (as the kernel reports) x "
        f"{per_cycle} float32 FLOPs/cycle ({what})",
    }


def cpu_peak() -> dict | None:
    """This machine's theoretical float32 peak (see ``theoretical_peak``)."""
    import psutil

    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    return theoretical_peak(text, psutil.cpu_count(logical=False))


# the CPU flags that decide which vector kernels the frameworks can use (float32 width,
# FMA, and the bfloat16/int8 units), in the order a reader compares them
VECTOR_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_bf16",
    "avx512_fp16",
    "amx_fp16",
)
# the units that compute each mixed policy's half type natively: on a CPU, its flags;
# on an NVIDIA GPU, the compute capability from which tensor cores take it
HALF_UNITS = {
    "mixed_bfloat16": (("avx512_bf16", "amx_bf16"), (8, 0)),
    "mixed_float16": (("avx512_fp16", "amx_fp16"), (7, 0)),
}


def native_half_support(policy: str, env: dict) -> str | None:
    """None when the device that ran a cell has units for ``policy``'s half type (or
    the policy is float32); otherwise why not, in words. Reads the fingerprint's CPU
    flags or the GPU's compute capability; unknown when they were not recorded."""
    if policy not in HALF_UNITS:
        return None
    flags, capability = HALF_UNITS[policy]
    half = policy.removeprefix("mixed_")
    device = env.get("device") or {}
    if device.get("kind") == "gpu":
        cc = device.get("compute_capability")
        if not cc:
            return f"the GPU's compute capability was not recorded: {half} support unknown"
        major, minor = (int(p) for p in str(cc).split(".")[:2])
        if (major, minor) >= capability:
            return None
        need = ".".join(map(str, capability))
        return f"GPU compute capability {cc} < {need}: no {half} tensor cores"
    present = env.get("cpu_vector_flags")
    if present is None:
        return f"the CPU's flags were not recorded: {half} support unknown"
    if any(f in present for f in flags):
        return None
    return f"this CPU has no {' or '.join(flags)}: {half} is converted to and from float32"


def vector_flags(cpuinfo: str) -> list[str]:
    """The ``VECTOR_FLAGS`` present in /proc/cpuinfo's first ``flags`` line."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            present = set(value.split())
            return [f for f in VECTOR_FLAGS if f in present]
    return []


def cpu_vector_flags() -> list[str] | None:
    try:
        return vector_flags(Path("/proc/cpuinfo").read_text())
    except OSError:
        return None


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
        "cpu_theoretical_peak": cpu_peak(),
        "cpu_vector_flags": cpu_vector_flags(),
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
                "XLA_PYTHON_CLIENT_PREALLOCATE",
                "TF_FORCE_GPU_ALLOW_GROWTH",
            )
        },
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": sys.argv,
    }
