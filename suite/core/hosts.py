"""Several "hosts" on this machine: H processes, one per host, started together, talking
over 127.0.0.1 as each framework's multi-host engine would over a network (``--hosts``).

Ports are found free by binding port 0 on the loopback interface and released just
before the hosts start (a port taken in between fails the start with the framework's
own message). Each host runs in a process group of its own, so that stopping it stops
whatever it started too (torch's spawned ranks). Hosts get /dev/null for stdin: torch's
hosts hung here when they shared ours (under tox) or ran in a session of their own
(setsid); the cause was not pinned down. When one host fails, the others are stopped
(they would wait for it at their next collective until a timeout); on Ctrl-C or
SIGTERM every host is stopped; a driver killed outright takes its hosts with it
(Linux's parent-death signal); no process is left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass

from suite.core.children import quiet
from suite.core.errors import SuiteError
from suite.core.platform import child_env, traits

LOOPBACK = "127.0.0.1"
STOP_GRACE_S = 5.0  # SIGTERM, then this long, then SIGKILL
LEAVE_GRACE_S = 30.0  # the other hosts' time to finish once host 0 has


@dataclass(frozen=True)
class Cluster:
    """What every process of a cluster is told: how many processes (one per host, or per
    rank where a backend runs one per device), and the loopback ports: ``ports[0]`` is the
    coordinator's (JAX) or the rendezvous (torch); TensorFlow gives each worker
    ``ports[i]``. Which one a process is: its ``Place``."""

    processes: int
    ports: tuple[int, ...]

    def address(self, i: int = 0) -> str:
        return f"{LOOPBACK}:{self.ports[i]}"

    def addresses(self) -> str:
        """Every process's address, comma-separated, process 0's first (Keras'
        ``job_addresses``)."""
        return ",".join(self.address(i) for i in range(self.processes))


def processes(backend: str, hosts: int, devices: int) -> int:
    """How many processes stand for ``hosts`` hosts of ``devices`` devices each: JAX
    and TensorFlow run one per host with its devices inside; torch one per rank, as
    ``torchrun --nnodes H --nproc-per-node D`` starts them."""
    return hosts * devices if traits(backend).process_per_device else hosts


def free_ports(n: int) -> tuple[int, ...]:
    """``n`` distinct ports free on the loopback interface now."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return tuple(s.getsockname()[1] for s in socks)
    finally:
        for s in socks:
            s.close()


def check_port_free(port: int, flag: str = "--port") -> None:
    """SuiteError (exit 2) naming ``flag`` when ``port`` cannot be bound on loopback."""
    if not 1 <= port <= 65535:
        raise SuiteError(f"{flag} {port}: a port is 1..65535")
    with socket.socket() as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError as e:
            raise SuiteError(f"{flag} {port}: in use on {LOOPBACK} ({e.strerror})") from None


def cluster(processes: int, port: int | None = None) -> Cluster:
    """The ports for ``processes`` processes: from ``port`` up when given (each checked
    free), else free ones."""
    if port is None:
        return Cluster(processes, free_ports(processes))
    ports = tuple(range(port, port + processes))
    for p in ports:
        check_port_free(p)
    return Cluster(processes, ports)


def _stop(proc: subprocess.Popen) -> None:
    """Stop a host and everything in its process group: SIGTERM, a grace period, SIGKILL."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_hosts(
    cmds: list[list[str]],
    what: str,
    log=None,
    envs: list[dict] | None = None,
    grace_s: float = LEAVE_GRACE_S,
) -> None:
    """Start one process per command (host i runs ``cmds[i]`` in ``envs[i]``, default
    the suite's child environment) and wait for all. Host 0's stderr streams to
    ``log`` as it comes; the others' is kept for their errors.
    The first host to fail stops the others and raises SuiteError naming it and its
    last line; Ctrl-C stops them all and is raised again. Once host 0 (which times,
    evaluates and writes) has finished well, the others have ``grace_s`` to finish;
    then they are stopped, and what they said last is logged, not raised."""
    procs: list[subprocess.Popen] = []
    last = ["?"] * len(cmds)

    def read(i: int, proc: subprocess.Popen) -> None:
        for line in quiet(proc.stderr):
            last[i] = line
            if i == 0 and log is not None:
                log(line)

    readers = []
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if on_main else None
    if on_main:  # SIGTERM would end this process without its finally: make it an exit
        signal.signal(signal.SIGTERM, _exit_on_term)
    try:
        for i, cmd in enumerate(cmds):
            procs.append(_start(cmd, child_env() if envs is None else envs[i]))
            t = threading.Thread(target=read, args=(i, procs[-1]), daemon=True)
            t.start()
            readers.append(t)
        _wait(procs, readers, last, what, log, grace_s)
    finally:
        for p in procs:
            _stop(p)
        for t in readers:
            t.join(timeout=5)
        if on_main:
            signal.signal(signal.SIGTERM, previous)


def _start(cmd: list[str], env: dict) -> subprocess.Popen:
    """One host: its stderr piped, stdin /dev/null, a process group of its own, and a
    parent-death signal."""
    return subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
        preexec_fn=_die_with_parent(),
    )


def _wait(procs, readers, last: list[str], what: str, log, grace_s: float) -> None:
    """Until every host has ended, or host 0 has finished well and the others had
    ``grace_s`` more; SuiteError at the first host to fail before host 0 finished."""
    leader_done = None
    while True:
        codes = [p.poll() for p in procs]
        if codes[0] == 0 and leader_done is None:
            leader_done = time.monotonic()
        failed = [i for i, c in enumerate(codes) if c not in (None, 0)]
        if failed and leader_done is None:
            i = failed[0]
            readers[i].join(timeout=5)
            raise SuiteError(f"{what}: host {i} of {len(procs)} failed: {last[i]}")
        if all(c is not None for c in codes):
            break
        if leader_done is not None and time.monotonic() - leader_done > grace_s:
            break
        time.sleep(0.05)
    if leader_done is not None and log is not None:
        for i, c in enumerate(codes[1:], start=1):
            if c != 0:
                state = "still running, stopped" if c is None else f"exit {c}"
                log(f"{what}: host {i} after host 0 had finished: {state}: {last[i]}")


def _die_with_parent():
    """What a host runs before its program (Linux): ask for SIGTERM when the process
    that started it dies, even by SIGKILL, so that no host outlives a killed driver
    waiting at a collective. None off Linux."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the driver died before the line above
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def _exit_on_term(signum, frame):
    raise SystemExit(128 + signum)


@dataclass(frozen=True)
class Place:
    """Which process of a cluster this one is (``index``; 0 times and evaluates)."""

    index: int
    cluster: Cluster
