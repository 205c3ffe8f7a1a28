"""What several commands share: flags whose defaults, choices and help come from
``RunConfig``, ``BACKENDS`` and ``MODELS`` (written once, there), the configs a command
builds from its flags, name checks, progress output and loading MNIST."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np

from models import MODELS
from suite.core.config import CHOICES, LOOPS, SEED_LIMIT, RunConfig, check_model, validate
from suite.core.data import TEST_IMAGES, TRAIN_IMAGES
from suite.core.datasets import is_dataset, load_dataset
from suite.core.errors import SuiteError
from suite.core.platform import BACKENDS

DEFAULTS = {f.name: f.default for f in fields(RunConfig)}
DATA_HELP = (
    "MNIST npz or a folder of the four IDX files (default: $SUITE_MNIST, the cache, "
    "then offline sources); or, for a model you bring, npz:PATH (x_train, y_train, "
    "x_test, y_test) or synthetic:SHAPE:CLASSES[:N] (e.g. synthetic:32x32x3:10, speed "
    "only: no accuracy)"
)


def at_least(low: int, flag: str, unit: str):
    """An argparse ``type=`` for a count: the int, or the one-line error every command
    that takes ``flag`` gives for it (``suite.cli`` turns it into exit code 2)."""

    def convert(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise SuiteError(f"{flag} {text}: not a whole number") from None
        if n < low:
            raise SuiteError(f"{flag} {n}: give at least {low} {unit}")
        return n

    return convert


def data_source(text: str) -> str:
    """An argparse ``type=`` for --data: a dataset spec whose form is right (its file
    read later), or an MNIST npz or IDX folder that is there, checked before anything
    is built or written."""
    from suite.core.datasets import PREFIXES, parse_synthetic

    if text.startswith("synthetic:"):
        parse_synthetic(text)
        return text
    path = text.split(":", 1)[1] if text.startswith(PREFIXES) else text
    if not Path(path).exists():
        raise SuiteError(
            f"--data {text}: no such file or folder here (give a local MNIST npz or a folder "
            "of its four IDX files, or npz:PATH / synthetic:SHAPE:CLASSES for a model you bring)"
        )
    return text


def log(msg: str) -> None:
    """Progress and notes go to stderr; results to stdout."""
    print(msg, file=sys.stderr, flush=True)


def _or(names) -> str:
    names = list(names)
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _flags() -> dict[str, tuple[list[str], dict]]:
    """Every shared flag: its spelling and its argparse settings."""
    d = DEFAULTS
    return {
        "backend": (
            ["--backend"],
            dict(required=True, metavar="NAME", help=f"{_or(BACKENDS)} (required)"),
        ),
        "model": (
            ["--model"],
            dict(
                default="all",
                metavar="NAME",
                help=f"{_or([*MODELS, 'all'])}, or a model you bring: MODULE:FUNCTION or "
                "path/to/file.py:FUNCTION, FUNCTION(input_shape, num_classes) returning an "
                "uncompiled keras.Model (default: all)",
            ),
        ),
        "device": (
            ["--device"],
            dict(
                default=d["device"],
                metavar="D",
                help=f"{_or(CHOICES['device'])} (default: {d['device']})",
            ),
        ),
        "seeds": (
            ["--seeds"],
            dict(
                type=int,
                nargs="+",
                default=[d["seed"]],
                metavar="S",
                help=f"seeds for initial weights, batch order and dropout (default: {d['seed']})",
            ),
        ),
        "epochs_run": (
            ["--epochs"],
            dict(type=int, help="epochs (default: the model's recipe)"),
        ),
        "batch_size": (
            ["--batch-size"],
            dict(type=int, metavar="B", help="batch size (default: the model's recipe)"),
        ),
        "train_examples": (
            ["--train-examples"],
            dict(
                type=int,
                default=d["train_examples"],
                metavar="N",
                help=f"train on the first N images, for smoke runs (default: {TRAIN_IMAGES})",
            ),
        ),
        "threads": (
            ["--threads"],
            dict(
                type=int,
                default=d["threads"],
                metavar="T",
                help=f"intra-op threads (default: {d['threads']} = all cores)",
            ),
        ),
        "jit": (
            ["--jit"],
            dict(
                default=d["jit"],
                metavar="MODE",
                help=f"{_or(CHOICES['jit'])}: Keras jit_compile; on torch, on = "
                f"torch.compile (default: {d['jit']}, Keras' own choice)",
            ),
        ),
        "data_format": (
            ["--data-format"],
            dict(
                default=d["data_format"],
                metavar="F",
                help=f"{_or(CHOICES['data_format'])} (default: {d['data_format']})",
            ),
        ),
        "data": (["--data"], dict(metavar="PATH", default=None, type=data_source, help=DATA_HELP)),
        "models": (
            ["--models"],
            dict(
                nargs="+",
                default=list(MODELS),
                metavar="M",
                help=f"models (default: {' '.join(MODELS)})",
            ),
        ),
        "chunk_steps": (
            ["--chunk-steps"],
            dict(
                type=int,
                default=d["chunk_steps"],
                metavar="N",
                help="steps per timed throughput chunk; 0 = about 2 s of the slowest "
                "backend's work, at least 20 steps, at least 8 chunks per cell "
                f"(default: {d['chunk_steps']})",
            ),
        ),
        "devices": (
            ["--devices"],
            dict(
                type=at_least(1, "--devices", "device"),
                default=d["devices"],
                metavar="N",
                help="data-parallel over N devices with each backend's own engine "
                "(JAX DataParallel, TensorFlow MirroredStrategy, torch DDP); on a CPU, N "
                f"virtual devices sharing its cores (default: {d['devices']})",
            ),
        ),
        "hosts": (
            ["--hosts"],
            dict(
                type=at_least(1, "--hosts", "host"),
                default=d["hosts"],
                metavar="H",
                help="H processes on this machine standing for H hosts (each with --devices "
                "devices, on its own share of the cores), talking over 127.0.0.1 with each "
                "backend's multi-host engine: JAX jax.distributed with gloo and fit() on "
                "each host's rows; TensorFlow MultiWorkerMirroredStrategy with the suite's "
                "loop (Keras 3.15's fit() fails under it); torch DDP over a tcp "
                "rendezvous, one process per rank. Host 0 times and evaluates "
                f"(default: {d['hosts']})",
            ),
        ),
        "port": (
            ["--port"],
            dict(
                type=int,
                default=None,
                metavar="P",
                help="with --hosts: the first of the loopback ports to use, P, P+1, ... "
                "(default: free ones)",
            ),
        ),
        "dtype_policy": (
            ["--dtype-policy"],
            dict(
                default=d["dtype_policy"],
                metavar="P",
                help=f"Keras dtype policy of every layer: {_or(CHOICES['dtype_policy'])}; "
                "the mixed ones keep variables in float32 and compute in the half type "
                "(mixed_float16 with Keras' loss scaling) "
                f"(default: {d['dtype_policy']})",
            ),
        ),
        "inference_rounds": (
            ["--inference-rounds"],
            dict(
                type=int,
                default=d["inference_rounds"],
                metavar="R",
                help="after training, R turns each timing predict() over the test set at "
                f"batch {d['inference_batch']} and {d['inference_calls']} single-example "
                f"calls; 0: no inference timing (default: {d['inference_rounds']})",
            ),
        ),
        "backends": (
            ["--backends"],
            dict(
                nargs="+",
                default=list(BACKENDS),
                metavar="B",
                help=f"backends; uninstalled ones are skipped (default: {' '.join(BACKENDS)})",
            ),
        ),
        "lr": (
            ["--lr"],
            dict(type=float, help="learning rate (default: the model's recipe)"),
        ),
        "optimizer": (
            ["--optimizer"],
            dict(help="optimizer name, e.g. adam, sgd (default: the recipe)"),
        ),
        "schedule": (
            ["--schedule"],
            dict(
                help="learning-rate schedule: cosine (decays to 0 over the run) or constant "
                "(default: the recipe's, cosine)"
            ),
        ),
        "impl": (
            ["--impl"],
            dict(
                default=d["impl"],
                metavar="I",
                help=f"{' or '.join(CHOICES['impl'])}; native: the same network and step "
                f"written directly in the framework, without Keras (default: {d['impl']})",
            ),
        ),
        "steps_per_execution": (
            ["--steps-per-execution"],
            dict(
                type=int,
                default=d["steps_per_execution"],
                metavar="N",
                help="train steps per compiled call, Keras' or (JAX, TensorFlow) the native "
                f"loop's (default: {d['steps_per_execution']})",
            ),
        ),
        "loop": (
            ["--loop"],
            dict(
                default=d["loop"],
                metavar="L",
                help=f"{LOOPS[0]} (Keras' own) or {LOOPS[1]} (torch only: the Keras model in "
                "torch's DistributedDataParallel loop, which --devices N on torch always "
                "uses; with --devices 1 it is that loop's one-device baseline) "
                f"(default: {d['loop']})",
            ),
        ),
        "latency_steps": (
            ["--latency-steps"],
            dict(
                type=int,
                default=d["latency_steps"],
                metavar="N",
                help="steps after warm-up timed one by one, the latency diagnostic "
                f"(default: {d['latency_steps']})",
            ),
        ),
        "allow_tf32": (
            ["--allow-tf32"],
            dict(
                action="store_true",
                help="allow TF32 matmuls on GPU (default: off, full float32 accuracy)",
            ),
        ),
        "warmup_steps": (
            ["--warmup-steps"],
            dict(
                type=int,
                default=d["warmup_steps"],
                metavar="N",
                help="first steps reported as warm-up/compile, not step time (default: "
                f"{d['warmup_steps']})",
            ),
        ),
        "test_examples": (
            ["--test-examples"],
            dict(
                type=int,
                default=d["test_examples"],
                metavar="N",
                help=f"evaluate on the first N test images (default: {d['test_examples']})",
            ),
        ),
    }


def add(p: argparse.ArgumentParser, *names: str, **changed) -> None:
    """Add the shared flags ``names`` to parser ``p`` (``changed``: settings that differ
    for this command, e.g. its own ``help``)."""
    spec = _flags()
    for name in names:
        flags, kwargs = spec[name]
        p.add_argument(*flags, **{**kwargs, **changed})


# the flags of one cell's training settings (``RunConfig``'s fields), in --help's order
TRAINING_FLAGS = (
    "epochs_run", "batch_size", "lr", "optimizer", "schedule", "impl", "jit", "data_format",
    "dtype_policy", "steps_per_execution", "threads", "chunk_steps", "loop", "latency_steps",
    "allow_tf32", "warmup_steps", "inference_rounds",
)  # fmt: skip


def add_training_flags(p: argparse.ArgumentParser) -> None:
    """How one cell trains: every ``RunConfig`` setting ``run`` takes a flag for."""
    add(p, *TRAINING_FLAGS)


def add_data_flags(p: argparse.ArgumentParser) -> None:
    """Which data: the training and test slices and the --data source."""
    add(p, "train_examples", "test_examples", "data")


def add_hosts_flags(p: argparse.ArgumentParser) -> None:
    """Data-parallel devices and hosts over 127.0.0.1."""
    add(p, "devices", "hosts", "port")


def add_out(p: argparse.ArgumentParser, default: str = "results") -> None:
    p.add_argument(
        "--out", default=default, metavar="DIR", help=f"results folder (default: {default})"
    )


# argparse spells one RunConfig field differently
ARG_TO_FIELD = {"lr": "learning_rate"}


def configs(args) -> list[RunConfig]:
    """One validated RunConfig per (model, seed). Fields a command has no flag for keep
    RunConfig's defaults, which are the only defaults."""
    names = {f.name for f in fields(RunConfig)} - {"model", "seed"}
    given = {ARG_TO_FIELD.get(k, k): v for k, v in vars(args).items()}
    settings = {k: v for k, v in given.items() if k in names}
    models = list(MODELS) if args.model == "all" else [args.model]
    seeds = getattr(args, "seeds", [0])
    check_seeds(seeds)
    settings.update(
        dataset_settings(getattr(args, "data", None), models,
                         settings.get("train_examples", TRAIN_IMAGES),
                         settings.get("test_examples", TEST_IMAGES))
    )  # fmt: skip
    return [validate(RunConfig(model=m, seed=s, **settings)) for m in models for s in seeds]


def dataset_settings(
    data: str | None, models: list[str], train_examples: int, test_examples: int = TEST_IMAGES
) -> dict:
    """For --data npz:/synthetic:, the RunConfig fields it sets: the dataset, and the
    example counts cut to its size. The registry's models take it only when its examples
    are 784 values in at most 10 classes (MNIST-like); others refuse in one line."""
    if not is_dataset(data):
        return {}
    d = load_dataset(data)
    size = int(np.prod(d.example_shape))
    for m in models:
        if m in MODELS and (size != 28 * 28 or d.classes > 10):
            raise SuiteError(
                f"--data {data}: model {m} is built for 28x28 images in 10 classes, the data "
                f"has {d.example_shape} in {d.classes}; bring a model for it "
                "(--model MODULE:FUNCTION)"
            )
    return {
        "dataset": data,
        "train_examples": min(train_examples, len(d.y_train)),
        "test_examples": min(test_examples, len(d.y_test)),
    }


def check_hosts(hosts: int, port: int | None) -> None:
    """``--hosts`` and ``--port`` as every command that takes them refuses them
    (``--hosts`` below 1 is refused at the door, by its ``at_least`` converter)."""
    if port is not None and hosts == 1:
        raise SuiteError(f"--port {port}: only with --hosts 2 or more")


def check_seeds(seeds: list[int]) -> None:
    """Each seed once, each one numpy's generators take."""
    if len(set(seeds)) != len(seeds):
        raise SuiteError(f"--seeds {' '.join(map(str, seeds))}: give each seed once")
    bad = [s for s in seeds if not 0 <= s < SEED_LIMIT]
    if bad:
        raise SuiteError(f"--seeds {bad[0]}: a seed must be 0..{SEED_LIMIT - 1}")


def check_names(kind: str, given: list[str], allowed, flag: str | None = None) -> None:
    """Every name one of ``allowed``; SuiteError naming the flag (default: ``--{kind}s``)
    and the first that is not."""
    flag = flag or f"--{kind}s"
    for name in given:
        if name not in allowed:
            raise SuiteError(
                f"{flag} {name}: unknown {kind} {name!r}; choose from {', '.join(allowed)}"
            )


def check_models(given: list[str], flag: str = "--models") -> None:
    """Registry names or brought models (MODULE:FUNCTION whose source is there)."""
    for name in given:
        check_model(name, flag)


def check_train_examples(n: int, low: int = 1, flag: str = "--train-examples") -> None:
    if not low <= n <= TRAIN_IMAGES:
        raise SuiteError(f"{flag} {n}: choose {low}..{TRAIN_IMAGES} (MNIST has {TRAIN_IMAGES})")


def load_data(path: str | None, datasets: bool = False):
    """Verified MNIST for a command, its progress on stderr (``suite.training.mnist``)."""
    from suite.training.mnist import load_data as load

    return load(path, datasets, log)
