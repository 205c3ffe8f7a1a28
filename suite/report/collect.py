"""Reading result folders: every run, grads, sweep, rounds, recipe, portability and
precision file below them, each checked against its schema (``suite.core.schemas``). A
malformed or unknown file is named and skipped, never fatal; a folder with nothing
usable is one line naming every skipped file and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from suite.core.errors import SuiteError
from suite.core.files import read_json
from suite.core.results import load_result
from suite.core.schemas import (
    FITS,
    GRADS,
    PORTABILITY,
    PRECISION,
    RECIPE,
    ROUNDS,
    RUN,
    STARTUP,
    SWEEP,
    VERSION_SETS,
    check_shape,
    newest_recipes,
    portability_from_dict,
    recipe_result_from_dict,
)


@dataclass
class Collected:
    runs: list[dict] = field(default_factory=list)
    grads: list[dict] = field(default_factory=list)
    startup: list[dict] = field(default_factory=list)
    fits: list[dict] = field(default_factory=list)
    version_sets: list[dict] = field(default_factory=list)  # versions: the environments
    sweeps: list[dict] = field(default_factory=list)
    rounds: list[dict] = field(default_factory=list)  # compare's turn logs
    recipes: list = field(default_factory=list)  # RecipeResult, newest per key
    portability: list[dict] = field(default_factory=list)
    precision: list[dict] = field(default_factory=list)  # compare --precision records
    skipped: list[str] = field(default_factory=list)  # "path: reason"


def _read(path: Path, out: Collected) -> None:
    """File ``path`` into ``out`` by its schema; SuiteError naming what is wrong."""
    data = read_json(path)
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema == RUN:
        out.runs.append(load_result(path))
    elif schema == RECIPE:
        out.recipes.append(_named(path, recipe_result_from_dict, data))
    elif schema == PORTABILITY:
        out.portability.append(_named(path, portability_from_dict, data))
    elif schema in (GRADS, SWEEP, ROUNDS, PRECISION, STARTUP, FITS, VERSION_SETS):
        data = check_shape(path, data)
        kinds = {GRADS: out.grads, SWEEP: out.sweeps, ROUNDS: out.rounds,
                 PRECISION: out.precision, STARTUP: out.startup, FITS: out.fits,
                 VERSION_SETS: out.version_sets}  # fmt: skip
        kinds[schema].append(data)
    else:
        raise SuiteError(f"{path}: unknown schema {schema!r}")


def _named(path: Path, read, data: dict):
    try:
        return read(data)
    except SuiteError as e:
        raise SuiteError(f"{path}: {e}") from None


def collect(folders: list[Path]) -> Collected:
    """Every result file below the folders; SuiteError if there is nothing to report."""
    out = Collected()
    missing = [str(f) for f in folders if not Path(f).is_dir()]
    if missing:
        raise SuiteError(f"no such results folder: {', '.join(missing)}")
    for path in sorted(p for f in folders for p in Path(f).rglob("*.json")):
        if "benchmarks" in path.parts:
            continue  # pytest-benchmark's own files
        if path.name.startswith("rounds") or path.name.startswith("sweep-"):
            pass
        elif any(path.parent.glob("sweep-*.json")):
            continue  # a sweep's own mode cells: its sweep file summarises them
        try:
            _read(path, out)
        except SuiteError as e:
            out.skipped.append(str(e))
    out.recipes = newest_recipes(out.recipes)
    if not (out.runs or out.grads or out.sweeps or out.recipes or out.portability or out.startup):
        where = ", ".join(map(str, folders))
        if not out.skipped:
            raise SuiteError(
                f"nothing to report in {where}: no result files; run `python -m suite "
                "compare` first"
            )
        raise SuiteError(
            f"nothing to report in {where}: every result file was skipped "
            f"({len(out.skipped)}): " + "; ".join(out.skipped)
        )
    return out


def load_recipe_results(folders: list[Path]) -> list:
    """Every readable recipe result below the folders, newest per key; malformed files
    are left out (the report names them)."""
    found = []
    for path in sorted(p for f in folders for p in Path(f).rglob("recipe-*.json")):
        try:
            data = read_json(path)
            if isinstance(data, dict) and data.get("schema") == RECIPE:
                found.append(recipe_result_from_dict(data))
        except SuiteError:
            continue
    return newest_recipes(found)
