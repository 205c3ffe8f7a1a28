"""Shared fixtures: real MNIST (loaded once, verified) and small slices of it.

TF32 is turned off for any GPU run, as keras' own test conftest does, to get
full float32 accuracy.
"""

import os

import pytest

os.environ.setdefault("NVIDIA_TF32_OVERRIDE", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def mnist():
    from suite.core.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def small_mnist_npz(mnist, tmp_path_factory):
    """The verified arrays written to a fresh npz, to corrupt in tests."""
    import numpy as np

    path = tmp_path_factory.mktemp("data") / "mnist.npz"
    np.savez(path, **mnist.arrays())
    return path


@pytest.fixture
def backend():
    """The backend this test process runs (tox sets KERAS_BACKEND)."""
    import keras

    return keras.backend.backend()


@pytest.fixture
def door_backend():
    """The backend to name in a test of input refused at the door, before any framework
    loads: the answer is the same under every backend, so in a neutral module such a
    test runs once (in tox's jax env), unlike one that asks for ``backend``."""
    import keras

    return keras.backend.backend()


@pytest.fixture
def small_config(backend):
    """Builds a validated RunConfig for a short real run on the backend under test:
    ``small_config(model="cnn", epochs=2)``; the *-gpu tox envs set SUITE_DEVICE=gpu."""
    from suite.core.config import RunConfig, validate

    def build(**settings):
        base = dict(
            backend=backend,
            device=os.environ.get("SUITE_DEVICE", "cpu"),
            model="mlp",
            epochs=1,
            batch_size=64,
            train_examples=512,
            test_examples=500,
            warmup_steps=2,
            inference_rounds=1,  # one short turn of inference timing, as a cell ends
            inference_calls=10,
        )
        return validate(RunConfig(**{**base, **settings}))

    return build


# Modules whose tests do not depend on the backend tox chose: tox runs them once, in its
# jax env, not three times (its torch and tensorflow envs deselect the `neutral` mark). A
# test in them that asks for a backend's fixture still runs under every backend.
NEUTRAL_MODULES = {
    "tests/checks/test_grads.py", "tests/checks/test_grads_bounds.py",
    "tests/commands/test_args.py", "tests/commands/test_cli.py", "tests/measure/test_repeats.py",
    "tests/commands/test_cli_run.py",
    "tests/core/test_children.py", "tests/core/test_chunks.py", "tests/core/test_coverage.py",
    "tests/core/test_data.py", "tests/core/test_datasets.py", "tests/core/test_files.py",
    "tests/core/test_fingerprint.py", "tests/core/test_hosts.py", "tests/core/test_noise.py",
    "tests/core/test_rounding.py", "tests/core/test_schemas.py", "tests/core/test_stats.py",
    "tests/core/test_tasks.py", "tests/measure/test_compare.py", "tests/core/test_startup.py",
    "tests/measure/test_startup_command.py", "tests/report/test_startup_section.py",
    "tests/report/test_collect.py", "tests/report/test_compat.py", "tests/report/test_diff.py",
    "tests/report/test_export.py", "tests/report/test_figures.py", "tests/report/test_layout.py",
    "tests/report/test_machine.py", "tests/report/test_render.py", "tests/report/test_serving.py",
    "tests/report/test_tables.py", "tests/report/test_verdict.py", "tests/report/test_aa.py",
    "tests/report/test_sample.py", "tests/report/test_merge.py", "tests/report/test_batches.py",
    "tests/rounds/test_coordinator.py", "tests/test_shape.py", "tests/core/test_environments.py",
    "tests/report/test_versions.py", "tests/measure/test_versions_command.py",
    "tests/measure/test_versions_envs.py", "tests/training/test_clock.py",
}  # fmt: skip
BACKEND_FIXTURES = {"backend", "small_config"}


def pytest_collection_modifyitems(config, items):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for item in items:
        module = Path(str(item.fspath)).resolve().relative_to(root).as_posix()
        if module in NEUTRAL_MODULES and not BACKEND_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.neutral)
