"""compare --tuned: the best mode per backend and model from sweep files, the tuned
twins of the default cells, and refusing a folder without sweeps."""

import json
from dataclasses import asdict

import pytest

from suite.core.config import RunConfig, validate, variant_text
from suite.core.errors import SuiteError
from suite.core.schemas import SWEEP, SWEEP_VERSION
from suite.measure.tuned import best_modes, read_sweeps, tuned_cells


def variant(cfg) -> str:
    """The settings a cell is compared and pooled by (``variant_text``)."""
    return variant_text(asdict(cfg))


def sweep(backend, model, best, modes=("default", "jit=on", "jit=off", "steps_per_execution=8")):
    settings = {
        "default": {},
        "jit=on": {"jit": "on"},
        "jit=off": {"jit": "off"},
        "steps_per_execution=8": {"steps_per_execution": 8},
    }
    return {
        "schema": SWEEP,
        "schema_version": SWEEP_VERSION,
        "backend": backend,
        "model": model,
        "modes": [
            {"mode": m, "settings": settings[m], "impl": "keras", "status": "ok"} for m in modes
        ],
        "best_keras": best,
        "margin": None,
        "overhead": None,
    }


def cell(backend, model="mlp", **kw):
    return validate(RunConfig(backend=backend, model=model, **kw), check_install=False)


def test_best_modes_and_tuned_twins():
    # (JAX's jit=on is its default on a CPU: test_a_mode_that_resolves_to_the_default_...)
    best = best_modes(
        [
            sweep("jax", "mlp", "jit=off"),
            sweep("tensorflow", "mlp", "steps_per_execution=8"),
            sweep("torch", "mlp", "default"),
            sweep("jax", "cnn", None),  # no mode trained correctly: left out
        ]
    )
    assert best == {
        ("jax", "mlp"): ("jit=off", {"jit": "off"}),
        ("tensorflow", "mlp"): ("steps_per_execution=8", {"steps_per_execution": 8}),
        ("torch", "mlp"): ("default", {}),
    }
    cells = [cell(b, seed=s) for b in ("jax", "tensorflow", "torch") for s in (0, 1)]
    cells.append(cell("jax", dtype_policy="mixed_bfloat16"))  # not a default cell
    twins = tuned_cells(cells, best)
    assert [(c.backend, c.seed, c.tuned) for c in twins] == [
        ("jax", 0, "jit=off"),
        ("jax", 1, "jit=off"),
        ("tensorflow", 0, "steps_per_execution=8"),
        ("tensorflow", 1, "steps_per_execution=8"),
    ]  # torch's best is its default: its default cells stand for it
    assert twins[0].jit == "off" and twins[2].steps_per_execution == 8
    assert twins[0].participant() == "jax-tuned" and cells[0].participant() == "jax"
    assert "tuned=jit=off" in variant(twins[0]) and twins[0].cell_name() != cells[0].cell_name()


def test_newest_sweep_of_a_pair_wins():
    best = best_modes([sweep("jax", "mlp", "jit=on"), sweep("jax", "mlp", "default")])
    assert best[("jax", "mlp")] == ("default", {})


def test_a_folder_without_sweeps_is_refused(tmp_path):
    with pytest.raises(SuiteError, match="no such folder"):
        read_sweeps(tmp_path / "missing")
    (tmp_path / "sweep-jax-mlp.json").write_text("{ not json")
    (tmp_path / "other.json").write_text(json.dumps(sweep("jax", "mlp", "jit=on")))
    with pytest.raises(SuiteError, match="no sweep results"):
        read_sweeps(tmp_path)  # a broken sweep file and a sweep under another name
    (tmp_path / "run" / "sweep-jax-mlp.json").parent.mkdir()
    (tmp_path / "run" / "sweep-jax-mlp.json").write_text(json.dumps(sweep("jax", "mlp", "jit=on")))
    assert len(read_sweeps(tmp_path)) == 1


def test_a_mode_that_resolves_to_the_default_is_the_default():
    """On a CPU, TensorFlow's jit=off and JAX's jit=on are the programs Keras' "auto"
    already runs: no tuned twin of them, and they are called the default."""
    from suite.core.config import resolved_jit, same_as_default
    from suite.measure.tuned import best_modes

    assert resolved_jit("tensorflow", "cpu", "auto") is False
    assert resolved_jit("tensorflow", "gpu", "auto") is True
    assert (
        resolved_jit("jax", "cpu", "auto") is True and resolved_jit("torch", "cpu", "auto") is False
    )
    assert same_as_default("tensorflow", "cpu", {"jit": "off"})
    assert same_as_default("jax", "cpu", {"jit": "on"})
    assert not same_as_default("tensorflow", "gpu", {"jit": "off"})  # must differ on a GPU
    assert not same_as_default("jax", "cpu", {"jit": "off"})
    assert not same_as_default("tensorflow", "cpu", {"jit": "off", "steps_per_execution": 8})

    def sweep(backend, best):
        rows = [{"mode": "default", "settings": {}}, {"mode": best, "settings": {"jit": best[4:]}}]
        return {"backend": backend, "model": "cnn", "best_keras": best, "modes": rows}

    best = best_modes([sweep("tensorflow", "jit=off"), sweep("jax", "jit=off")])
    assert best[("tensorflow", "cnn")] == ("default", {})
    assert best[("jax", "cnn")] == ("jit=off", {"jit": "off"})
