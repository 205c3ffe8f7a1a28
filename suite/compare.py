"""The main job: the backend x model x seed matrix, the gradient check, the report.

Each backend trains in its own long-lived worker process (``suite.worker``), since
Keras picks the backend once per process. The workers train side by side in rounds:
for each (model, seed) every backend trains its next chunk while the others wait,
holding no CPU, and the order alternates between rounds, so a slow patch of the
machine is shared by all backends instead of landing on whichever ran then. Cells
whose ok result already exists in the output folder are skipped (resume) unless
``force``; a failed cell is recorded and the rest go on; Ctrl-C stops cleanly with
finished cells kept.
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from suite.atomic import write_new
from suite.backends import FRAMEWORK_LOG, child_env, is_installed
from suite.chunks import plan_chunk_steps, round_order
from suite.config import RunConfig, validate
from suite.errors import SuiteError
from suite.results import load_result

QUICK = {"epochs": 1, "seeds": [0], "grads_steps": 10}
# Workers taking turns on one GPU must not each claim it whole (unverified here: no GPU
# was lent to this project): JAX preallocates 75% of GPU memory unless told not to, and
# TensorFlow maps all of it unless memory growth is on. torch's caching allocator grows
# on demand already.
GPU_SHARING = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
GAP_S = 0.02  # pause between turns (seconds), so the last worker's pools go idle


def plan_cells(
    backends,
    models,
    seeds,
    device,
    quick,
    train_examples: int = 60000,
    chunk_steps: int = 0,
    impls: tuple[str, ...] = ("keras",),
    devices: int = 1,
    epochs: int | None = None,
) -> list[RunConfig]:
    """Every cell; with ``devices`` > 1 each backend's N-device cells and, as their
    scaling baseline, its 1-device cells in the same loop (torch: the one-rank DDP loop).
    ``epochs`` overrides the recipes' (and --quick's 1)."""
    epochs = epochs or (QUICK["epochs"] if quick else None)
    counts = [1, devices] if devices > 1 else [1]

    def cell(b, m, s, impl, n):
        loop = "torch-ddp" if b == "torch" and devices > 1 else "fit"
        return RunConfig(
            backend=b,
            model=m,
            seed=s,
            device=device,
            epochs=epochs,
            train_examples=train_examples,
            chunk_steps=chunk_steps,
            impl=impl,
            devices=n,
            loop=loop if impl == "keras" else "fit",
        )

    return [
        validate(cell(b, m, s, impl, n), check_install=False)
        for b in backends
        for impl in impls
        for n in counts
        if impl == "keras" or n == 1  # native baselines run on one device
        for m in models
        for s in seeds
    ]


def participant(cfg: RunConfig) -> str:
    """Who takes turns, each in its own worker: a backend's Keras cells, its native
    baseline, its N-device cells, or torch's one-rank DDP loop."""
    name = cfg.backend if cfg.impl == "keras" else f"{cfg.backend}-{cfg.impl}"
    if cfg.devices > 1:
        name += f"-x{cfg.devices}"
    elif cfg.loop != "fit":
        name += f"-{cfg.loop}"
    return name


def finished_cells(runs_dir: Path) -> dict[str, str]:
    """Cell name -> status of every readable result under ``runs_dir`` (ok wins)."""
    done: dict[str, str] = {}
    for path in runs_dir.rglob("*.json") if runs_dir.is_dir() else []:
        try:
            status = load_result(path).status
        except SuiteError:
            continue
        if done.get(path.stem) != "ok":
            done[path.stem] = status
    return done


def pending(cells: list[RunConfig], done: dict[str, str], force: bool) -> list[RunConfig]:
    return [c for c in cells if force or done.get(c.cell_name()) != "ok"]


@dataclass(frozen=True)
class Turn:
    """One unit of work a worker did while the others waited."""

    round: int
    backend: str
    kind: str  # setup, chunk, eval or cell_done
    wall_s: float  # from the go to the reply, as the coordinator saw it
    steps: int | None  # a chunk's steps
    seconds: float | None  # a chunk's own clock
    before_clock_s: float | None  # a chunk's turn before its clock started (fit() set-up)
    waiting_cpu_s: dict  # CPU seconds each waiting worker used during this turn


def worker_env(env: dict, device: str) -> dict:
    """A worker's environment: on a GPU, set up to share the device with the others."""
    return {**env, **GPU_SHARING} if device == "gpu" else dict(env)


class WorkerDied(Exception):
    pass


def _forward_quietly(stream) -> None:
    """Copy a worker's stderr (its progress lines, errors) to ours, leaving out the
    framework's import-time log lines."""
    for line in stream:
        if not FRAMEWORK_LOG.match(line):
            sys.stderr.write(line)
            sys.stderr.flush()


class Worker:
    """One ``python -m suite.worker`` process: a backend, loaded once, taking turns."""

    def __init__(
        self,
        backend: str,
        device: str,
        run_dir: Path,
        data: str | None,
        env,
        devices: int = 1,
        threads: int = 0,
    ):
        import psutil

        cmd = [sys.executable, "-m", "suite.worker", backend, device, str(threads), str(run_dir)]
        cmd.append(str(devices))
        self.backend = backend
        env = worker_env(env, device)
        self.proc = subprocess.Popen(
            cmd + ([data] if data else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.ps = psutil.Process(self.proc.pid)
        threading.Thread(target=_forward_quietly, args=(self.proc.stderr,), daemon=True).start()

    def send(self, message: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerDied(self.backend) from None

    def recv(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerDied(self.backend)
        return json.loads(line)

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
        try:
            self.send({"cmd": "exit"})
            self.proc.wait(timeout=60)
        except (WorkerDied, subprocess.TimeoutExpired):
            self.proc.kill()


def train_in_rounds(workers: dict, cells: dict, schedule: str, gap_s: float, log) -> list[Turn]:
    """Train one cell per backend side by side: in each round every backend does its next
    unit of work while the others wait; the order alternates between rounds. Every backend
    gets the same chunk size, so chunk ``i`` of one is paired with chunk ``i`` of another."""
    names = list(cells)
    active, estimates, turns, chunk = set(names), {}, [], None
    first = next(iter(cells.values()))
    r = 0
    while active:
        for b in round_order(names, r):
            if b not in active:
                continue
            message = {"round": r}
            if r == 0:
                message.update(cmd="cell", config=asdict(cells[b]), schedule=schedule)
            elif chunk:
                message["chunk_steps"] = chunk
            waiting = {o: workers[o].cpu_seconds() for o in active if o != b}
            start = time.perf_counter()
            try:
                workers[b].send(message)
                reply = workers[b].recv()
            except WorkerDied:
                log(f"  {b}: worker died; its cell counts as failed")
                active.discard(b)
                workers[b] = None
                continue
            wall = time.perf_counter() - start
            used = {o: round(workers[o].cpu_seconds() - c, 4) for o, c in waiting.items()}
            kind = reply["kind"]
            turns.append(
                Turn(
                    r,
                    b,
                    kind,
                    wall,
                    reply.get("steps"),
                    reply.get("seconds"),
                    reply.get("before_clock_s"),
                    used,
                )
            )
            if kind == "setup":
                estimates[b] = reply.get("step_seconds")
            elif kind == "cell_done":
                active.discard(b)
                note = f"; {reply['error']}" if reply.get("error") else ""
                acc = reply.get("test_accuracy")
                log(
                    f"  {b}: {reply['status']}"
                    + (f", test accuracy {acc:.2%}" if acc is not None else "")
                    + (
                        f", {reply['throughput']:,.0f} examples/s"
                        if reply.get("throughput")
                        else ""
                    )
                    + note
                )
            if gap_s:
                time.sleep(gap_s)  # lets the worker that just ran put its thread pools to sleep
        if r == 0:
            chunk = first.chunk_steps or plan_chunk_steps(first, list(estimates.values()))
            k = math.lcm(*(c.steps_per_execution for c in cells.values()))
            chunk = max(chunk // k, 1) * k  # whole executions for every participant
            log(f"  rounds of {chunk} steps each, order alternating")
        r += 1
    return turns


def _fmt(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def run_compare(
    backends,
    models,
    seeds: list[int],
    device: str,
    quick: bool,
    out: Path,
    force: bool,
    data: str | None,
    log,
    train_examples: int = 60000,
    chunk_steps: int = 0,
    gap_s: float = GAP_S,
    native: bool = False,
    devices: int = 1,
    epochs: int | None = None,
) -> tuple[int, dict]:
    """Run what is missing in rounds, then grads and the report. Returns the exit code
    and the report's data."""
    from suite.report import build_report, write_files
    from suite.report_data import waiting_cpu_share
    from suite.results import new_run_dir

    skipped = [b for b in backends if not is_installed(b)]
    backends = [b for b in backends if b not in skipped]
    for b in skipped:
        log(f"{b} is not installed: skipped (pip install '.[{b}]')")
    if not backends:
        raise SuiteError("none of the requested backends is installed; pip install '.[cpu]'")
    seeds = QUICK["seeds"] if quick else seeds
    impls = ("keras", "native") if native else ("keras",)
    cells = plan_cells(
        backends, models, seeds, device, quick, train_examples, chunk_steps, impls, devices, epochs
    )
    runs_dir = out / "runs"
    todo = pending(cells, finished_cells(runs_dir), force)
    log(
        f"compare: {len(cells)} cells ({len(cells) - len(todo)} already done) on "
        f"{', '.join(backends)}; backends take turns in rounds; results in {out}"
    )
    env = child_env(SUITE_MNIST=data) if data else child_env()
    started = time.time()
    groups: dict[tuple, dict] = {}
    for c in todo:
        groups.setdefault((c.model, c.seed), {})[participant(c)] = c
    if groups:
        run_dir = new_run_dir(runs_dir)
        who: dict = {}  # every participant, with one of its cells
        for group in groups.values():
            for b, c in group.items():
                who.setdefault(b, c)
        schedule_log = []
        try:
            with started_workers(who, run_dir, data, env, log) as workers:
                for i, ((model, seed), group) in enumerate(groups.items()):
                    live = {b: c for b, c in group.items() if workers.get(b) is not None}
                    elapsed = time.time() - started
                    eta = f", ETA {_fmt(elapsed / i * (len(groups) - i))}" if i else ""
                    log(
                        f"[{i + 1}/{len(groups)}] {model} seed {seed}: {', '.join(live)} "
                        f"(elapsed {_fmt(elapsed)}{eta})"
                    )
                    schedule = f"{run_dir.name}/{model}/seed{seed}"
                    turns = train_in_rounds(workers, live, schedule, gap_s, log)
                    entry = {"schedule": schedule, "turns": [asdict(t) for t in turns]}
                    share = waiting_cpu_share([{"schedules": [entry]}]) or 0.0
                    log(f"  waiting workers used at most {share:.1%} of a core")
                    schedule_log.append(entry)
        finally:
            if schedule_log:
                write_rounds(run_dir, schedule_log, gap_s)
    after = finished_cells(runs_dir)
    bad = [c.cell_name() for c in cells if after.get(c.cell_name()) != "ok"]
    log(
        f"matrix done in {_fmt(time.time() - started)}: {len(cells) - len(bad)} ok, "
        f"{len(bad)} not ok"
    )
    grads_code = _run_grads(backends, models, quick, out, env, log)
    if not quick:  # --quick stays a few minutes; `portability` runs it on its own
        grads_code |= _run_portability(backends, models, out, env, log)
    report = build_report([out])
    paths = write_files(report, out / "report")
    log(f"report: {', '.join(str(p) for p in paths)}")
    return (1 if bad or grads_code != 0 else 0), report


@contextlib.contextmanager
def started_workers(cells: dict[str, RunConfig], run_dir: Path, data: str | None, env, log):
    """One worker per participant (name -> one of its cells), all started at once so
    the frameworks load side by side before any clock, then each awaited; one that
    fails to start is None. Every worker is closed on the way out."""
    workers: dict = {}
    try:
        for name, c in cells.items():
            workers[name] = Worker(c.backend, c.device, run_dir, data, env, c.devices, c.threads)
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


ROUNDS_SCHEMA = "keras-backend-suite/rounds"


def write_rounds(run_dir: Path, schedules: list[dict], gap_s: float) -> None:
    """Every turn of this compare, for the record: who ran, for how long, and how much
    CPU the waiting workers used meanwhile."""
    blob = {"schema": ROUNDS_SCHEMA, "schema_version": 1, "gap_s": gap_s, "schedules": schedules}
    write_new(run_dir / "rounds.json", json.dumps(blob, indent=1, allow_nan=False).encode())


def _run_portability(backends, models, out, env, log) -> int:
    folder = out / "portability"
    if any(folder.glob("portability-*.json")) or len(backends) < 2:
        log("portability: an earlier result is in this folder, or one backend; skipped")
        return 0
    log(f"portability: weights saved and loaded across {', '.join(backends)}")
    cmd = [sys.executable, "-m", "suite", "portability", "--backends", *backends]
    cmd += ["--models", *models, "--out", str(folder)]
    return subprocess.run(cmd, env=env, stdout=sys.stderr).returncode


def _run_grads(backends, models, quick, out, env, log) -> int:
    grads_dir = out / "grads"
    if any(grads_dir.glob("grads-*.json")):
        log("grads: an earlier result is in this folder; skipped")
        return 0
    steps = QUICK["grads_steps"] if quick else 100
    log(f"grads: {', '.join(backends)}, {steps} trajectory steps")
    cmd = [
        sys.executable,
        "-m",
        "suite",
        "grads",
        "--backends",
        *backends,
        "--models",
        *models,
        "--steps",
        str(steps),
        "--out",
        str(grads_dir),
    ]
    return subprocess.run(cmd, env=env, stdout=sys.stderr).returncode
