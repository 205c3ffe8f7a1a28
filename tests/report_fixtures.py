"""Small result folders built in the tests: runs whose chunks trained in rounds, with a
shared slow patch of the machine (the report tests' material)."""

import zlib
from dataclasses import replace

import numpy as np

from suite.core.config import RunConfig, validate
from suite.core.results import (
    ChunkRecord,
    EpochRecord,
    InferenceRecord,
    RunResult,
    write_result,
)
from suite.report.collect import collect
from suite.report.groups import group


def make_run(
    backend,
    model,
    seed,
    ms,
    acc,
    host="box",
    n=12,
    spread=0.02,
    status="ok",
    schedule="s1",
    policy="float32",
    **settings,
):
    """A result whose chunks ran in rounds 1..n of ``schedule``; each round's machine
    speed (a shared factor, seeded by round) hits every backend of that round alike.
    ``settings``: other RunConfig fields (e.g. a tuned cell's mode)."""
    cfg = RunConfig(backend=backend, model=model, seed=seed, dtype_policy=policy, **settings)
    cfg = validate(cfg, check_install=False)
    rng = np.random.default_rng(zlib.crc32(f"{backend}{model}{seed}{ms}".encode()))
    machine = 1 + 0.3 * (np.arange(n) >= n // 2)  # a 30% slow patch, shared by all
    steps = 20
    chunks = [
        ChunkRecord(
            1,
            steps,
            steps * ms / 1e3 * machine[i] * (1 + spread * rng.standard_normal()),
            0.0,
            4,
            i + 1,
            0.3,
        )
        for i in range(n)
    ]
    seconds = sum(c.seconds for c in chunks)
    batch = cfg.batch_size
    return RunResult(
        run_id="r1",
        cell=cfg.cell_name(),
        status=status,
        config={**cfg.__dict__},
        model={"params": 1, "flops_per_example": 1000, "target_accuracy": 0.9},
        environment={
            "backend": backend,
            "cpu": "TestCPU",
            "cpu_cores_logical": 2,
            "hostname": host,
            "device": {"kind": "cpu", "name": "cpu"},
            "framework": {backend: "1.0"},
            "settings": {"intra_op_threads": 2},
            "python": "3.11",
            "keras": "3.15",
            "os": "linux",
            "timestamp": "2026-12-01T10:00:00+00:00",
            "git_commit": "0123abc",
            "memory_bytes": 24 * 2**30,
            "cpu_vector_flags": ["avx", "avx2", "fma"],
            "half_support": None if policy == "float32" else "no bf16 units (test)",
        },
        throughput_examples_per_s=n * steps * batch / seconds,
        ms_per_step=seconds / (n * steps) * 1e3,
        chunks=chunks,
        chunk_steps=steps,
        schedule=f"{schedule}/{model}/seed{seed}",
        first_step_ms=500.0,
        history=[
            EpochRecord(1, 0.4, 0.3, acc - 0.01, 5.0, 50),
            EpochRecord(2, 0.3, 0.2, acc, 10.0, 100),
        ],
        final_test_accuracy=acc,
        time_to_accuracy_s=10.0,
        peak_rss_bytes=2**30,
        misclassified=[[0, 3]],
    )


def with_inference(run, us_per_example, single_ms, n=4, spread=0.02, first_round=100):
    """``run`` with ``n`` inference turns in rounds ``first_round``.., under the same kind
    of shared slow patch as its chunks: predict() at ``us_per_example`` µs per example,
    single-example calls around ``single_ms``."""
    rng = np.random.default_rng(zlib.crc32(f"{run.cell}{us_per_example}{single_ms}".encode()))
    machine = 1 + 0.3 * (np.arange(n) >= n // 2)
    records = [
        InferenceRecord(
            round=first_round + i,
            examples=10000,
            seconds=10000
            * us_per_example
            / 1e6
            * machine[i]
            * (1 + spread * rng.standard_normal()),
            single_ms=list(single_ms * machine[i] * (1 + 0.05 * rng.standard_normal(50))),
        )
        for i in range(n)
    ]
    single = np.concatenate([r.single_ms for r in records])
    return replace(
        run,
        inference=records,
        predict_examples_per_s=n * 10000 / sum(r.seconds for r in records),
        predict_first_s=1.0,
        single_first_ms=100.0,
        single_median_ms=float(np.median(single)),
        single_p99_ms=float(np.percentile(single, 99)),
    )


def write_results_dir(tmp_path):
    d = tmp_path / "results" / "run1"
    for seed in range(3):
        for backend, ms in (("jax", 1.0), ("torch", 1.2), ("tensorflow", 1.0)):
            r = make_run(backend, "mlp", seed, ms, 0.97 + 0.001 * seed)
            write_result(d / f"{r.cell}.json", r)
    (d / "broken.json").write_text("{ not json")
    (d / "other.json").write_text('{"schema": "someone-else/v9"}')
    return tmp_path / "results"


def cells_of(folder):
    return next(iter(group(collect([folder]).runs).values()))


def startup_blob(jax_start=(11.0, 11.5, 10.5), torch_start=(1.0, 1.2, 0.9), warm_jax=3.0):
    """A start-up result's rows: jax starts later and steps faster than torch."""
    rows = []
    for r, (sj, st) in enumerate(zip(jax_start, torch_start, strict=True)):
        for b, total, step in (("jax", sj, 0.03), ("torch", st, 0.06)):
            for cache, t in (("cold", total), ("warm", warm_jax if b == "jax" else total)):
                rows.append({"backend": b, "model": "cnn", "cache": cache, "repeat": r,
                             "import_s": 0.5, "build_s": 0.2, "first_step_s": t - 0.7,
                             "step_s": step, "total_s": t, "steps_per_epoch": 468})  # fmt: skip
    return {"backends": ["jax", "torch"], "models": ["cnn"], "rows": rows}
