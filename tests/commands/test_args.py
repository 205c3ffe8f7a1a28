"""Defaults once: the CLI's defaults and choices come from RunConfig, BACKENDS and MODELS."""

import argparse
from dataclasses import MISSING, fields

import pytest

from models import MODELS
from suite.cli import build_parser
from suite.commands import args as shared
from suite.core.config import RunConfig
from suite.core.errors import SuiteError
from suite.core.platform import BACKENDS


def _defaults(command: str) -> dict:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    parser = sub.choices[command]
    return {a.dest: a.default for a in parser._actions if a.dest != "help"}


def test_run_flags_default_to_runconfig():
    run, checked = _defaults("run"), []
    for f in fields(RunConfig):
        name = {"learning_rate": "lr", "seed": "seeds"}.get(f.name, f.name)
        if name in run and f.default not in (None, MISSING) and f.name != "allow_tf32":
            expected = [f.default] if name == "seeds" else f.default
            assert run[name] == expected, name
            checked.append(name)
    assert len(checked) >= 12, checked  # the check looked at every defaulted flag


def test_lists_come_from_the_registries():
    assert _defaults("compare")["backends"] == list(BACKENDS)
    assert _defaults("compare")["models"] == list(MODELS)


def test_a_default_written_twice_would_be_caught(monkeypatch):
    """The must-fail case: the same check against a parser whose default drifted."""
    monkeypatch.setitem(shared.DEFAULTS, "threads", 4)
    assert _defaults("run")["threads"] == 4 != RunConfig.__dataclass_fields__["threads"].default


def test_names_and_seeds_are_checked():
    with pytest.raises(SuiteError, match="unknown backend 'mxnet'"):
        shared.check_names("backend", ["mxnet"], BACKENDS)
    with pytest.raises(SuiteError, match="give each seed once"):
        shared.check_seeds([1, 1])
    with pytest.raises(SuiteError, match="--train-examples 0: choose 1..60000"):
        shared.check_train_examples(0)
