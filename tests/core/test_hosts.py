"""Several hosts on one machine: ports, failures, Ctrl-C, and no process left behind."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from suite.core.errors import SuiteError
from suite.core.hosts import check_port_free, cluster, free_ports, run_hosts


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0] != "Z"


def _wait_gone(pids, seconds=10.0) -> list[int]:
    end = time.time() + seconds
    while time.time() < end and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def _sleeper(pidfile, grandchild: bool = False) -> list[str]:
    """A host that records its pid (and its own child's) and sleeps."""
    code = (
        "import os, subprocess, sys, time\n"
        f"pids = [os.getpid()]\n"
        f"if {grandchild}: pids.append(subprocess.Popen(['sleep', '120']).pid)\n"
        f"open({str(pidfile)!r}, 'w').write(' '.join(map(str, pids)))\n"
        "time.sleep(120)\n"
    )
    return [sys.executable, "-c", code]


def _pids(*files) -> list[int]:
    end = time.time() + 20
    while time.time() < end and not all(f.exists() and f.read_text() for f in files):
        time.sleep(0.05)
    return [int(p) for f in files for p in f.read_text().split()]


def test_hosts_that_succeed_all_run_to_the_end(tmp_path):
    marks = [tmp_path / f"h{i}" for i in range(2)]
    cmds = [[sys.executable, "-c", f"open({str(m)!r}, 'w').write('ok')"] for m in marks]
    run_hosts(cmds, "two hosts")
    assert all(m.read_text() == "ok" for m in marks)


def test_a_failing_host_stops_the_others_and_what_they_started(tmp_path):
    pidfile = tmp_path / "pids"
    fail = [sys.executable, "-c", "import sys, time; time.sleep(1); sys.exit('shard mismatch')"]
    with pytest.raises(SuiteError, match="host 1 of 2 failed: shard mismatch"):
        run_hosts([_sleeper(pidfile, grandchild=True), fail], "the check")
    pids = _pids(pidfile)
    assert len(pids) == 2 and _wait_gone(pids) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_leaves_no_host_behind(tmp_path, sig):
    files = [tmp_path / f"p{i}" for i in range(2)]
    driver = (  # Ctrl-C as a terminal gives it, even where our own parent ignores SIGINT
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from suite.core.hosts import run_hosts\n"
        f"run_hosts({[_sleeper(f, grandchild=True) for f in files]!r}, 'x')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", driver], stderr=subprocess.PIPE, text=True)
    pids = _pids(*files)
    proc.send_signal(sig)
    assert proc.wait(timeout=30) != 0
    assert len(pids) == 4 and _wait_gone(pids) == []


def test_ports_are_free_and_a_taken_one_is_refused_naming_the_flag():
    ports = free_ports(3)
    assert len(set(ports)) == 3
    c = cluster(2)
    assert c.processes == 2 and c.address(0).startswith("127.0.0.1:")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        with pytest.raises(SuiteError, match=f"--port {taken}: in use"):
            check_port_free(taken)
        with pytest.raises(SuiteError, match=f"--port {taken}: in use"):
            cluster(2, port=taken)
    with pytest.raises(SuiteError, match="--port 0: a port is 1..65535"):
        check_port_free(0)


def test_once_host_0_has_finished_the_others_get_a_grace_then_are_stopped(tmp_path):
    """Host 0 times, evaluates and writes: once it has finished well, a host still
    running (or failing on its way out) is stopped and logged, not raised."""
    pidfile, said = tmp_path / "pids", []
    start = time.monotonic()
    run_hosts([[sys.executable, "-c", "pass"], _sleeper(pidfile)], "run", said.append, grace_s=1)
    assert time.monotonic() - start < 30
    assert _wait_gone(_pids(pidfile)) == []
    assert any("host 1 after host 0 had finished: still running, stopped" in s for s in said)


def test_a_host_failing_before_host_0_has_finished_still_fails():
    late = [sys.executable, "-c", "import time; time.sleep(3)"]
    fail = [sys.executable, "-c", "import sys; sys.exit('lost the rendezvous')"]
    with pytest.raises(SuiteError, match="host 1 of 2 failed: lost the rendezvous"):
        run_hosts([late, fail], "run", grace_s=1)


def test_a_driver_killed_outright_takes_its_hosts_with_it(tmp_path):
    """SIGKILL runs no handler: the hosts' parent-death signal stops them (Linux)."""
    files = [tmp_path / f"p{i}" for i in range(2)]
    driver = (
        "from suite.core.hosts import run_hosts\n"
        f"run_hosts({[_sleeper(f) for f in files]!r}, 'x')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", driver])
    pids = _pids(*files)
    proc.kill()
    proc.wait(timeout=30)
    assert len(pids) == 2 and _wait_gone(pids) == []
