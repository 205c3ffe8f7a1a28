import gzip
import pickle
import subprocess
import sys

import numpy as np
import pytest

from suite.core import data
from suite.core.errors import SuiteError


def test_real_mnist_verifies(mnist):
    data.verify(mnist.arrays(), "fixture")
    assert mnist.x_train.shape == (60000, 28, 28)
    assert tuple(np.bincount(mnist.y_test)) == data.TEST_LABEL_COUNTS


def _arrays(mnist):
    return {k: v.copy() for k, v in mnist.arrays().items()}


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda a: a.pop("y_test"), "missing array"),
        (lambda a: a.update(x_test=a["x_test"][:-1]), "expected uint8"),
        (lambda a: a.update(y_train=a["y_train"].astype(np.int64)), "expected uint8"),
        (lambda a: a.update(y_test=np.sort(a["y_test"])[::-1].copy()), "SHA-256 of y_test"),
        (lambda a: a["y_train"].__setitem__(0, (a["y_train"][0] + 1) % 10), "label counts"),
        (lambda a: a["x_train"].__setitem__((7, 14, 14), a["x_train"][7, 14, 14] ^ 1), "x_train"),
    ],
)
def test_verify_rejects(mnist, corrupt, message):
    arrays = _arrays(mnist)
    corrupt(arrays)
    with pytest.raises(SuiteError, match=message):
        data.verify(arrays, "bad.npz")


def test_truncated_npz_is_rejected(small_mnist_npz, tmp_path):
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(small_mnist_npz.read_bytes()[:100_000])
    with pytest.raises(SuiteError, match="truncated.npz"):
        data.read_npz(bad)


def test_idx_folder_plain_and_gz(mnist, tmp_path):
    for i, (key, stem) in enumerate(data.IDX_NAMES.items()):
        a = mnist.arrays()[key]
        header = bytes([0, 0, 8, a.ndim]) + b"".join(d.to_bytes(4, "big") for d in a.shape)
        raw = header + a.tobytes()
        if i % 2:
            (tmp_path / (stem + ".gz")).write_bytes(gzip.compress(raw, compresslevel=1))
        else:
            (tmp_path / stem).write_bytes(raw)
    arrays = data.read_idx_dir(tmp_path)
    data.verify(arrays, str(tmp_path))  # raises on any difference
    for key, a in mnist.arrays().items():
        assert np.array_equal(arrays[key], a), key
    (tmp_path / (data.IDX_NAMES["x_test"])).write_bytes(b"\0\0\x08\x03")  # a torn file
    with pytest.raises(SuiteError):
        data.read_idx_dir(tmp_path)


def test_truncated_idx_is_rejected(mnist, tmp_path):
    a = mnist.y_test
    (tmp_path / "labels").write_bytes(
        bytes([0, 0, 8, 1]) + (10000).to_bytes(4, "big") + a[:50].tobytes()
    )
    with pytest.raises(SuiteError, match="header says"):
        data._read_idx(tmp_path / "labels")


def _hub_blob(pixels_scale=256.0, n=6):
    rng = np.random.default_rng(0)

    def part():
        return (
            (rng.integers(0, 256, (n, 784)) / pixels_scale).astype(np.float32),
            rng.integers(0, 10, n).astype(np.int64),
        )

    return gzip.compress(pickle.dumps((part(), part(), part()), protocol=4))


def test_hub_pickle_round_trips_to_uint8():
    arrays = data.read_hub_pickle(_hub_blob(), "tiny")
    assert arrays["x_train"].dtype == np.uint8 and arrays["x_train"].shape == (12, 28, 28)
    assert arrays["y_test"].dtype == np.uint8


def test_hub_pickle_rejects_inexact_pixels():
    with pytest.raises(SuiteError, match="multiples of 1/256"):
        data.read_hub_pickle(_hub_blob(pixels_scale=255.0), "tiny")


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (subprocess.call, (["touch", str(self.marker)],))


def test_hub_pickle_refuses_other_globals(tmp_path):
    marker = tmp_path / "pwned"
    blob = gzip.compress(pickle.dumps(((_Evil(marker), 1), (2, 3), (4, 5)), protocol=4))
    with pytest.raises(SuiteError, match="subprocess.call is not allowed"):
        data.read_hub_pickle(blob, "evil.pkl.gz")
    assert not marker.exists()


def test_corrupt_cache_is_derived_again(mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("SUITE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SUITE_MNIST", raising=False)
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setattr(data, "FETCHERS", [("fixture", lambda: _arrays(mnist))])
    messages = []
    loaded = data.load_mnist(log=messages.append)
    assert loaded.source == "fixture"
    assert any("cache rejected" in m for m in messages)
    data.verify(data.read_npz(tmp_path / "mnist.npz"), "rewritten cache")


def test_no_source_reachable(tmp_path, monkeypatch):
    monkeypatch.setenv("SUITE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SUITE_MNIST", raising=False)

    def fail():
        raise SuiteError("offline")

    monkeypatch.setattr(data, "FETCHERS", [("nowhere", fail)])
    with pytest.raises(SuiteError, match="no MNIST source worked"):
        data.load_mnist()
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_file_one_line_exit_2(mnist, tmp_path):
    bad = tmp_path / "mnist.npz"
    arrays = _arrays(mnist)
    arrays["y_test"] = arrays["y_test"][:-5]
    np.savez(bad, **arrays)
    cache = tmp_path / "cache"
    proc = subprocess.run(
        [sys.executable, "-m", "suite", "data", "--data", str(bad)],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "SUITE_CACHE_DIR": str(cache)},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and str(bad) in proc.stderr
    assert not cache.exists()


def test_preprocess_layouts(mnist):
    x = data.preprocess(mnist.x_test[:3])
    assert x.dtype == np.float32 and x.shape == (3, 28, 28, 1)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert np.array_equal(data.preprocess(mnist.x_test[:3], "channels_first")[:, 0], x[..., 0])
    assert np.array_equal(x[..., 0] * 255, mnist.x_test[:3].astype(np.float32))


def test_epoch_batches_seeded_and_full():
    a = data.epoch_batches(1000, 128, seed=1, epoch=0)
    assert a.shape == (7, 128)
    assert np.array_equal(a, data.epoch_batches(1000, 128, seed=1, epoch=0))
    assert not np.array_equal(a, data.epoch_batches(1000, 128, seed=1, epoch=1))
    assert not np.array_equal(a, data.epoch_batches(1000, 128, seed=2, epoch=0))
    assert len(set(a.ravel())) == a.size


def _npz_with(tmp_path, name, arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_npz_header_claiming_terabytes_is_refused_before_allocating(tmp_path):
    import io as _io

    buf = _io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "|u1", "fortran_order": False, "shape": (2**43,)}
    )
    path = tmp_path / "huge.npz"
    import zipfile as _zip

    with _zip.ZipFile(path, "w") as z:
        z.writestr("x_train.npy", buf.getvalue() + b"\0" * 16)
    with pytest.raises(SuiteError, match="huge.npz.*claims 8,796,093,022,208 bytes"):
        data.read_npz(path)


def test_corrupt_deflate_stream_in_npz_is_one_error(mnist, tmp_path):
    path = tmp_path / "deflate.npz"
    np.savez_compressed(path, y_test=mnist.y_test)
    blob = bytearray(path.read_bytes())
    start = blob.index(b"y_test.npy") + len("y_test.npy") + 200
    blob[start : start + 64] = bytes(64)  # zero a run inside the compressed data
    path.write_bytes(bytes(blob))
    with pytest.raises(SuiteError, match="deflate.npz"):
        data.read_npz(path)


def test_corrupt_gz_idx_is_one_error(mnist, tmp_path):
    raw = bytes([0, 0, 8, 1]) + (10000).to_bytes(4, "big") + mnist.y_test.tobytes()
    blob = bytearray(gzip.compress(raw))
    blob[40:80] = bytes(40)
    (tmp_path / "labels.gz").write_bytes(bytes(blob))
    with pytest.raises(SuiteError, match="labels.gz"):
        data._read_idx(tmp_path / "labels.gz")


def test_hub_pickle_of_strings_is_one_error():
    strings = (["a"] * 4, ["b"] * 4)
    blob = gzip.compress(pickle.dumps((strings, strings, strings), protocol=4))
    with pytest.raises(SuiteError, match="strings.pkl.gz: not a valid MNIST pickle"):
        data.read_hub_pickle(blob, "strings.pkl.gz")
    corrupt = bytearray(_hub_blob())
    corrupt[30:60] = bytes(30)
    with pytest.raises(SuiteError, match="not a valid MNIST pickle"):
        data.read_hub_pickle(bytes(corrupt), "corrupt.pkl.gz")


def test_corrupt_deflate_cache_is_derived_again(mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("SUITE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SUITE_MNIST", raising=False)
    np.savez_compressed(tmp_path / "mnist.npz", **mnist.arrays())
    blob = bytearray((tmp_path / "mnist.npz").read_bytes())
    blob[5000:5100] = bytes(100)
    (tmp_path / "mnist.npz").write_bytes(bytes(blob))
    monkeypatch.setattr(data, "FETCHERS", [("fixture", lambda: _arrays(mnist))])
    messages = []
    assert data.load_mnist(log=messages.append).source == "fixture"
    assert any("cache rejected" in m for m in messages)
