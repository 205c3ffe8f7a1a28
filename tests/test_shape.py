"""The shape the layers keep, read from the source: outside ``suite/frameworks/`` no
code tests a backend's name (it asks the backend's traits or its engine), and below
``suite/commands`` nothing parses flags (a child process gets a typed request)."""

import re
from pathlib import Path

SUITE = Path(__file__).resolve().parents[1] / "suite"
NAMES = "torch|jax|tensorflow"
# `backend == "torch"`, `b != "jax"`, `cfg.backend in ("torch", ...)`: a backend variable
# (an initialisation rule named "torch" is not one)
NAME_TEST = re.compile(
    rf"""\b(backend|b)\s*(==|!=)\s*["']({NAMES})["']"""
    rf"""|\b(backend|b)\s+(not\s+)?in\s*[(\[{{]\s*["']({NAMES})["']"""
)
ALLOWED: set[str] = set()  # choosing the framework happens in suite/frameworks/


def name_tests(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if NAME_TEST.search(line)]


def test_no_backend_name_is_tested_outside_the_frameworks():
    found = {}
    for path in SUITE.rglob("*.py"):
        rel = path.relative_to(SUITE.parent).as_posix()
        if rel.startswith("suite/frameworks/") or rel in ALLOWED:
            continue
        if hits := name_tests(path.read_text()):
            found[rel] = hits
    assert found == {}


def test_the_name_test_finds_what_it_must():
    assert name_tests('    if cfg.backend == "torch":') and name_tests("if b != 'jax':")
    assert name_tests('    ok = backend in ("torch", "jax")')
    assert name_tests('        if args.backend == "tensorflow" and not multi:')
    assert not name_tests('    if init == "torch":  # nn.Linear\'s rule, not a backend')
    assert not name_tests('    select_backend(backend)  # "torch" or "jax"')


def test_nothing_below_the_commands_parses_flags():
    below = [
        p.relative_to(SUITE.parent).as_posix()
        for p in SUITE.rglob("*.py")
        if not p.relative_to(SUITE).as_posix().startswith(("commands/", "cli.py"))
        and re.search(r"^\s*(import argparse|from argparse )", p.read_text(), re.M)
    ]
    assert below == []
