"""--data npz:PATH and synthetic:SHAPE:CLASSES[:N]: read, checked whole, one line per
problem; synthetic data the same bytes every time."""

import numpy as np
import pytest

from suite.core.datasets import is_dataset, load_dataset, parse_synthetic
from suite.core.errors import SuiteError


def arrays(n=20, m=5, shape=(6, 6)):
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.random((n, *shape), dtype=np.float32),
        "y_train": rng.integers(0, 3, n),
        "x_test": rng.random((m, *shape), dtype=np.float32),
        "y_test": rng.integers(0, 3, m),
    }


def npz(tmp_path, **change):
    a = {**arrays(), **change}
    path = tmp_path / "data.npz"
    np.savez(path, **{k: v for k, v in a.items() if v is not None})
    return f"npz:{path}"


def test_a_good_npz_is_read_with_its_classes(tmp_path):
    d = load_dataset(npz(tmp_path))
    assert d.example_shape == (6, 6) and d.classes == 3 and d.has_accuracy
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int32


@pytest.mark.parametrize(
    "change, message",
    [
        ({"y_test": None}, "lacks y_test"),
        ({"y_train": np.zeros(19, int)}, "y_train has shape \\(19,\\): want one label per"),
        ({"x_train": np.full((20, 6, 6), np.nan, np.float32)}, "x_train holds NaN or infinite"),
        ({"x_test": np.full((5, 6, 6), np.inf, np.float32)}, "x_test holds NaN or infinite"),
        ({"y_train": -np.ones(20, int)}, "negative labels"),
        ({"y_test": np.full(5, 0.5)}, "not whole numbers"),
        ({"x_test": np.zeros((5, 7, 7), np.float32)}, "one shape for both"),
        ({"x_train": np.array(["a"] * 20)}, "dtype <U1; numbers only"),
    ],
)
def test_bad_npz_is_one_line(tmp_path, change, message):
    with pytest.raises(SuiteError, match=message):
        load_dataset(npz(tmp_path, **change))


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, **{**arrays(), "y_train": np.array([object()] * 20, dtype=object)})
    with pytest.raises(SuiteError, match="object arrays"):
        load_dataset(f"npz:{path}")


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(SuiteError, match="no such file"):
        load_dataset(f"npz:{tmp_path / 'none.npz'}")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SuiteError, match="not a readable npz"):
        load_dataset(f"npz:{bad}")


def test_synthetic_spec():
    assert parse_synthetic("synthetic:32x32x3:10") == ((32, 32, 3), 10, 12_800)
    assert parse_synthetic("synthetic:784:5:100") == ((784,), 5, 100)
    d = load_dataset("synthetic:4x4:3:50")
    again = load_dataset("synthetic:4x4:3:50")
    assert d.x_train.shape == (50, 4, 4) and d.x_test.shape == (5, 4, 4)
    assert not d.has_accuracy and np.array_equal(d.x_train, again.x_train)
    assert is_dataset("synthetic:1:2") and is_dataset("npz:x") and not is_dataset("mnist.npz")


@pytest.mark.parametrize(
    "spec",
    ["synthetic:", "synthetic:32x32", "synthetic:axb:10", "synthetic:0x4:10", "synthetic:4:1"],
)
def test_bad_synthetic_specs(spec):
    with pytest.raises(SuiteError, match=f"--data {spec}"):
        load_dataset(spec)
