"""The data-parallel check, run: one child per backend (``suite.checks.parallel.child``)
trains each model K SGD steps on one device and over N devices; ``judge`` compares."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from suite.checks.parallel.judge import judge
from suite.checks.requests import ReplicaRequest, write_request
from suite.core.children import python_module, run_child
from suite.core.hosts import cluster, processes, run_hosts


def run_check(
    backends,
    models,
    devices: int,
    steps: int,
    batch: int,
    fault: str,
    log,
    hosts: int = 1,
    port: int | None = None,
):
    """One child per backend, or with ``hosts`` > 1 one group of processes per backend
    standing for the hosts (``suite.core.hosts``); returns every (backend, model)
    check. ``devices`` is per host."""
    checks = []
    with tempfile.TemporaryDirectory(prefix="replicas-") as tmp:

        def child(backend: str) -> Path:
            out = Path(tmp) / f"{backend}.npz"
            n = processes(backend, hosts, devices)
            ports = list(cluster(n, port).ports) if hosts > 1 else []
            request = ReplicaRequest(devices, models, steps, batch, fault, str(out), hosts, ports)
            path = write_request(Path(tmp) / f"{backend}.json", request)
            cmd = python_module("suite.checks.parallel.child", backend, path)
            if hosts > 1:
                cmds = [[*cmd, str(i)] for i in range(n)]
                run_hosts(cmds, f"replica check on {backend} over {hosts} hosts")
            else:
                run_child(cmd, f"replica check on {backend}")
            return out

        # On one host the backends' children run at once (nothing here is timed; each
        # writes its own file); host groups one backend at a time, each on its own ports.
        with ThreadPoolExecutor(max_workers=len(backends) if hosts == 1 else 1) as pool:
            jobs = {b: pool.submit(child, b) for b in backends}
            outs = {b: job.result() for b, job in jobs.items()}  # the first failure first
        for backend in backends:
            with np.load(outs[backend]) as f:
                arrays = {k: f[k] for k in f.files}
            for m in models:
                part = {k.split("|", 1)[1]: v for k, v in arrays.items() if k.startswith(m + "|")}
                checks.append(judge(backend, m, hosts * devices, steps, part))
                log(f"  {backend} {m}: {checks[-1].verdict} ({checks[-1].worst_rel:.1e})")
    return checks
