"""``versions``: an environment per version set, made once with the standard tools
(``python -m venv``, then pip installing the one pinned release) and reused, and the
cells every set trains: the same matrix as ``compare``, each cell once per version set,
all in the same rounds, so each version ratio is paired by round.

An environment extends the calling one: a ``.pth`` file adds this interpreter's site
folders and the suite's own source after the environment's own, so the pinned release
shadows the installed one and everything else (numpy, the suite, the other frameworks)
is shared, not downloaded again. pip then installs only what the pin changes (a Keras
release: Keras alone; a JAX release: jax and its jaxlib). An environment is built in a
temporary folder and renamed into place once its release imports, so a failed or
interrupted build leaves nothing behind.
"""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import suite
from suite.core.config import RunConfig
from suite.core.environments import (
    AXES,
    VersionSet,
    env_dir,
    env_python,
    index_versions,
    installed,
    is_here,
    parse_label,
    skip_reason,
)
from suite.core.files import read_json, utc_stamp, write_json
from suite.measure.compare import CompareSettings

READY = "ready.json"  # written last: an environment without it is not one
# what each pinned distribution is imported as, to check the release before any cell
IMPORTS = {"keras": "keras", "jax": "jax", "tensorflow-cpu": "tensorflow", "torch": "torch"}
INSTALL_TIMEOUT_S = 1800  # a large framework wheel on a slow mirror


@dataclass(frozen=True)
class Environment:
    """A version set's environment, made or found: its interpreter, or why there is none."""

    label: str
    python: str | None
    seconds: float = 0.0  # to create it (0: this interpreter, or found ready)
    created_s: float | None = None  # what creating it took when it was made
    bytes: int = 0  # its own disk use (0: this interpreter)
    reused: bool = False
    error: str | None = None


def base_lines() -> list[str]:
    """The ``.pth`` lines that make an environment see this one after its own packages:
    this interpreter's site folders (their own ``.pth`` files run too, so an editable
    install of the suite is found) and the folder the suite's source is in."""
    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    root = Path(suite.__file__).resolve().parents[1]
    lines = [f"import site; site.addsitedir({str(d)!r})" for d in dirs if Path(d).is_dir()]
    return lines + [str(root)]


def disk_use(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _run(cmd: list, what: str, timeout: float = INSTALL_TIMEOUT_S) -> str:
    """Run ``cmd``, returning its output; RuntimeError with its last line of output (its
    last ERROR line where there is one) if it fails."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what}: no answer in {timeout:.0f} s") from None
    if out.returncode != 0:
        lines = [ln for ln in (out.stderr + out.stdout).splitlines() if ln.strip()]
        last = next((ln for ln in reversed(lines) if "ERROR" in ln), lines[-1] if lines else "")
        raise RuntimeError(f"{what}: {last.strip()}")
    return out.stdout


def extending_venv(folder: Path) -> Path:
    """A venv at ``folder`` that sees this environment after its own packages (the
    ``.pth`` of ``base_lines``); returns its site-packages folder."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(folder)], "python -m venv", 120)
    (purelib,) = folder.glob("lib/python*/site-packages")
    (purelib / "_suite_base.pth").write_text("\n".join(base_lines()) + "\n")
    return purelib


def mark_ready(folder: Path, label: str, seconds: float) -> int:
    """The last step of making an environment: its record, with what it took; returns
    its disk use."""
    size = disk_use(folder)
    write_json(folder / READY, {"label": label, "created": utc_stamp(), "seconds": seconds,
                                "bytes": size, "base": sys.executable})  # fmt: skip
    return size


def _build(label: str, tmp: Path) -> None:
    """A venv at ``tmp`` with the label's release: pip resolves it against the packages
    this interpreter has (through the ``.pth``), so only what the pin changes is
    installed; then the release must import, as that version."""
    dist, version, _ = parse_label(label)
    extending_venv(tmp)
    python = str(env_python(tmp))
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    pin = f"{dist}=={version}"
    _run([*pip, "--disable-pip-version-check", pin], f"pip install {pin}")
    module = IMPORTS.get(dist, dist)
    check = (
        f"import importlib.metadata as m, {module}; v = m.version({dist!r}); "
        f"assert v.split('+')[0] == {version!r}, v"
    )
    _run([python, "-c", check], f"import {module} {version}", 600)


def make_env(label: str, envs: Path, log) -> Environment:
    """The environment of ``label``: this interpreter where it has the release; one made
    before and ready; else one made now (a failure is the result's ``error``)."""
    if is_here(label):
        return Environment(label, sys.executable)
    folder = env_dir(envs, label)
    ready = folder / READY
    if ready.is_file():
        made = read_json(ready)
        return Environment(label, str(env_python(folder)), 0.0, made.get("seconds"),
                           made.get("bytes", 0), reused=True)  # fmt: skip
    log(f"  {label}: making its environment in {folder}")
    tmp = folder.with_name(f".{folder.name}.{utc_stamp()}.partial")
    started = time.perf_counter()
    try:
        _build(label, tmp)
        seconds = time.perf_counter() - started
        size = mark_ready(tmp, label, seconds)
        tmp.rename(folder)
    except (RuntimeError, OSError, ValueError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        return Environment(label, None, time.perf_counter() - started, error=str(e))
    return Environment(label, str(env_python(folder)), seconds, seconds, size)


def environments(sets: list[VersionSet], envs: Path, log) -> dict[str, Environment]:
    """Every set's environment (label -> Environment), skipped sets with their reason;
    each release is made once however often it is given."""
    out: dict[str, Environment] = {}
    made: dict[tuple, Environment] = {}
    for vs in sets:
        reason = skip_reason(vs)
        if reason:
            out[vs.label] = Environment(vs.label, None, error=reason)
        elif (vs.axis, vs.version) in made:
            out[vs.label] = replace(made[(vs.axis, vs.version)], label=vs.label, reused=True)
        else:
            made[(vs.axis, vs.version)] = out[vs.label] = make_env(vs.label, envs, log)
        e = out[vs.label]
        state = (e.error if e.error else "this environment" if e.python == sys.executable
                 else f"ready ({'reused' if e.reused else f'made in {e.seconds:.0f} s'}, "
                 f"{e.bytes / 2**20:,.0f} MiB)")  # fmt: skip
        log(f"  {vs.label}: {state}")
    return out


def here_versions() -> dict[str, str | None]:
    """The installed release of every distribution a set can pin, in this environment."""
    return {axis: installed(dist) for axis, dist in AXES.items()}


@dataclass(frozen=True)
class VersionsSettings:
    """Everything ``versions`` does, validated once (``suite.commands.versions.settings``):
    the matrix as ``compare`` plans it, and the version sets it trains in."""

    matrix: CompareSettings
    sets: tuple[VersionSet, ...]
    envs: Path  # where the environments live (a folder per set, by a hash of its pin)
    bisect: bool = False  # then the releases inside each step that got slower, in halves


def registry_releases(dist: str) -> list[str]:
    """Every release of ``dist`` the package index has, oldest first (``pip index
    versions``); RuntimeError with pip's last line if it cannot say."""
    cmd = [sys.executable, "-m", "pip", "index", "versions", dist, "--disable-pip-version-check"]
    found = index_versions(_run(cmd, f"pip index versions {dist}", 300))
    if not found:
        raise RuntimeError(f"pip index versions {dist}: no release listed")
    return found


def set_cells(cells: list[RunConfig], sets: list[VersionSet]) -> list[RunConfig]:
    """``cells`` once per version set: a Keras release on every backend, a framework's
    release on its own backend only (the others would run the same program)."""
    return [
        replace(c, versions=vs.label)
        for vs in sets
        for c in cells
        if vs.axis == "keras" or vs.axis == c.backend
    ]


def versions_record(envs: dict[str, Environment]) -> dict:
    """The environments of a versions run, for the report: each set's interpreter or why
    it has none, what making it took, and this environment's own releases."""
    from suite.core.schemas import VERSION_SETS, VERSION_SETS_VERSION

    return {
        "schema": VERSION_SETS,
        "schema_version": VERSION_SETS_VERSION,
        "created": utc_stamp(),
        "here": here_versions(),
        "sets": [asdict(e) for e in envs.values()],
    }
