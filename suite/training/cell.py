"""Train and evaluate one cell (backend x model x seed x settings) and measure it.

The cell's set-up (data, model, compilation, the latency steps) is one turn; then the
throughput chunks, each a turn of its own (``suite.training.clock``); then an
evaluation per epoch, also a turn, outside every clock. ``fit()`` set-up,
compilation, evaluation and waiting for a turn are outside every chunk.
"""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass, replace

import numpy as np

from models import forward_flops, get_model
from suite import frameworks
from suite.core.chunks import latency_plan, plan_chunk_steps, split_steps
from suite.core.config import RunConfig
from suite.core.data import Mnist, epoch_batches, preprocess
from suite.core.datasets import load_dataset
from suite.core.fingerprint import fingerprint, native_half_support
from suite.core.hosts import Place
from suite.core.results import ChunkRecord, EpochRecord, RunResult
from suite.core.stats import summarize, time_to_target
from suite.training.build import as_input, evaluate
from suite.training.clock import Baton, ChunkClock, StepLog, Turns
from suite.training.inference import run_inference
from suite.training.probes import peak_rss, reset_peak_rss
from suite.training.progress import Progress
from suite.training.trainers import make_trainer


@dataclass(frozen=True)
class CellData:
    """The cell's slices of MNIST, preprocessed in its data format."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def cell_data(cfg: RunConfig, mnist: Mnist) -> CellData:
    """MNIST (scaled to [0, 1], in the cell's layout), or the cell's --data dataset."""
    if cfg.dataset:
        d = load_dataset(cfg.dataset)
        n, m = cfg.train_examples, cfg.test_examples
        return CellData(d.x_train[:n], d.y_train[:n], d.x_test[:m], d.y_test[:m].astype(np.int64))
    return CellData(
        preprocess(mnist.x_train[: cfg.train_examples], cfg.data_format),
        mnist.y_train[: cfg.train_examples].astype(np.int32),
        preprocess(mnist.x_test[: cfg.test_examples], cfg.data_format),
        mnist.y_test[: cfg.test_examples].astype(np.int64),
    )


def _base(cfg: RunConfig, run_id: str, schedule: str | None) -> dict:
    """The fields every result of this cell has, whatever becomes of it."""
    spec = get_model(cfg.model)
    return dict(
        run_id=run_id,
        cell=cfg.cell_name(),
        config=asdict(cfg),
        model={
            "params": spec.params,
            "flops_per_example": spec.flops_per_example,
            "train_flops_per_example": spec.train_flops_per_example,
            "target_accuracy": spec.target_accuracy,
        },
        schedule=schedule,
    )


@dataclass
class Training:
    """What a cell's epochs share: the trainer, its clock, the latency log and where the
    timed part of epoch 1 begins (``head`` steps were the latency steps)."""

    cfg: RunConfig
    trainer: object
    clock: ChunkClock
    latency: StepLog
    warm: int  # warm-up calls in the latency log
    head: int
    chunk: int
    diverged: int | None = None


def _latency_and_plan(cfg, trainer, data: CellData, turns: Turns) -> tuple[StepLog, int, int, int]:
    """The set-up turn's latency steps (the diagnostic), then the chunk size: the
    user's, the coordinator's (the same for every backend of a round), or this cell's
    own plan. Returns (latency log, warm-up calls, head steps, chunk steps)."""
    b, k = cfg.batch_size, cfg.steps_per_execution
    steps_per_epoch = len(data.y_train) // b
    order = epoch_batches(len(data.y_train), b, cfg.seed, 0).ravel()
    warm, head = latency_plan(cfg.warmup_steps, cfg.latency_steps, steps_per_epoch, k)
    rows = order[: head * b]
    latency = trainer.latency_steps(data.x_train[rows], data.y_train[rows])
    warm //= latency.steps_per_call  # from here on counted in timed calls
    steady = latency.seconds[warm:]
    estimate = float(np.median(steady)) if steady else None
    turns.give({"kind": "setup", "step_seconds": estimate})
    message = turns.take()
    # over several hosts every host must cut the same chunks: planned from the steps alone
    mine = [None] if cfg.hosts > 1 else [estimate]
    chunk = cfg.chunk_steps or message.get("chunk_steps") or plan_chunk_steps(cfg, mine)
    return latency, warm, head, chunk


def _train_epoch(t: Training, data: CellData, epoch: int, turns: Turns) -> list[ChunkRecord]:
    """One epoch's steps in the seeded batch order: whole chunks on the clock, then the
    tail (fewer than one execution) outside it. Returns the epoch's chunks."""
    cfg, b, k = t.cfg, t.cfg.batch_size, t.cfg.steps_per_execution
    steps_per_epoch = len(data.y_train) // b
    first = len(t.clock.records)
    order = epoch_batches(len(data.y_train), b, cfg.seed, epoch).ravel()
    skip = t.head if epoch == 0 else 0
    x_epoch, y_epoch = data.x_train[order[skip * b :]], data.y_train[order[skip * b :]]
    offset = 0
    parts, tail = split_steps(steps_per_epoch - skip, t.chunk or 1, k)
    for size, count in [] if t.diverged else parts:
        turns.take()  # fit()'s own set-up happens inside a turn, outside the clock
        lo = offset * b
        if t.trainer.train_chunks(x_epoch[lo:], y_epoch[lo:], size, count, t.clock):
            t.diverged = sum(r.steps for r in t.clock.records) + t.head
            break
        offset += size * count
    if tail and not t.diverged:  # a shorter execution, outside the clock
        turns.take()
        t.trainer.train_untimed(x_epoch[offset * b :], y_epoch[offset * b :], tail)
    return t.clock.records[first:]


def _epoch_record(t: Training, data: CellData, epoch: int, mine: list[ChunkRecord]):
    """The epoch's record and the predicted test labels (None when it diverged)."""
    steps_per_epoch = len(data.y_train) // t.cfg.batch_size
    if t.diverged:
        seconds = _epoch_seconds(mine, steps_per_epoch)
        return EpochRecord(epoch + 1, None, None, None, seconds, steps_per_epoch), None
    test_loss = test_acc = predicted = None  # a host other than 0 only trains
    if t.trainer.evaluates:
        test_loss, test_acc, predicted = evaluate(t.trainer.predict, data.x_test, data.y_test)
    if t.cfg.dataset and not load_dataset(t.cfg.dataset).has_accuracy:
        test_acc = None  # synthetic labels: an accuracy would mean nothing
    losses = [(r.loss, r.steps) for r in mine if r.loss is not None]
    if losses:
        train_loss = float(sum(v * n for v, n in losses) / sum(n for _, n in losses))
    else:
        train_loss = float(np.mean(t.latency.losses)) if t.latency.losses else None
    seconds = _epoch_seconds(mine or t.clock.records, steps_per_epoch)
    record = EpochRecord(epoch + 1, train_loss, test_loss, test_acc, seconds, steps_per_epoch)
    return record, predicted


def _train(cfg, trainer, data: CellData, turns: Turns, progress: Progress):
    """The latency steps, then every epoch in chunks with an evaluation after each.
    Returns the Training state, the epochs' records and the last predicted labels."""
    bk = frameworks.current()
    latency, warm, head, chunk = _latency_and_plan(cfg, trainer, data, turns)
    # every cell, Keras or native, waits for its device the same way before a clock
    model = trainer.model
    drain = model.drain if cfg.impl == "native" else (lambda: bk.drain(model))
    drain = getattr(trainer, "drain", None) or drain  # a replica's own, where it has one
    clock = ChunkClock(turns, drain, progress.chunk)
    t = Training(cfg, trainer, clock, latency, warm, head, chunk, latency.diverged_at)
    history, predicted = [], None
    steps_per_epoch = len(data.y_train) // cfg.batch_size
    for epoch in range(cfg.epochs):
        turns.take()  # the epoch's batch gather (a copy of the data) is work too
        clock.epoch = epoch + 1
        progress.epoch_start(epoch, steps_per_epoch)
        mine = _train_epoch(t, data, epoch, turns)
        turns.take()  # evaluation: inside a turn, outside every clock
        record, predicted = _epoch_record(t, data, epoch, mine)
        history.append(record)
        if t.diverged:
            break
        progress.epoch_end(record, mine)
        if epoch + 1 < cfg.epochs:
            turns.give({"kind": "eval", "epoch": epoch + 1, "test_accuracy": record.test_accuracy})
    return t, history, predicted


def run_cell(
    cfg: RunConfig,
    mnist: Mnist,
    run_id: str,
    applied: dict,
    progress=None,
    turns: Turns | None = None,
    schedule: str | None = None,
    place: Place | None = None,
) -> tuple[RunResult, object]:
    """Train one cell; returns the result and the trained model. Never raises for a
    failure inside training: that is recorded as status ``failed``. Returns holding
    the turn, so the caller can write the result inside it. ``place``: this process's
    place among several hosts (``run --hosts``), which all run the cell in step."""
    turns = turns or Turns(Baton())
    progress = progress or Progress(cfg)
    bk = frameworks.current()
    base = _base(cfg, run_id, schedule)
    env = fingerprint(cfg.backend, bk.device_info(cfg.device), {**asdict(cfg), **applied})
    env["half_support"] = native_half_support(cfg.dtype_policy, env)  # None: native units
    model = trainer = None
    try:
        turns.take()  # set-up: building, compiling, the latency steps
        reset_peak_rss()
        bk.reset_peak_memory(cfg.device)
        data = cell_data(cfg, mnist)
        trainer = make_trainer(cfg, mnist, place)
        model = trainer.model
        if base["model"]["params"] is None:  # a brought model: counted now it is built
            base["model"].update(
                params=int(model.count_params()), flops_per_example=forward_flops(model)
            )
        if cfg.impl == "keras":  # a brought model's own input layout
            x_train, x_test = as_input(model, data.x_train), as_input(model, data.x_test)
            data = replace(data, x_train=x_train, x_test=x_test)
        env["settings"].update(trainer.resolved)
        t, history, predicted = _train(cfg, trainer, data, turns, progress)
        result = _summarise(cfg, base, env, t, history)
        if wants_inference(cfg) and not t.diverged:
            result = _inference(cfg, result, model, data, turns, history, progress)
        if predicted is not None:
            wrong = np.nonzero(predicted != data.y_test)[0]
            result = replace(result, misclassified=[[int(i), int(predicted[i])] for i in wrong])
    except Exception as e:  # recorded, not raised: one failed cell must not stop the rest
        tb = traceback.format_exc(limit=-3)
        turns.take()
        result = RunResult(
            **base,
            environment=env,
            status="failed",
            error=f"{type(e).__name__}: {e}\n{tb}",
            peak_rss_bytes=peak_rss(),
        )
    if hasattr(trainer, "close"):  # torch DDP: the other ranks stop with this cell
        trainer.close()
    return result, model


def _inference(cfg, result, model, data: CellData, turns, history, progress) -> RunResult:
    """The trained model's inference timing, added to its result."""
    ending = {"kind": "eval", "epoch": cfg.epochs, "test_accuracy": history[-1].test_accuracy}
    first, records = run_inference(cfg, model, data.x_test, turns, ending)
    result = replace(result, **inference_fields(first, records))
    progress.note(inference_line(result))
    return result


def wants_inference(cfg: RunConfig) -> bool:
    """Inference is timed for Keras models on one device in Keras' own loop."""
    return (
        cfg.impl == "keras"
        and cfg.loop == "fit"
        and cfg.replicas() == 1
        and cfg.inference_rounds > 0
    )


def inference_fields(first, records) -> dict:
    """The result's inference fields from the set-up and the measured turns."""
    single = np.concatenate([r.single_ms for r in records]) if records else np.array([])
    seconds = sum(r.seconds for r in records)
    return dict(
        inference=records,
        predict_examples_per_s=sum(r.examples for r in records) / seconds if seconds else None,
        predict_first_s=first.predict_first_s,
        single_first_ms=first.single_first_ms,
        single_median_ms=float(np.median(single)) if single.size else None,
        single_p99_ms=float(np.percentile(single, 99)) if single.size else None,
    )


def inference_line(r: RunResult) -> str:
    return (
        f"inference: predict() {r.predict_examples_per_s:,.0f} examples/s, one example "
        f"median {r.single_median_ms:.2f} ms, p99 {r.single_p99_ms:.2f} ms"
    )


def _epoch_seconds(chunks: list[ChunkRecord], steps: int) -> float:
    """An epoch's training time on the throughput clock: its steps at the rate of its
    chunks (the few latency steps of epoch 1 are counted at that rate too)."""
    seconds, n = sum(r.seconds for r in chunks), sum(r.steps for r in chunks)
    return steps * seconds / n if n else 0.0


def _summarise(cfg: RunConfig, base: dict, env: dict, t: Training, history: list) -> RunResult:
    spec = get_model(cfg.model)
    chunks = t.clock.records
    seconds, steps = sum(r.seconds for r in chunks), sum(r.steps for r in chunks)
    throughput = steps * cfg.batch_size / seconds if seconds > 0 else None
    steady = t.latency.seconds[t.warm :]
    tta = ete = None
    if spec.target_accuracy is not None:  # a brought model has no target
        tta, ete = time_to_target(
            [h.train_seconds for h in history],
            [h.test_accuracy if h.test_accuracy is not None else -1 for h in history],
            spec.target_accuracy,
        )
    last = history[-1] if history else None
    return RunResult(
        **base,
        environment=env,
        status="diverged" if t.diverged else "ok",
        diverged_step=t.diverged or None,
        throughput_examples_per_s=throughput,
        ms_per_step=seconds / steps * 1e3 if steps else None,
        chunks=chunks,
        chunk_steps=t.chunk,
        cpu_per_wall=sum(r.cpu_seconds for r in chunks) / seconds if seconds > 0 else None,
        gflops_per_s=spec.train_flops_per_example * throughput / 1e9
        if throughput and spec.train_flops_per_example
        else None,
        latency_ms=summarize(steady) if len(steady) >= 2 else None,
        latency_steps_ms=[s * 1e3 for s in steady],
        warmup_ms=[s * 1e3 for s in t.latency.seconds[: t.warm]],
        first_step_ms=t.latency.seconds[0] * 1e3 if t.latency.seconds else None,
        fit_setup_s=t.trainer.fit_setup_s,
        history=history,
        final_test_accuracy=last.test_accuracy if last else None,
        final_test_loss=last.test_loss if last else None,
        reached_target=tta is not None,
        time_to_accuracy_s=tta,
        epochs_to_accuracy=ete,
        total_train_seconds=sum(h.train_seconds for h in history),
        peak_rss_bytes=peak_rss(),
        peak_device_bytes=frameworks.current().peak_device_memory(cfg.device),
    )
