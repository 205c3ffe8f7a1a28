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
