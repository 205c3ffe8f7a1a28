"""Result files: frozen dataclasses dumped to versioned JSON, written atomically.

A run writes ``<out>/<run_id>/<cell>.json``; the run id is new for every
invocation and an existing file is never replaced. ``load_result`` is the one
place that reads and validates a result file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from suite.core.config import RunConfig, validate
from suite.core.errors import SuiteError
from suite.core.files import json_text, read_json, write_new
from suite.core.platform import BACKENDS
from suite.core.schemas import RUN as SCHEMA
from suite.core.schemas import RUN_VERSION as SCHEMA_VERSION
from suite.core.schemas import finite
from suite.core.stats import TimingSummary

STATUSES = ("ok", "diverged", "failed")


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float | None  # None when the epoch diverged
    test_loss: float | None
    test_accuracy: float | None
    train_seconds: float  # on the throughput clock: steps x the epoch's chunk seconds/step
    steps: int


@dataclass(frozen=True)
class ChunkRecord:
    """One timed chunk of plain ``fit()`` (or the native loop): consecutive steps, the
    clock read only at its ends, after the device was drained."""

    epoch: int  # 1-based
    steps: int
    seconds: float
    cpu_seconds: float  # this process's CPU time during the chunk (all its threads)
    threads: int  # threads of this process at the chunk's end
    round: int | None  # compare's round; None when the cell trained alone
    loss: float | None  # mean training loss over the chunk; None if not finite
    # what the machine did meanwhile (suite.core.noise; None in older results or where
    # Linux has no such counter): the host's steal over all CPUs, this worker's threads'
    # run-queue wait and involuntary switches, other processes' CPU time, the CPU clock,
    # and two probes of the vCPU's speed run just before the clock started
    steal_s: float | None = None
    runq_wait_s: float | None = None
    invol_switches: int | None = None
    others_cpu_s: float | None = None
    cpu_mhz: float | None = None
    probe_ms: float | None = None
    copy_ms: float | None = None


@dataclass(frozen=True)
class InferenceRecord:
    """One turn of inference timing (``suite.training.inference``): predict() over the
    test set, then single-example calls, each timed until its output was on the host."""

    round: int | None  # compare's round; None when the cell ran alone
    examples: int
    seconds: float  # predict() over ``examples`` test images
    single_ms: list[float]  # each single-example call


@dataclass(frozen=True)
class RunResult:
    run_id: str
    cell: str
    status: str
    config: dict
    model: dict
    environment: dict
    # training throughput: what plain fit() costs, from the chunks (ranks backends)
    throughput_examples_per_s: float | None = None
    ms_per_step: float | None = None
    chunks: list[ChunkRecord] = field(default_factory=list)
    chunk_steps: int | None = None
    schedule: str | None = None  # compare's schedule id: rounds pair only within one
    cpu_per_wall: float | None = None  # CPU-seconds per wall-second over the chunks
    gflops_per_s: float | None = None
    # step latency: a diagnostic, each step synchronised (distribution, first step)
    latency_ms: TimingSummary | None = None
    latency_steps_ms: list[float] = field(default_factory=list)
    warmup_ms: list[float] = field(default_factory=list)  # first steps, compile included
    first_step_ms: float | None = None
    fit_setup_s: float | None = None  # fit() set-up before its first chunk, all calls
    history: list[EpochRecord] = field(default_factory=list)
    final_test_accuracy: float | None = None
    final_test_loss: float | None = None
    reached_target: bool = False
    time_to_accuracy_s: float | None = None
    epochs_to_accuracy: int | None = None
    total_train_seconds: float | None = None
    peak_rss_bytes: int | None = None  # this cell's high-water mark (VmHWM, reset per cell)
    peak_device_bytes: int | None = None
    diverged_step: int | None = None
    error: str | None = None
    weights_file: str | None = None
    misclassified: list[list[int]] = field(default_factory=list)  # [test index, predicted]
    # inference after training (Keras cells on one device; None/empty otherwise)
    inference: list[InferenceRecord] = field(default_factory=list)
    predict_examples_per_s: float | None = None  # all rounds' examples / their seconds
    predict_first_s: float | None = None  # the first predict(): compilation included
    single_median_ms: float | None = None  # over every single-example call
    single_p99_ms: float | None = None
    single_first_ms: float | None = None
    schema: str = SCHEMA
    schema_version: int = SCHEMA_VERSION


def result_to_json(result: RunResult) -> str:
    return json_text(asdict(result))


def write_result(path: Path, result: RunResult) -> Path:
    """Serialise first (so a bad value fails before any file exists), then write atomically."""
    return write_new(path, result_to_json(result).encode())


def load_result(path: Path) -> RunResult:
    """Read one result file into a frozen RunResult (chunks, history and the latency
    summary typed too); SuiteError names the file and what is wrong with it."""
    data = read_json(path)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise SuiteError(f"{path}: not a {SCHEMA} file")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise SuiteError(
            f"{path}: schema version {data.get('schema_version')!r}, this suite "
            f"reads {SCHEMA_VERSION}"
        )
    missing = [k for k in ("run_id", "cell", "status", "config", "environment") if k not in data]
    if missing or data["status"] not in STATUSES:
        raise SuiteError(f"{path}: malformed result (missing {missing or 'a valid status'})")
    problem = result_problem(data)
    if problem:
        raise SuiteError(f"{path}: malformed result ({problem})")
    try:
        return result_from_dict(data)
    except (TypeError, ValueError) as e:
        raise SuiteError(f"{path}: malformed result ({e})") from None


def result_from_dict(data: dict) -> RunResult:
    """The RunResult that ``asdict`` turned into ``data``; TypeError on unknown fields."""
    latency = data.get("latency_ms")
    return RunResult(
        **{
            **data,
            "chunks": [ChunkRecord(**c) for c in data.get("chunks", [])],
            "history": [EpochRecord(**h) for h in data.get("history", [])],
            "latency_ms": TimingSummary(**latency) if latency else None,
            "inference": [InferenceRecord(**i) for i in data.get("inference", [])],
        }
    )


NUMBERS = (
    "throughput_examples_per_s",
    "ms_per_step",
    "cpu_per_wall",
    "gflops_per_s",
    "first_step_ms",
    "fit_setup_s",
    "final_test_accuracy",
    "final_test_loss",
    "time_to_accuracy_s",
    "total_train_seconds",
    "peak_rss_bytes",
    "peak_device_bytes",
    "predict_examples_per_s",
    "predict_first_s",
    "single_median_ms",
    "single_p99_ms",
    "single_first_ms",
)
CHUNK_NUMBERS = ("steps", "seconds", "cpu_seconds", "threads")
NOISE_NUMBERS = (
    "steal_s",
    "runq_wait_s",
    "invol_switches",
    "others_cpu_s",
    "cpu_mhz",
    "probe_ms",
    "copy_ms",
)


def result_problem(data: dict) -> str | None:
    """What makes a run result unusable for the report, or None: every field the
    report reads has the right type, names come from the registry, numbers are finite."""
    config, env = data["config"], data["environment"]
    if not isinstance(config, dict) or not isinstance(env, dict):
        return "config and environment must be objects"
    if not isinstance(env.get("device", {}), dict) or not isinstance(env.get("settings", {}), dict):
        return "environment.device and environment.settings must be objects"
    if config.get("backend") not in BACKENDS:
        return f"unknown backend {config.get('backend')!r}"
    try:
        unknown = set(config) - set(RunConfig.__dataclass_fields__)
        if unknown:
            return f"unknown config field(s) {', '.join(sorted(unknown))}"
        validate(RunConfig(**config), check_install=False)
    except (SuiteError, TypeError, ValueError, OverflowError) as e:
        return f"config: {e}"
    for key in NUMBERS:
        if data.get(key) is not None and not finite(data[key]):
            return f"{key} is not a finite number"
    chunks = data.get("chunks", [])
    if not isinstance(chunks, list) or not all(
        isinstance(c, dict) and all(finite(c.get(k)) for k in CHUNK_NUMBERS) for c in chunks
    ):
        return "chunks must be objects with finite steps, seconds, cpu_seconds, threads"
    for c in chunks:
        bad = [k for k in NOISE_NUMBERS if c.get(k) is not None and not finite(c[k])]
        if bad:
            return f"chunk {', '.join(bad)} must be finite numbers or null"
    history = data.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        return "history must be a list of objects"
    inference = data.get("inference", [])
    if not isinstance(inference, list) or not all(
        isinstance(i, dict)
        and finite(i.get("seconds"))
        and i["seconds"] > 0
        and isinstance(i.get("single_ms"), list)
        and all(finite(v) for v in i["single_ms"])
        for i in inference
    ):
        return "inference must be objects with positive seconds and finite single_ms"
    if data.get("latency_ms") is not None and not isinstance(data["latency_ms"], dict):
        return "latency_ms must be an object"
    return None
