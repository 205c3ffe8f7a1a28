"""The main job's matrix: every backend x model x seed cell, trained in rounds.

Each participant trains in its own worker (``suite.rounds``); for each (model, seed)
the participants train side by side in rounds. Cells whose ok result already exists
in the output folder are skipped (resume) unless ``force``; a failed cell is recorded
and the rest go on; Ctrl-C stops cleanly with finished cells kept. The gradient and
portability checks and the report come after, from ``suite.jobs.compare``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from models import get_model
from suite.core.config import RunConfig, validate
from suite.core.data import TEST_IMAGES, TRAIN_IMAGES
from suite.core.errors import SuiteError
from suite.core.files import new_run_dir
from suite.core.platform import traits
from suite.core.results import load_result
from suite.core.stats import waiting_cpu_share
from suite.measure.repeats import Repeats
from suite.rounds.coordinator import TURN_GAP_S, started_workers, train_in_rounds, write_rounds

QUICK = {"epochs": 1, "seeds": [0], "grads_steps": 10}
# worker processes per participant: two, so that the process is a level of the design
# (its variance enters every interval) and each participant has its own A/A control
PROCESSES = 2


@dataclass(frozen=True)
class CompareSettings:
    """Everything ``compare`` does, validated once (``suite.commands.compare.settings``)."""

    backends: tuple[str, ...]
    models: tuple[str, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"
    quick: bool = False
    epochs: int | None = None  # None: the recipes' (1 with quick)
    native: bool = False
    out: Path = Path("results/compare")
    force: bool = False
    train_examples: int = TRAIN_IMAGES  # cut to a --data dataset's size
    test_examples: int = TEST_IMAGES  # likewise
    chunk_steps: int = 0
    devices: int = 1
    data: str | None = None  # an MNIST source: the cells' data and the checks'
    dataset: str | None = None  # --data npz:/synthetic: the cells train on it instead
    inference_rounds: int = RunConfig.inference_rounds
    dtype_policy: str = "float32"  # a mixed one trains beside float32
    tuned: str | None = None  # None: off; "": short sweeps first; else a folder of sweeps
    sweeps: tuple = ()  # the sweeps read from that folder
    processes: int = PROCESSES
    repeats: Repeats = Repeats()
    # compare --batch-sizes: each a participant of its own per backend, speed only
    batch_sizes: tuple[int, ...] = ()
    # --memory-limit: then the largest batch that fits, per backend and model, in bytes
    # (on a GPU without it: no limit but the framework's own out-of-memory error)
    memory_limit: int | None = None

    @property
    def run_seeds(self) -> list[int]:
        return QUICK["seeds"] if self.quick else list(self.seeds)

    @property
    def policies(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(("float32", self.dtype_policy)))

    @property
    def impls(self) -> tuple[str, ...]:
        return ("keras", "native") if self.native else ("keras",)


def plan_cells(
    s: CompareSettings, backends=None, test_examples: int = TEST_IMAGES
) -> list[RunConfig]:
    """Every cell of ``s`` on ``backends`` (default: its own); with ``s.devices`` > 1 each
    backend's N-device cells and, as their scaling baseline, its 1-device cells in the same
    loop (torch: the one-rank DDP loop). ``s.epochs`` overrides the recipes' (and --quick's
    1). A quick run trains the heavy workloads on their first ``quick_examples`` images
    (the registry's), so that it keeps its time budget; the report shows each cell's
    training examples. Each of ``s.policies`` (Keras dtype policies) is a participant of
    its own per backend."""
    backends = s.backends if backends is None else backends
    if s.batch_sizes:
        return _batch_cells(s, backends)
    quick, devices, train_examples = s.quick, s.devices, s.train_examples
    epochs = s.epochs or (QUICK["epochs"] if quick else None)

    def examples(m):
        limit = get_model(m).quick_examples if quick else None
        return min(train_examples, limit) if limit else train_examples

    counts = [1, devices] if devices > 1 else [1]

    def cell(b, m, seed, impl, n, policy):
        loop = traits(b).parallel_loop if devices > 1 else "fit"
        return RunConfig(
            backend=b,
            model=m,
            seed=seed,
            device=s.device,
            epochs=epochs,
            train_examples=examples(m),
            test_examples=s.test_examples,
            dataset=s.dataset,
            chunk_steps=s.chunk_steps,
            impl=impl,
            devices=n,
            loop=loop if impl == "keras" else "fit",
            dtype_policy=policy,
            inference_rounds=s.inference_rounds,
        )

    return [
        validate(cell(b, m, seed, impl, n, policy), check_install=False)
        for b in backends
        for policy in s.policies
        for impl in s.impls
        for n in counts
        if impl == "keras" or (n == 1 and policy == "float32")  # native: 1 device, float32
        for m in s.models
        if impl == "keras" or get_model(m).native
        for seed in s.run_seeds
    ]


# compare --batch-sizes trains each batch size this many optimizer steps (at least), on
# the first steps x batch images, over as many epochs as that takes: the same work in
# steps for every batch size, speed only (accuracy is not judged across batch sizes)
BATCH_STEPS = 96


def _batch_cells(s: CompareSettings, backends) -> list[RunConfig]:
    """Every backend x model x batch size x seed of a batch sweep (one device, float32,
    Keras' fit()): each batch size ``BATCH_STEPS`` steps or a little more."""
    cells = []
    for b in backends:
        for m in s.models:
            for batch in s.batch_sizes:
                examples = min(s.train_examples, BATCH_STEPS * batch)
                per_epoch = max(examples // batch, 1)
                epochs = s.epochs or -(-BATCH_STEPS // per_epoch)
                for seed in s.run_seeds:
                    cfg = RunConfig(
                        backend=b, model=m, seed=seed, device=s.device, epochs=epochs,
                        batch_size=batch, train_examples=examples,
                        test_examples=s.test_examples, dataset=s.dataset,
                        chunk_steps=s.chunk_steps, inference_rounds=0,
                    )  # fmt: skip
                    cells.append(validate(cfg, check_install=False))
    return cells


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


def _fmt(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def worker_name(cfg: RunConfig) -> str:
    """The worker a cell trains in: its participant's, numbered from the second
    process on ("jax#2")."""
    return cfg.participant() + (f"#{cfg.process + 1}" if cfg.process else "")


def _groups(todo: list[RunConfig], processes: int = 1) -> dict[tuple, dict[str, RunConfig]]:
    """(model, seed) -> worker -> its cell: what trains side by side. With ``processes``
    > 1 every cell trains once in each of its participant's processes (the same
    training: an A/A pair; the twin skips the inference measurement after it), and which
    process comes first in the round order alternates between groups."""
    groups: dict[tuple, list] = {}
    for c in todo:
        groups.setdefault((c.model, c.seed), []).append(c)
    out = {}
    for i, (key, cells) in enumerate(groups.items()):
        order = list(range(processes))[:: 1 if i % 2 == 0 else -1]
        # the twin times no inference: its A/A is on training throughput, what ranks
        copies = [
            replace(c, process=k, inference_rounds=c.inference_rounds if k == 0 else 0)
            for c in cells
            for k in order
        ]
        out[key] = {worker_name(c): c for c in copies}
    return out


def train_matrix(
    groups: dict,
    runs_dir: Path,
    data: str | None,
    env: dict,
    log,
    gap_s: float = TURN_GAP_S,
    pythons: dict | None = None,
) -> None:
    """Every group in rounds, in one new run folder, with its rounds log; ``pythons``:
    the interpreter per version set (``started_workers``)."""
    run_dir = new_run_dir(runs_dir)
    who: dict = {}  # every participant, with one of its cells
    for group in groups.values():
        for b, c in group.items():
            who.setdefault(b, c)
    schedule_log, started = [], time.time()
    try:
        with started_workers(who, run_dir, data, env, log, pythons) as workers:
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


def run_matrix(
    backends: list[str],
    cells: list[RunConfig],
    out: Path,
    force: bool,
    data: str | None,
    env: dict,
    log,
    gap_s: float = TURN_GAP_S,
    processes: int = PROCESSES,
    pythons: dict | None = None,
    job: str = "compare",
) -> list[str]:
    """Train what is missing of ``cells`` under ``out/runs``, each participant in
    ``processes`` worker processes (A/A twins); returns the names of the cells without
    an ok result afterwards (the first process's: a twin's failure is logged)."""
    runs_dir = out / "runs"
    todo = pending(cells, finished_cells(runs_dir), force)
    log(
        f"{job}: {len(cells)} cells ({len(cells) - len(todo)} already done) on "
        f"{', '.join(backends)}, each in {processes} worker process"
        f"{'es' if processes > 1 else ''}; workers take turns in rounds; results in {out}"
    )
    started = time.time()
    groups = _groups(todo, processes)
    if groups:
        train_matrix(groups, runs_dir, data, env, log, gap_s, pythons)
    after = finished_cells(runs_dir)
    bad = [c.cell_name() for c in cells if after.get(c.cell_name()) != "ok"]
    log(
        f"matrix done in {_fmt(time.time() - started)}: {len(cells) - len(bad)} ok, "
        f"{len(bad)} not ok"
    )
    return bad
