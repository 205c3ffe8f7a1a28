"""The backend contract, checked without importing any framework: each per-backend
module (and each native module) defines every declared function with the declared
parameters, read from its source with ast."""

import ast
from pathlib import Path

import pytest

from suite.core.platform import BACKENDS
from suite.frameworks import CONTRACT, NATIVE_CONTRACT, NATIVE_METHODS

SUITE = Path(__file__).resolve().parents[2] / "suite"


def _params(fn: ast.FunctionDef) -> tuple[str, ...]:
    return tuple(a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs)


def contract_problems(source: str, contract: dict, methods: dict | None = None) -> list[str]:
    """What ``source`` lacks or spells differently; empty when it fulfils the contract."""
    tree = ast.parse(source)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    problems = []
    for name, params in contract.items():
        if name not in functions:
            problems.append(f"missing function {name}")
        elif _params(functions[name]) != params:
            problems.append(f"{name}{_params(functions[name])} differs from {name}{params}")
    if methods:
        built = functions.get("build")
        returned = (
            built.returns.id if built is not None and isinstance(built.returns, ast.Name) else None
        )
        cls = next(
            (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == returned), None
        )
        if cls is None:
            return problems + [f"build() returns no class defined here ({returned!r})"]
        defs = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
        for name, params in methods.items():
            if name not in defs:
                problems.append(f"missing method {cls.name}.{name}")
            elif _params(defs[name]) != params:
                problems.append(f"{cls.name}.{name}{_params(defs[name])} differs from {params}")
        if not any(isinstance(n, ast.Attribute) and n.attr == "compiled" for n in ast.walk(cls)):
            problems.append(f"{cls.name} never sets .compiled")
    return problems


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_module_fulfils_the_contract(backend):
    source = (SUITE / "frameworks" / backend / "runtime.py").read_text()
    assert contract_problems(source, CONTRACT) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_native_module_fulfils_the_contract(backend):
    source = (SUITE / "frameworks" / backend / "native.py").read_text()
    assert contract_problems(source, NATIVE_CONTRACT, NATIVE_METHODS) == []


def test_a_removed_or_changed_function_is_caught():
    source = (SUITE / "frameworks" / "jax" / "runtime.py").read_text()
    tree = ast.parse(source)
    tree.body = [n for n in tree.body if getattr(n, "name", None) != "drain"]
    assert contract_problems(ast.unparse(tree), CONTRACT) == ["missing function drain"]
    renamed = source.replace("def read_loss(out)", "def read_loss(output)")
    assert contract_problems(renamed, CONTRACT) == [
        "read_loss('output',) differs from read_loss('out',)"
    ]
    native = (SUITE / "frameworks" / "torch" / "native.py").read_text()
    broken = native.replace("def to_batch(", "def to_tensors(")
    assert contract_problems(broken, NATIVE_CONTRACT, NATIVE_METHODS) == [
        "missing method TorchModel.to_batch"
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_data_parallel_engine_fulfils_its_contract(backend):
    from suite.frameworks import ENGINE_CONTRACT

    source = (SUITE / "frameworks" / backend / "parallel.py").read_text()
    assert contract_problems(source, ENGINE_CONTRACT) == []
    broken = source.replace("def engine_info(", "def describe(")
    assert contract_problems(broken, ENGINE_CONTRACT) == ["missing function engine_info"]
