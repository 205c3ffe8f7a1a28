"""Peak GPU memory per cell: what each runtime can and cannot reset."""

import pytest


def test_jax_gpu_peak_is_its_own_only_where_it_rose(monkeypatch):
    """XLA's running peak cannot be reset: a cell that stayed below an earlier cell's
    peak must not be credited with it (None), one that rose above it gets its own."""
    runtime = pytest.importorskip("suite.frameworks.jax.runtime")
    peaks = iter([700, 700, 700, 900])
    monkeypatch.setattr(runtime, "_peak_bytes", lambda: next(peaks))
    runtime.reset_peak_memory("gpu")
    assert runtime.peak_device_memory("gpu") is None  # stayed at another cell's 700
    runtime.reset_peak_memory("gpu")
    assert runtime.peak_device_memory("gpu") == 900
    assert runtime.peak_device_memory("cpu") is None
