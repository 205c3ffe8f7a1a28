"""``run --hosts H``: H processes on this machine standing for H hosts, each training
every cell in step with the others over 127.0.0.1 with its backend's multi-host engine;
host 0 also times, evaluates and writes the results.

The driver (``run_over_hosts``, in the command's process) checks the ports, writes one
typed request (``HostRequest``) and starts ``python -m suite.training.hosts REQUEST
INDEX`` once per process (``suite.core.hosts.run_hosts``): each chooses its backend,
pins itself to its share of the cores, joins the cluster (``suite.frameworks.join``)
and trains. No process goes back through the command line.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from suite.core.children import child_args, python_module
from suite.core.config import RunConfig
from suite.core.files import read_request, write_request
from suite.core.hosts import Cluster, Place, cluster, processes, run_hosts


@dataclass(frozen=True)
class HostRequest:
    configs: list[dict]  # every cell's RunConfig (asdict), validated by the driver
    run_dir: str  # host 0 writes the results there
    data: str | None  # --data as given
    save_weights: bool
    ports: list[int]  # one per process; [0]: the coordinator or the rendezvous
    threads: int = 0  # per process (--threads); 0: the cores shared evenly


def run_over_hosts(
    configs, run_dir: Path, data, save_weights: bool, port, threads: int, log
) -> None:
    """Train ``configs`` (one backend, ``cfg.hosts`` hosts) in one process per host (per
    rank where the backend runs one per device); SuiteError when a host fails."""
    first = configs[0]
    n = processes(first.backend, first.hosts, first.devices)
    c = cluster(n, port)
    ports = ",".join(map(str, c.ports))
    log(
        f"run: {first.hosts} hosts over {c.address()} ({n} processes, ports {ports}); "
        "host 0 times, evaluates and writes"
    )
    request = HostRequest([asdict(cfg) for cfg in configs], str(run_dir), data, save_weights,
                          list(c.ports), threads)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="suite-hosts-") as tmp:
        path = write_request(Path(tmp) / "hosts.json", request)
        cmds = [python_module("suite.training.hosts", path, i) for i in range(n)]
        run_hosts(cmds, f"run --hosts {first.hosts}", log=log)


def _start(cfg: RunConfig, place: Place, threads: int) -> dict:
    """This process on its share of the cores, joined to the others; the settings in
    effect. The cells keep the machine's threads, which the hosts share (as torch's ranks
    do on one host): their variant matches one process's, and the scaling section pairs
    them."""
    from suite import frameworks
    from suite.core.platform import traits, visible_cpus
    from suite.frameworks import select_backend
    from suite.training.probes import prepare

    n = place.cluster.processes
    threads = threads or max(1, len(visible_cpus()) // n)
    local = 1 if traits(cfg.backend).process_per_device else cfg.devices
    first_cpu = place.index * threads % len(visible_cpus())
    select_backend(cfg.backend, "cpu", threads, False, local, first_cpu=first_cpu)
    frameworks.join(cfg.backend, place)
    return {**prepare(replace(cfg, threads=threads)), "threads_per_host": threads}


def main(argv=None) -> int:
    from suite.core.data import load_mnist
    from suite.core.datasets import is_dataset
    from suite.training.runs import follow_cells, train_cells

    path, index = child_args("suite.training.hosts", argv, "REQUEST", "INDEX")
    r = read_request(HostRequest, path)
    configs = [RunConfig(**c) for c in r.configs]
    place = Place(int(index), Cluster(len(r.ports), tuple(r.ports)))
    applied = _start(configs[0], place, r.threads)
    mnist = load_mnist(None if is_dataset(r.data) else r.data, online=False)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if place.index > 0:
        return 0 if follow_cells(configs, mnist, applied, place, log) else 1
    results = train_cells(configs, mnist, Path(r.run_dir), applied, r.save_weights, place, log)
    return 1 if any(res.status == "failed" for res in results) else 0


if __name__ == "__main__":
    sys.exit(main())
