"""Atomic file writes: a temporary file in the target folder, then a rename or link.

Readers never see a half-written file, and a failure during the write leaves
nothing behind. With ``overwrite=False`` an existing file is never replaced.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from suite.errors import SuiteError


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
