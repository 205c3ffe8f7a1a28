"""The machine counters read around each chunk (``suite.core.noise``): real /proc
readings, and a busy process beside this one must show as others' CPU."""

import subprocess
import sys
import time

import pytest

from suite.core import noise

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux
def test_sample_reads_every_counter_and_the_probes():
    s = noise.sample(probes=True)
    assert s.steal is not None and s.busy is not None and s.busy > 0
    assert s.runq_wait is not None and s.invol >= 0
    assert s.probe_ms > 0 and s.copy_ms > 0
    assert noise.sample().probe_ms is None  # the probes only when asked


@linux
def test_a_busy_neighbour_shows_as_others_cpu_and_an_idle_one_does_not():
    idle_before = noise.sample()
    time.sleep(1.0)
    idle = noise.chunk_noise(idle_before, noise.sample())
    spin = "import time\nt = time.time()\nwhile time.time() - t < 1.5: pass"
    child = subprocess.Popen([sys.executable, "-c", spin])
    try:
        time.sleep(0.2)
        before = noise.sample()
        time.sleep(1.0)
        busy = noise.chunk_noise(before, noise.sample())
    finally:
        child.wait()
    assert busy["others_cpu_s"] >= 0.6  # must reject: a whole core spun beside us
    assert idle["others_cpu_s"] < busy["others_cpu_s"] - 0.4
    assert busy["steal_s"] >= 0 and busy["invol_switches"] >= 0


def test_chunk_noise_differences_by_hand():
    a = noise.MachineSample(1.0, 0.5, 10.0, 2.0, 0.1, 5, 2600.0, 1.2, 3.4)
    b = noise.MachineSample(3.0, 0.7, 14.0, 3.5, 0.4, 9, None, None, None)
    got = noise.chunk_noise(a, b)
    assert got == pytest.approx(
        {
            "steal_s": 0.2,
            "runq_wait_s": 0.3,
            "invol_switches": 4,
            "others_cpu_s": 2.5,  # 4 s of the machine's busy time, 1.5 of it ours
            "cpu_mhz": 2600.0,
            "probe_ms": 1.2,
            "copy_ms": 3.4,
        }
    )
    missing = noise.MachineSample(1.0, None, None, 2.0, None, 5, None, None, None)
    assert noise.chunk_noise(missing, missing)["steal_s"] is None


def test_the_copy_probe_never_times_the_buffers_first_touch(monkeypatch):
    """The first copy into fresh np.zeros pages pays their page faults: it runs untimed,
    so every timed copy probe copies into pages already mapped."""
    import numpy as np

    copies = []
    real = np.copyto
    monkeypatch.setattr(noise, "_BUFFERS", [])
    monkeypatch.setattr(np, "copyto", lambda dst, src: copies.append(1) or real(dst, src))
    noise.probe()
    assert len(copies) == 2  # the untimed first touch, then the timed copy
    noise.probe()
    assert len(copies) == 3
