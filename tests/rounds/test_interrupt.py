"""Ctrl-C during `compare`: the coordinator says one line and exits 130 within seconds;
its workers, caught importing keras or in a cell's set-up, leave quietly (no traceback)
after the unit of work in hand, and no result file is torn."""

import json
import os
import signal
import subprocess
import sys
import time

from suite.core.platform import child_env


def test_ctrl_c_while_workers_import_keras_is_quiet(backend, mnist, tmp_path):
    out = tmp_path / "cmp"
    cmd = [sys.executable, "-m", "suite", "compare", "--quick", "--backends", backend]
    cmd += ["--models", "softmax", "--train-examples", "2048", "--out", str(out)]
    # its own process group, as a shell gives a foreground job: Ctrl-C reaches all of it.
    # SIGINT at its default there too: a job started in the background by a shell without
    # job control inherits it ignored, and Python then never raises KeyboardInterrupt
    proc = subprocess.Popen(
        cmd,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = []
    for line in proc.stderr:  # the workers start right after this line
        seen.append(line)
        if line.startswith("compare:"):
            break
    time.sleep(1.5)  # the worker is importing keras, or has begun the cell's set-up
    os.killpg(proc.pid, signal.SIGINT)
    interrupted = time.perf_counter()
    rest = proc.stderr.read()
    code = proc.wait(timeout=120)
    stderr = "".join(seen) + rest
    assert code == 130, stderr[-3000:]
    # it leaves after the unit of work in hand, not after the 60 s kill timeout
    assert time.perf_counter() - interrupted < 30
    assert "interrupted; finished results are kept" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-3000:]
    for path in out.rglob("*"):  # nothing half-written: every file is whole JSON
        assert not path.name.endswith(".tmp"), path
        if path.suffix == ".json":
            json.loads(path.read_text())
