"""Data-parallel settings and the replica verdict (backend-neutral), and --devices 2
on the backend tox chose."""

import numpy as np
import pytest

from suite.checks.parallel.judge import REL_TOLERANCE, judge
from suite.core.config import RunConfig, validate
from suite.core.errors import SuiteError


def _arrays(parallel_offset=0.0):
    w0 = np.linspace(-1, 1, 20).reshape(4, 5).astype(np.float32)
    w1 = w0 - 0.01 * np.cos(w0)  # the single device moved every weight about 0.01
    return {"init/d/kernel": w0, "single/d/kernel": w1, "parallel/d/kernel": w1 + parallel_offset}


def test_replicas_equal_to_rounding_pass():
    c = judge("jax", "mlp", 2, 5, _arrays(1e-8))
    assert c.verdict == "pass" and c.worst_rel < REL_TOLERANCE and c.worst_variable == "d/kernel"


def test_replicas_off_by_a_fraction_of_the_update_fail():
    # a replica that trained on the wrong shard moves the weights by a share of the update
    c = judge("jax", "mlp", 2, 5, _arrays(2e-3))
    assert c.verdict == "FAIL" and c.worst_rel > 0.1


def _with_still_bias(bias_offset: float) -> dict:
    """A key bias the single device barely moved (zero gradient in exact arithmetic)."""
    b0 = np.zeros(4, np.float32)
    still = {"init/k/bias": b0, "single/k/bias": b0 + 1e-9}
    return {**_arrays(1e-8), **still, "parallel/k/bias": b0 + 1e-9 + bias_offset}


def test_a_still_variable_is_judged_on_the_models_scale():
    # its rounding noise (1e-9) is 100% of its own move but nothing on the model's (0.01)
    assert judge("jax", "vit", 2, 5, _with_still_bias(1e-9)).verdict == "pass"
    # it must still fail when it moves a sizeable share of the model's update
    assert judge("jax", "vit", 2, 5, _with_still_bias(1e-4)).verdict == "FAIL"


def test_per_shard_references_skip_each_replicas_moving_statistics():
    arrays = _arrays(1e-8)
    m0 = np.zeros(5, np.float32)
    arrays |= {"init/bn/moving_mean": m0, "single/bn/moving_mean": m0 + 0.1}
    arrays["parallel/bn/moving_mean"] = m0 + 0.2  # replica 0's own shard's statistics
    assert judge("torch", "resnet", 2, 5, arrays).verdict == "FAIL"
    arrays["meta/per_shard"] = np.asarray(True)
    c = judge("torch", "resnet", 2, 5, arrays)
    assert c.verdict == "pass" and c.per_shard
    arrays["parallel/d/kernel"] = arrays["single/d/kernel"] + 2e-3  # a real fault
    assert judge("torch", "resnet", 2, 5, arrays).verdict == "FAIL"


def test_incomplete_replica_weights_are_refused():
    arrays = _arrays()
    del arrays["parallel/d/kernel"]
    with pytest.raises(SuiteError, match="incomplete"):
        judge("torch", "cnn", 2, 5, arrays)


@pytest.mark.parametrize(
    "settings, words",
    [
        (dict(devices=0), "--devices 0: give at least 1"),
        (dict(devices=64), "--devices 64: this machine has"),
        (dict(devices=2, impl="native"), "needs --impl keras"),
        (dict(devices=2, batch_size=65), "must split into 2 equal shards"),
        (dict(backend="torch", devices=2, steps_per_execution=4), "--steps-per-execution 4"),
        (dict(backend="torch", devices=2, optimizer="rmsprop"), "'rmsprop' is not one of"),
        (
            dict(backend="jax", loop="torch-ddp"),
            "--loop torch-ddp",
        ),
        (dict(backend="tensorflow", devices=2, jit="on"), "Keras turns XLA off"),
    ],
)
def test_impossible_parallel_settings_are_refused(settings, words):
    cfg = RunConfig(**{"backend": "jax", "model": "mlp", **settings})
    if cfg.devices == 2 and len(__import__("os").sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 cores")
    with pytest.raises(SuiteError, match=words.replace("(", r"\(")):
        validate(cfg, check_install=False)


def test_torch_on_devices_uses_the_ddp_loop_and_keeps_old_cell_names():
    cfg = validate(RunConfig("torch", "mlp", devices=2), check_install=False)
    assert cfg.loop == "torch-ddp" and "-x2-" in cfg.cell_name()
    one = RunConfig("jax", "mlp")
    # the new fields at their defaults leave the cell's key as it was before they existed
    assert one.key() == RunConfig("jax", "mlp", devices=1, loop="fit").key()
