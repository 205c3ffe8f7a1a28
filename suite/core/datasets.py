"""Data other than MNIST, for a model a user brings: ``--data npz:PATH`` (the user's own
arrays) or ``--data synthetic:SHAPE:CLASSES[:N]`` (random inputs, for speed alone).

An npz holds ``x_train``, ``y_train``, ``x_test`` and ``y_test``; it is read with
``allow_pickle=False`` and checked whole before anything runs: the four keys, numeric
arrays, one example shape, lengths that agree, finite values, integer labels from 0.
Synthetic data is the same bytes on every backend and seed (a fixed generator); its
accuracy means nothing and is reported as not applicable. Pure numpy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite.core.errors import SuiteError

KEYS = ("x_train", "y_train", "x_test", "y_test")
PREFIXES = ("npz:", "synthetic:")
SYNTHETIC_TRAIN = 12_800  # default N: 100 batches of 128
SYNTHETIC_TEST_SHARE = 10  # test set: N / 10 examples
SYNTHETIC_SEED = 20_261_202


@dataclass(frozen=True)
class Dataset:
    spec: str  # as the user typed it after --data
    x_train: np.ndarray  # float32 (N, *example_shape)
    y_train: np.ndarray  # int32 (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int
    has_accuracy: bool  # False for synthetic data: labels carry no signal

    @property
    def example_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def is_dataset(text: str | None) -> bool:
    """A --data value naming a dataset (not an MNIST source)."""
    return bool(text) and text.startswith(PREFIXES)


def _bad(spec: str, what: str) -> SuiteError:
    return SuiteError(f"--data {spec}: {what}")


def parse_synthetic(spec: str) -> tuple[tuple[int, ...], int, int]:
    """``synthetic:28x28x1:10[:N]`` -> (example shape, classes, N)."""
    m = re.fullmatch(r"synthetic:(\d+(?:x\d+)*):(\d+)(?::(\d+))?", spec)
    if not m:
        raise _bad(spec, "not synthetic:SHAPE:CLASSES[:N] (e.g. synthetic:32x32x3:10:5000)")
    shape = tuple(int(d) for d in m.group(1).split("x"))
    classes, n = int(m.group(2)), int(m.group(3) or SYNTHETIC_TRAIN)
    if 0 in shape or classes < 2 or n < 1:
        raise _bad(spec, "every dimension and N must be at least 1, and CLASSES at least 2")
    if int(np.prod(shape)) * n > 2**31:
        raise _bad(spec, f"{n} examples of {shape} is over 2**31 values; give a smaller N")
    return shape, classes, n


def _synthetic(spec: str) -> Dataset:
    shape, classes, n = parse_synthetic(spec)
    rng = np.random.default_rng(SYNTHETIC_SEED)
    test = max(1, n // SYNTHETIC_TEST_SHARE)
    x = rng.standard_normal((n + test, *shape), dtype=np.float32)
    y = rng.integers(0, classes, n + test).astype(np.int32)
    return Dataset(spec, x[:n], y[:n], x[n:], y[n:], classes, has_accuracy=False)


def _npz(spec: str) -> Dataset:
    path = Path(spec[len("npz:") :])
    if not path.is_file():
        raise _bad(spec, "no such file")
    with path.open("rb") as f:
        if f.read(4) != b"PK\x03\x04":  # every npz is a zip archive
            raise _bad(spec, "not a readable npz (not a zip archive: save it with numpy.savez)")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in KEYS if k not in f.files]
            if missing:
                raise _bad(spec, f"lacks {', '.join(missing)} (it needs {', '.join(KEYS)})")
            arrays = {k: f[k] for k in KEYS}
    except SuiteError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise _bad(spec, "holds object arrays (pickled Python objects); save numbers") from None
        raise _bad(spec, f"not a readable npz ({e})") from None
    except (OSError, EOFError) as e:
        raise _bad(spec, f"not a readable npz ({e})") from None
    return _checked(spec, arrays)


def _checked(spec: str, a: dict) -> Dataset:
    for k in KEYS:
        if a[k].dtype.kind not in "biuf":
            raise _bad(spec, f"{k} has dtype {a[k].dtype}; numbers only")
    for part in ("train", "test"):
        x, y = a[f"x_{part}"], a[f"y_{part}"]
        if x.ndim < 2 or len(x) == 0:
            raise _bad(spec, f"x_{part} has shape {x.shape}: want (examples, ...), not empty")
        if y.shape != (len(x),):
            raise _bad(
                spec, f"y_{part} has shape {y.shape}: want one label per x_{part} row ({len(x)})"
            )
        if not np.isfinite(x).all():
            raise _bad(spec, f"x_{part} holds NaN or infinite values")
        if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
            raise _bad(spec, f"y_{part} holds labels that are not whole numbers")
        if (y < 0).any():
            raise _bad(spec, f"y_{part} holds negative labels")
    if a["x_train"].shape[1:] != a["x_test"].shape[1:]:
        raise _bad(
            spec,
            f"x_train examples are {a['x_train'].shape[1:]}, x_test's "
            f"{a['x_test'].shape[1:]}: one shape for both",
        )
    y_train, y_test = a["y_train"].astype(np.int64), a["y_test"].astype(np.int64)
    classes = int(max(y_train.max(), y_test.max())) + 1
    return Dataset(
        spec,
        a["x_train"].astype(np.float32),
        y_train.astype(np.int32),
        a["x_test"].astype(np.float32),
        y_test.astype(np.int32),
        max(classes, 2),
        has_accuracy=True,
    )


_CACHE: dict[str, Dataset] = {}


def load_dataset(spec: str) -> Dataset:
    """The dataset a --data value names, checked; every problem one line naming --data."""
    if spec not in _CACHE:
        if spec.startswith("npz:"):
            _CACHE[spec] = _npz(spec)
        elif spec.startswith("synthetic:"):
            _CACHE[spec] = _synthetic(spec)
        else:
            raise _bad(spec, f"not a dataset (start it with {' or '.join(PREFIXES)})")
    return _CACHE[spec]
