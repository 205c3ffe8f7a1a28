"""What the machine did during a timed chunk: host steal, this worker's run-queue wait
and involuntary context switches, other processes' CPU, the CPU clock, and two tiny
probes of the vCPU's speed (a fixed pure-Python loop, a fixed memory copy).

``sample()`` reads Linux's counters (``/proc/stat``, ``/proc/self/task/*/schedstat``,
``getrusage``) and runs the probes; ``chunk_noise(before, after, ...)`` turns two samples
around a chunk into the figures a ``ChunkRecord`` keeps. Both are taken outside the
chunk's clock: the probes run before the clock starts, the second sample after it
stops. Where a counter does not exist (not Linux, an older kernel) its figure is None.
No framework is imported.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROBE_LOOP = 50_000  # iterations of the pure-Python probe (about 1 ms on these VMs)
PROBE_BYTES = 16 * 2**20  # the memory probe copies this much (beyond the caches)
_BUFFERS: list = []  # the memory probe's two buffers, made on first use


@dataclass(frozen=True)
class MachineSample:
    """Counters at one instant; figures come from the difference of two."""

    wall: float  # time.perf_counter()
    steal: float | None  # CPU-seconds stolen by the host, all CPUs (/proc/stat)
    busy: float | None  # CPU-seconds spent running anything, all CPUs (/proc/stat)
    own_cpu: float  # this process's CPU-seconds, all threads
    runq_wait: float | None  # seconds this process's threads waited for a CPU
    invol: int  # involuntary context switches of this process
    mhz: float | None  # mean current clock of the CPUs, where the kernel gives one
    probe_ms: float | None  # the pure-Python probe, just now
    copy_ms: float | None  # the memory probe, just now


def _proc_stat() -> tuple[float | None, float | None]:
    """(steal, busy) CPU-seconds of the whole machine, from the first line of /proc/stat
    (user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ ticks;
    guest time is already inside user)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        ticks = [int(x) for x in fields]
    except (OSError, ValueError):
        return None, None
    hz = os.sysconf("SC_CLK_TCK")
    busy = ticks[0] + ticks[1] + ticks[2] + sum(ticks[5:7])
    steal = ticks[7] if len(ticks) > 7 else 0
    return steal / hz, busy / hz


def _runq_wait() -> float | None:
    """Nanoseconds every thread of this process spent runnable but not running (field 2
    of /proc/self/task/TID/schedstat), in seconds. A thread that ended in between drops
    out, so a difference can be slightly low."""
    try:
        tasks = list(Path("/proc/self/task").iterdir())
    except OSError:
        return None
    total, seen = 0, False
    for t in tasks:
        try:
            total += int((t / "schedstat").read_text().split()[1])
            seen = True
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9 if seen else None


def _mhz() -> float | None:
    """The mean current clock: cpufreq's scaling_cur_freq where it exists, else the
    "cpu MHz" lines of /proc/cpuinfo (on many VMs a fixed nominal figure)."""
    freqs = []
    for f in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_cur_freq"):
        try:
            freqs.append(int(f.read_text()) / 1e3)
        except (OSError, ValueError):
            pass
    if not freqs:
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
        freqs = [float(line.split(":")[1]) for line in text.splitlines() if "MHz" in line]
    return float(np.mean(freqs)) if freqs else None


def probe() -> tuple[float, float]:
    """(ms of a fixed pure-Python loop, ms of a fixed 16 MiB memory copy): the same work
    every time, so a slower vCPU or a busier memory bus shows as a longer probe."""
    start = time.perf_counter()
    x = 0
    for i in range(PROBE_LOOP):
        x += i
    loop = time.perf_counter() - start
    if not _BUFFERS:
        _BUFFERS.extend([np.ones(PROBE_BYTES // 8), np.zeros(PROBE_BYTES // 8)])
        # one untimed copy first: np.zeros' pages are mapped on first touch, and those
        # page faults made each worker's first copy probe 5-15x its median (2026-12-04)
        np.copyto(_BUFFERS[1], _BUFFERS[0])
    start = time.perf_counter()
    np.copyto(_BUFFERS[1], _BUFFERS[0])
    copy = time.perf_counter() - start
    return loop * 1e3, copy * 1e3


def sample(probes: bool = False) -> MachineSample:
    """The counters now; with ``probes``, the two probes first (outside any clock)."""
    loop, copy = probe() if probes else (None, None)
    steal, busy = _proc_stat()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return MachineSample(
        wall=time.perf_counter(),
        steal=steal,
        busy=busy,
        own_cpu=time.process_time(),
        runq_wait=_runq_wait(),
        invol=usage.ru_nivcsw,
        mhz=_mhz() if probes else None,
        probe_ms=loop,
        copy_ms=copy,
    )


def _delta(after, before) -> float | None:
    if after is None or before is None:
        return None
    return max(after - before, 0.0)


def chunk_noise(before: MachineSample, after: MachineSample) -> dict:
    """The ChunkRecord fields for a chunk between two samples: steal_s (the host's, all
    CPUs), runq_wait_s and invol_switches (this worker's), others_cpu_s (every other
    process: the machine's busy time less this one's CPU time, 0 at least), and from
    ``before`` the clock and the probes."""
    busy = _delta(after.busy, before.busy)
    own = max(after.own_cpu - before.own_cpu, 0.0)
    return {
        "steal_s": _delta(after.steal, before.steal),
        "runq_wait_s": _delta(after.runq_wait, before.runq_wait),
        "invol_switches": max(after.invol - before.invol, 0),
        "others_cpu_s": None if busy is None else max(busy - own, 0.0),
        "cpu_mhz": before.mhz,
        "probe_ms": before.probe_ms,
        "copy_ms": before.copy_ms,
    }
