"""A model a user brings: ``MODULE:FUNCTION`` or ``path/to/file.py:FUNCTION``, where
``FUNCTION(input_shape, num_classes)`` returns an uncompiled ``keras.Model``.

The suite names such a workload by its reference plus a short hash of its source
(``examples/rowconv.py:build#1a2b3c4d``), so two different models under one name are
never pooled; a cell refuses to build when the source no longer has that hash. Nothing
here imports keras: the function is imported inside each backend's worker, after the
backend is chosen. Errors are ``ValueError`` with one line naming the problem.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HASH_CHARS = 8


@dataclass(frozen=True)
class Reference:
    target: str  # a module name or a .py path
    function: str
    source_hash: str | None = None  # pinned by the suite once it has read the source

    @property
    def is_file(self) -> bool:
        return self.target.endswith(".py")

    @property
    def text(self) -> str:
        return f"{self.target}:{self.function}"

    @property
    def name(self) -> str:
        """The workload's name in results and reports: reference and source hash."""
        return f"{self.text}#{self.source_hash or current_hash(self)}"


def is_reference(name: str) -> bool:
    return ":" in name


def parse(name: str) -> Reference:
    """``TARGET:FUNCTION[#HASH]`` -> Reference; a malformed one is a ValueError."""
    text, _, pinned = name.partition("#")
    target, sep, function = text.rpartition(":")
    if not sep or not target or not function.isidentifier():
        raise ValueError(
            f"{name!r} is not MODULE:FUNCTION or path/to/file.py:FUNCTION "
            "(FUNCTION(input_shape, num_classes) returning a keras.Model)"
        )
    if not target.endswith(".py") and not all(p.isidentifier() for p in target.split(".")):
        raise ValueError(f"{target!r} is neither a module name nor a path to a .py file")
    return Reference(target, function, pinned or None)


def _source_path(ref: Reference) -> Path:
    if ref.is_file:
        path = Path(ref.target)
        if not path.is_file():
            raise ValueError(f"{ref.target}: no such file")
        return path
    try:
        found = importlib.util.find_spec(ref.target)
    except (ImportError, ValueError) as e:
        raise ValueError(f"module {ref.target!r} cannot be found ({e})") from None
    if found is None or not found.origin or not Path(found.origin).is_file():
        raise ValueError(f"module {ref.target!r} cannot be found on the Python path")
    return Path(found.origin)


def current_hash(ref: Reference) -> str:
    """Short sha256 of the source file that defines the model, as it is now."""
    return hashlib.sha256(_source_path(ref).read_bytes()).hexdigest()[:HASH_CHARS]


def check_source(ref: Reference) -> None:
    """The source must exist and, when pinned, still have the hash the run started with."""
    now = current_hash(ref)
    if ref.source_hash and now != ref.source_hash:
        raise ValueError(
            f"{ref.text}: its source changed since the run started (hash {now}, "
            f"the run's {ref.source_hash}); start a new run"
        )


def load_function(ref: Reference):
    """Import the module or file and return FUNCTION; every failure one line."""
    check_source(ref)
    if ref.is_file:
        path = Path(ref.target).resolve()
        module_name = f"suite_brought_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
        module = sys.modules.get(module_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as e:
                raise ValueError(f"{ref.target}: importing it raised {_one_line(e)}") from None
            sys.modules[module_name] = module
    else:
        try:
            module = importlib.import_module(ref.target)
        except Exception as e:
            raise ValueError(f"module {ref.target!r}: importing it raised {_one_line(e)}") from None
    function = getattr(module, ref.function, None)
    if not callable(function):
        raise ValueError(f"{ref.target} has no function {ref.function!r}")
    return function


def _one_line(e: BaseException) -> str:
    first = (str(e).strip().splitlines() or [""])[0][:200]
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


def slug(name: str) -> str:
    """A model name fit for a file name: a reference's slashes, colon and hash mark go."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
