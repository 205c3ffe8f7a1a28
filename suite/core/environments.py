"""Version sets (``versions``): which Keras and framework releases a worker runs, and
where the environment that holds them lives. Pure functions of the pins and the
calling interpreter's installed versions; creating an environment is
``suite.measure.versions``.

A version set pins one distribution to one release ("keras==3.14.1"); everything else
is the calling environment's. Its label is the pin, with "~2", "~3" for the same pin
given again (not "#": a participant's second worker process is "#2"): an A/A step, the
same release twice, which must never be flagged. A set whose
pin is already installed here needs no environment of its own: its workers run on this
interpreter.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# the distributions a version set can pin, by flag: Keras and each backend's framework
AXES = {"keras": "keras", "jax": "jax", "tensorflow": "tensorflow-cpu", "torch": "torch"}
# torch's CPU wheel resolves from the registry for this one release; any other pulls a
# multi-GB CUDA build (the machine's facts): other torch releases are skipped, said so
TORCH_CPU = "2.13.0"
COPY = "~"  # "keras==3.15.1~2": the same pin given a second time


@dataclass(frozen=True)
class VersionSet:
    axis: str  # a key of AXES: the flag it came from
    version: str
    copy: int = 1  # the same pin given again: 2, 3, ...

    @property
    def pin(self) -> str:
        return f"{AXES[self.axis]}=={self.version}"

    @property
    def label(self) -> str:
        """What a RunConfig's ``versions`` holds and the report shows: "keras==3.14.1",
        "keras==3.15.1~2"."""
        return self.pin + (f"{COPY}{self.copy}" if self.copy > 1 else "")


def version_sets(axes: dict[str, list[str]]) -> list[VersionSet]:
    """One set per version given, per axis, in the order given; the same version again
    on an axis is a copy of its own ("~2")."""
    out = []
    for axis, versions in axes.items():
        seen: dict[str, int] = {}
        for v in versions:
            seen[v] = seen.get(v, 0) + 1
            out.append(VersionSet(axis, v, seen[v]))
    return out


def parse_label(label: str) -> tuple[str, str, int]:
    """(distribution, version, copy) of a label: "keras==3.15.1~2" -> ("keras",
    "3.15.1", 2)."""
    pin, _, copy = label.partition(COPY)
    dist, _, version = pin.partition("==")
    return dist, version, int(copy or 1)


def installed(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def is_here(label: str) -> bool:
    """Whether this interpreter already has the label's release: no environment needed.
    A local build's suffix ("2.13.0+cpu") counts as its release."""
    dist, version, _ = parse_label(label)
    have = installed(dist)
    return have is not None and have.split("+")[0] == version


def env_key(label: str) -> str:
    """The environment's name: a hash of its pin and of the interpreter it extends
    (an environment made from another Python is another environment)."""
    dist, version, _ = parse_label(label)
    blob = f"{dist}=={version}\n{sys.version}\n{sys.prefix}".encode()
    return f"{dist}-{version}-{hashlib.sha256(blob).hexdigest()[:10]}"


def env_dir(cache: Path, label: str) -> Path:
    return cache / "envs" / env_key(label)


def env_python(env: Path) -> Path:
    return env / "bin" / "python"


def skip_reason(vs: VersionSet) -> str | None:
    """Why a version set is not tried at all, or None."""
    if vs.axis == "torch" and vs.version.split("+")[0] != TORCH_CPU:
        return (
            f"torch {vs.version}: skipped; only torch {TORCH_CPU} resolves to a CPU wheel "
            "from this registry (any other release pulls a multi-GB CUDA build)"
        )
    return None


def release_key(version: str) -> tuple:
    """Sort key of a release number: as a release (3.9.2 before 3.10.0), anything that
    is not one after them, as text."""
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def version_key(label: str):
    """Sort key of a label within its axis: by release, then copy."""
    dist, version, copy = parse_label(label)
    return (dist, *release_key(version), copy)


def index_versions(text: str) -> list[str]:
    """The releases ``pip index versions DIST`` lists ("Available versions: 3.15.1,
    3.15.0, ..."), pre-releases left out, oldest first."""
    from packaging.version import InvalidVersion, Version

    line = next((ln for ln in text.splitlines() if ln.startswith("Available versions:")), "")
    found = []
    for v in line.partition(":")[2].split(","):
        try:
            parsed = Version(v.strip())
        except InvalidVersion:
            continue
        if not parsed.is_prerelease:
            found.append(parsed)
    return [str(v) for v in sorted(found)]


def between(releases: list[str], low: str, high: str) -> list[str]:
    """The releases strictly between ``low`` and ``high``, oldest first."""
    from packaging.version import Version

    lo, hi = Version(low), Version(high)
    return [r for r in releases if lo < Version(r) < hi]


def bisect_releases(low: str, high: str, inside: list[str], judge) -> tuple[str | None, list]:
    """The first release with a step that lies between ``low`` (without it) and ``high``
    (with it), trying the releases ``inside`` (oldest first) in halves: ``judge(lo, mid,
    hi)`` trains the three side by side and answers where the step is now, "low" (between
    lo and mid), "high" (between mid and hi) or None (nowhere: it did not reproduce).
    Returns (the first release with it, or None when it did not reproduce; every (lo,
    mid, hi, answer) tried)."""
    tried = []
    while inside:
        mid = inside[len(inside) // 2]
        answer = judge(low, mid, high)
        tried.append((low, mid, high, answer))
        if answer == "low":
            high, inside = mid, inside[: len(inside) // 2]
        elif answer == "high":
            low, inside = mid, inside[len(inside) // 2 + 1 :]
        else:
            return None, tried
    return high, tried
