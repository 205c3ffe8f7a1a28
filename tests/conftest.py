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
    from suite.data import load_mnist

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
