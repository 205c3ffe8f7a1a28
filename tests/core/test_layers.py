"""The floor plan, as tests: the CLI, the report and the core load no framework, and no
module of the suite imports itself back through others (no cycle)."""

import json
import subprocess
import sys

import pytest

FRAMEWORKS = ("keras", "torch", "jax", "tensorflow", "optax")


def loaded_frameworks(modules: list[str]) -> list[str]:
    """Import ``modules`` in a fresh interpreter; the frameworks that got loaded."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(f for f in {FRAMEWORKS!r} if f in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def suite_modules(prefixes: tuple[str, ...]) -> list[str]:
    import pkgutil

    import suite

    names = [m.name for m in pkgutil.walk_packages(suite.__path__, "suite.")]
    return [n for n in names if n.startswith(prefixes) and not n.endswith("__main__")]


def test_cli_report_and_core_load_no_framework():
    modules = ["suite.cli", *suite_modules(("suite.core", "suite.report", "suite.commands"))]
    assert len(modules) > 30
    assert loaded_frameworks(modules) == []


def test_the_probe_sees_a_framework_when_one_is_imported(backend):
    """The must-fail case: importing the training layer's cell runner and keras is seen."""
    assert "keras" in loaded_frameworks(["suite.cli", "keras"])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan): import cycles."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycles_finds_a_cycle_and_no_false_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle_among_the_suites_modules():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("suite", "models")
    edges = {
        m: {i for i in graph.find_modules_directly_imported_by(m) if i.startswith("suite")}
        for m in graph.modules
        if m.startswith("suite")
    }
    assert cycles(edges) == []


def test_the_declared_python_floor_is_the_one_lint_checks():
    """requires-python and vermin's target in `tox -e lint` name the same version."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["requires-python"]
    checked = re.search(r"vermin --target=(\d+\.\d+)-", (root / "tox.ini").read_text())
    assert checked and declared == f">={checked.group(1)}"
    assert f"Python ≥ {checked.group(1)}" in (root / "README.md").read_text()
