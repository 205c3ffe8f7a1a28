"""Result files: atomic writes, one JSON writer and reader, new names, writable folders.

A file is written to a temporary name in its target folder, fsynced, then renamed or
linked into place, so readers never see a half-written file and a failure leaves
nothing behind. Result files are never overwritten (``write_new``). Every JSON result
goes through ``write_json`` (strict: no NaN or infinity) and is read back through
``read_json``; every timestamped name comes from ``utc_stamp``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from suite.core.errors import SuiteError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write: Callable, overwrite: bool = True) -> None:
    """Call ``write(binary_file)`` on a temp file, fsync it, then move it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # raises FileExistsError rather than replace
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_new(path: Path, data: bytes) -> Path:
    """Write a result file that must not exist yet; SuiteError if it does."""
    try:
        write_atomic(path, lambda f: f.write(data), overwrite=False)
    except FileExistsError:
        raise SuiteError(f"{path} exists already; results are never overwritten") from None
    return Path(path)


def json_text(blob) -> str:
    """The one JSON encoding of results: indented, strict (a NaN or an infinity is a
    ValueError before any file exists), other objects as their str()."""
    return json.dumps(blob, indent=1, allow_nan=False, default=str)


def write_json(path: Path, blob) -> Path:
    """Serialise first, then write a new result file atomically (never overwriting)."""
    return write_new(path, json_text(blob).encode())


def read_json(path: Path):
    """A JSON file's content; SuiteError naming the file when it cannot be read."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SuiteError(f"{path}: not readable JSON ({type(e).__name__}: {e})") from None


def utc_stamp() -> str:
    """The time part of every result name: UTC, sortable, to the second."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())


def new_json_path(folder: Path, prefix: str) -> Path:
    """``folder/<prefix>-<stamp>.json``, with -1, -2 ... when that name is taken."""
    stamp = utc_stamp()
    for n in range(1000):
        path = Path(folder) / (f"{prefix}-{stamp}" + (f"-{n}" if n else "") + ".json")
        if not path.exists():
            return path
    raise SuiteError(f"cannot find a new file name in {folder}")


def new_run_dir(out: Path) -> Path:
    """A fresh folder named by UTC time; never one that already exists."""
    stamp = utc_stamp()
    for n in range(1000):
        path = Path(out) / (f"{stamp}-{os.getpid()}" + (f"-{n}" if n else ""))
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise SuiteError(f"cannot create a new run folder in {out}")


def check_writable(out: str | Path) -> Path:
    """Fail early, before any training and without creating anything, if results
    cannot be written under ``out`` (the ``--out`` the user typed). Returns it as a Path."""
    if not str(out).strip():
        raise SuiteError("--out is empty; name a results folder (e.g. --out results)")
    path = Path(out)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = None
    if path.exists() and not path.is_dir():
        problem = "it is a file"
    elif not existing.is_dir():
        problem = f"{existing} is a file"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{existing} is not writable"
    if problem:
        raise SuiteError(f"--out {out} is not writable ({problem}); choose another folder")
    return path


def write_request(path: Path, request) -> Path:
    """A child process's typed request (a frozen dataclass) as JSON, written whole."""
    blob = json.dumps(asdict(request)).encode()
    write_atomic(path, lambda f: f.write(blob))
    return path


def read_request(kind, path: str | Path):
    """The ``kind`` dataclass from a request file (``write_request``)."""
    return kind(**json.loads(Path(path).read_text()))
