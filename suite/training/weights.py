"""Weights read back from a Keras model, and Keras' own ``.weights.h5`` files (saved on
any backend) loaded with every failure named: the Keras side of ``suite.core.weights``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.core.errors import SuiteError


def model_weights(model) -> dict[str, np.ndarray]:
    import keras

    return {v.path: keras.ops.convert_to_numpy(v.value) for v in model.weights}


def _load_failure(message: str) -> str:
    """The telling line of a Keras/h5py loading error, e.g. the mismatched shapes."""
    import re

    shapes = re.search(
        r"variable\.shape=(\([^)]*\)), Received: value\.shape=\D*([(\[][^)\]]*[)\]])", message
    )
    layer = re.search(r"object <\w+ name=([\w.-]+)", message)
    if shapes:
        where = f"layer {layer.group(1)} " if layer else ""
        wanted, found = shapes.group(1), shapes.group(2).replace("[", "(").replace("]", ")")
        return f"{where}wants shape {wanted}, the file has {found}: another model's weights"
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    telling = [line for line in lines[1:] if "expected" in line.lower()]
    return (telling or lines or [""])[0][:200]


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def load_keras_weights(model, path: str | Path, flag: str = "--load-weights") -> None:
    """Load a Keras ``.weights.h5`` file (saved on any backend) into ``model``.

    Every variable is first set to NaN and must hold a number afterwards: Keras
    skips what it cannot match with only a warning in some cases, and a
    half-loaded model must not pass as loaded. Any problem is one SuiteError
    naming the flag and the file.
    """
    import warnings

    path = Path(path)
    where = f"{flag} {path}"
    if not path.is_file():
        raise SuiteError(f"{where}: no such file")
    with path.open("rb") as f:
        if f.read(8) != HDF5_SIGNATURE:
            raise SuiteError(f"{where}: not an HDF5 file (a Keras .weights.h5 file)")
    if not path.name.endswith(".weights.h5"):
        raise SuiteError(f"{where}: Keras reads weights only from files named *.weights.h5")
    for v in model.weights:
        v.assign(np.full(tuple(v.shape), np.nan, dtype=v.dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns, then raises, on a mismatch
        try:
            model.load_weights(path)
        except (OSError, ValueError, KeyError, TypeError) as e:
            reason = _load_failure(str(e)) or type(e).__name__
            raise SuiteError(
                f"{where}: cannot be loaded into model {model.name!r} ({reason})"
            ) from None
    unset = [p for p, w in model_weights(model).items() if np.isnan(w).any()]
    if unset:
        raise SuiteError(f"{where}: holds no values for {', '.join(unset)} of {model.name!r}")
