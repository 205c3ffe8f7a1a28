"""The rounds coordinator: one long-lived worker per participant, taking turns.

Keras picks its backend once per process, so each participant (a backend's Keras
cells, its native baseline, its N-device cells, a sweep mode) trains in its own
worker (``suite.rounds.worker``). The coordinator hands a baton between them: in each
round every participant does its next unit of work (a set-up, a chunk, an evaluation)
while the others wait, holding no CPU, and the order alternates between rounds
(``suite.core.chunks.round_order``), so a slow patch of the machine is shared by all
instead of landing on whichever ran then. Every participant gets the same chunk size,
so chunk ``i`` of one is paired with chunk ``i`` of another.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import threading
import time
from dataclasses import asdict
from pathlib import Path

from suite.core.children import forward, python_module
from suite.core.chunks import plan_chunk_steps, round_order
from suite.core.config import RunConfig
from suite.core.files import write_json
from suite.core.schemas import ROUNDS, ROUNDS_VERSION
from suite.rounds import protocol
from suite.rounds.protocol import Turn

# Workers taking turns on one GPU must not each claim it whole (torch and JAX ran so on
# an H200, docs/measured.md; TensorFlow on a GPU is unverified): JAX preallocates 75% of
# GPU memory unless told not to, and TensorFlow maps all of it unless memory growth is
# on. torch's caching allocator grows on demand already.
GPU_SHARING = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}

TURN_GAP_S = 0.02  # pause between turns (seconds), so the last worker's pools go idle


def worker_env(env: dict, device: str) -> dict:
    """A worker's environment: on a GPU, set up to share the device with the others."""
    return {**env, **GPU_SHARING} if device == "gpu" else dict(env)


class WorkerDied(Exception):
    pass


class Worker:
    """One ``python -m suite.rounds.worker`` process: a backend, loaded once, taking turns."""

    def __init__(
        self,
        backend: str,
        device: str,
        run_dir: Path,
        data: str | None,
        env,
        devices: int = 1,
        threads: int = 0,
        python: str | None = None,
    ):
        import psutil

        args = [backend, device, threads, run_dir, devices] + ([data] if data else [])
        command = python_module("suite.rounds.worker", *args)
        if python:  # a version set's environment (``versions``)
            command[0] = python
        self.backend = backend
        # its own session: a Ctrl-C at the terminal reaches the coordinator alone, which
        # then closes every worker between two units of work (no traceback, no partial
        # file); a worker whose coordinator is gone sees its input end and leaves
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=worker_env(env, device),
            start_new_session=True,
        )
        self.ps = psutil.Process(self.proc.pid)
        threading.Thread(target=forward, args=(self.proc.stderr,), daemon=True).start()

    def send(self, message: dict) -> None:
        try:
            self.proc.stdin.write(protocol.encode(message))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerDied(self.backend) from None

    def recv(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerDied(self.backend)
        return protocol.decode(line)

    def cpu_seconds(self) -> float:
        """CPU time of the worker, all threads: nanoseconds from each thread's
        /proc/PID/task/TID/schedstat where Linux has them (psutil's clock ticks are
        10 ms, too coarse for short turns). A thread that ended in between drops out,
        so a negative difference is possible but small."""
        tasks = Path(f"/proc/{self.proc.pid}/task")
        try:
            total = 0
            for t in tasks.iterdir():
                try:
                    total += int((t / "schedstat").read_text().split()[0])
                except (OSError, ValueError, IndexError):
                    pass
            return total / 1e9
        except OSError:
            pass
        try:
            t = self.ps.cpu_times()
            return t.user + t.system
        except Exception:  # psutil.NoSuchProcess: it is gone, it spends nothing
            return 0.0

    def close(self) -> None:
        """Ask the worker to leave, and end its input: it leaves after its current unit
        of work (a chunk, or a set-up with compilation), or is killed after 60 s."""
        try:
            self.send(protocol.EXIT)
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (WorkerDied, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def started_workers(
    cells: dict[str, RunConfig], run_dir: Path, data: str | None, env, log, pythons=None
):
    """One worker per participant (name -> one of its cells), all started at once so
    the frameworks load side by side before any clock, then each awaited; one that
    fails to start is None. ``pythons`` maps a cell's version set to the interpreter of
    its environment (``versions``; others run this one). Every worker is closed on the
    way out."""
    workers: dict = {}
    pythons = pythons or {}
    try:
        for name, c in cells.items():
            python = pythons.get(c.versions)
            workers[name] = Worker(
                c.backend, c.device, run_dir, data, env, c.devices, c.threads, python
            )
        for name in cells:
            _await_ready(workers, name, log)
        yield workers
    finally:
        for w in workers.values():
            if w is not None:
                w.close()


def _await_ready(workers: dict, backend: str, log) -> None:
    try:
        workers[backend].recv()
    except WorkerDied:
        log(f"  {backend}: worker failed to start; its cells count as failed")
        workers[backend] = None


def _log_done(log, name: str, reply: dict) -> None:
    note = f"; {reply['error']}" if reply.get("error") else ""
    acc, speed = reply.get("test_accuracy"), reply.get("throughput")
    log(
        f"  {name}: {reply['status']}"
        + (f", test accuracy {acc:.2%}" if acc is not None else "")
        + (f", {speed:,.0f} examples/s" if speed else "")
        + note
    )


def _turn(workers: dict, name: str, message: dict, others: set, r: int) -> tuple[Turn, dict]:
    """Hand ``name`` the baton for one unit of work; measure what the others spent
    meanwhile. WorkerDied if it is gone."""
    waiting = {o: workers[o].cpu_seconds() for o in others}
    start = time.perf_counter()
    workers[name].send(message)
    reply = workers[name].recv()
    wall = time.perf_counter() - start
    used = {o: round(workers[o].cpu_seconds() - c, 4) for o, c in waiting.items()}
    turn = Turn(
        r,
        name,
        reply["kind"],
        wall,
        reply.get("steps"),
        reply.get("seconds"),
        reply.get("before_clock_s"),
        used,
    )
    return turn, reply


def _chunk_size(cells: dict[str, RunConfig], estimates: dict, log) -> int:
    """After round 0: one chunk size for every participant, from the slowest one's
    step estimate, in whole executions of every participant's steps_per_execution."""
    first = next(iter(cells.values()))
    chunk = first.chunk_steps or plan_chunk_steps(first, list(estimates.values()))
    k = math.lcm(*(c.steps_per_execution for c in cells.values()))
    chunk = max(chunk // k, 1) * k
    log(f"  rounds of {chunk} steps each, order alternating")
    return chunk


def train_in_rounds(workers: dict, cells: dict, schedule: str, gap_s: float, log) -> list[Turn]:
    """Train one cell per participant side by side: in each round every participant does
    its next unit of work while the others wait; the order alternates between rounds."""
    names = list(cells)
    active, estimates, turns, chunk = set(names), {}, [], None
    r = 0
    while active:
        for name in round_order(names, r):
            if name not in active:
                continue
            if r == 0:
                message = protocol.start_cell(asdict(cells[name]), schedule)
            else:
                message = protocol.next_turn(r, chunk)
            try:
                turn, reply = _turn(workers, name, message, active - {name}, r)
            except WorkerDied:
                log(f"  {name}: worker died; its cell counts as failed")
                active.discard(name)
                workers[name] = None
                continue
            turns.append(turn)
            if turn.kind == protocol.SETUP:
                estimates[name] = reply.get("step_seconds")
            elif turn.kind == protocol.CELL_DONE:
                active.discard(name)
                _log_done(log, name, reply)
            if gap_s:
                time.sleep(gap_s)  # lets the worker that just ran put its thread pools to sleep
        if r == 0:
            chunk = _chunk_size(cells, estimates, log)
        r += 1
    return turns


def write_rounds(run_dir: Path, schedules: list[dict], gap_s: float) -> Path:
    """Every turn, for the record: who ran, for how long, and how much CPU the waiting
    workers used meanwhile."""
    blob = {"schema": ROUNDS, "schema_version": ROUNDS_VERSION, "gap_s": gap_s}
    return write_json(run_dir / "rounds.json", {**blob, "schedules": schedules})
