"""Command line: parse arguments and hand them to ``suite.commands``.

Every flag's help states its default. Bad input ends as one ``error:`` line and
exit code 2 (``SuiteError``); nothing here imports keras or a framework.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import suite
from suite import commands
from suite.errors import SuiteError

DATA_HELP = (
    "MNIST npz or a folder of the four IDX files (default: $SUITE_MNIST, the cache, "
    "then offline sources)"
)


def _shared(p: argparse.ArgumentParser, *names: str, out: str = "results") -> None:
    """Arguments several commands take, spelled and documented once."""
    spec = {
        "backend": (
            ["--backend"],
            dict(required=True, metavar="NAME", help="torch, jax or tensorflow (required)"),
        ),
        "model": (
            ["--model"],
            dict(default="all", metavar="NAME", help="softmax, mlp, cnn or all (default: all)"),
        ),
        "device": (
            ["--device"],
            dict(default="cpu", metavar="D", help="cpu or gpu (default: cpu)"),
        ),
        "batch_size": (
            ["--batch-size"],
            dict(type=int, metavar="B", help="batch size (default: the model's recipe)"),
        ),
        "train_examples": (
            ["--train-examples"],
            dict(
                type=int,
                default=60000,
                metavar="N",
                help="train on the first N images, for smoke runs (default: 60000)",
            ),
        ),
        "threads": (
            ["--threads"],
            dict(
                type=int, default=0, metavar="T", help="intra-op threads (default: 0 = all cores)"
            ),
        ),
        "jit": (
            ["--jit"],
            dict(
                default="auto",
                metavar="MODE",
                help="auto, on or off: Keras jit_compile; on torch, on = "
                "torch.compile (default: auto, Keras' own choice)",
            ),
        ),
        "data_format": (
            ["--data-format"],
            dict(
                default="channels_last",
                metavar="F",
                help="channels_last or channels_first (default: channels_last)",
            ),
        ),
        "out": (
            ["--out"],
            dict(default=out, metavar="DIR", help=f"results folder (default: {out})"),
        ),
        "data": (["--data"], dict(metavar="PATH", default=None, help=DATA_HELP)),
        "models": (
            ["--models"],
            dict(
                nargs="+",
                default=["softmax", "mlp", "cnn"],
                metavar="M",
                help="models (default: softmax mlp cnn)",
            ),
        ),
        "chunk_steps": (
            ["--chunk-steps"],
            dict(
                type=int,
                default=0,
                metavar="N",
                help="steps per timed throughput chunk; 0 = about 2 s of the slowest "
                "backend's work, at least 20 steps, at least 8 chunks per cell (default: 0)",
            ),
        ),
        "devices": (
            ["--devices"],
            dict(
                type=int,
                default=1,
                metavar="N",
                help="data-parallel over N devices with each backend's own engine "
                "(JAX DataParallel, TensorFlow MirroredStrategy, torch DDP); on a CPU, N "
                "virtual devices sharing its cores (default: 1)",
            ),
        ),
        "backends": (
            ["--backends"],
            dict(
                nargs="+",
                default=["torch", "jax", "tensorflow"],
                metavar="B",
                help="backends; uninstalled ones are skipped (default: torch jax tensorflow)",
            ),
        ),
    }
    for name in names:
        flags, kwargs = spec[name]
        p.add_argument(*flags, **kwargs)


def _add_run(sub) -> None:
    p = sub.add_parser(
        "run",
        help="train and evaluate models on one backend, one JSON result per cell",
        description="Train on the full 60,000 MNIST training images with each model's "
        "recipe (every part overridable), evaluate on the 10,000 test images "
        "after every epoch, and write one JSON result per (model, seed) in a new "
        "run folder under --out.",
    )
    _shared(p, "backend", "model", "device")
    p.add_argument(
        "--recipe",
        metavar="NAME",
        help="reproduce a source notebook's recipe instead (model, task, initialisation, "
        "loss, SGD settings); see `recipes` (default: none)",
    )
    p.add_argument("--epochs", type=int, help="epochs (default: the model's recipe, or --recipe's)")
    _shared(p, "batch_size")
    p.add_argument("--lr", type=float, help="learning rate (default: the model's recipe)")
    p.add_argument("--optimizer", help="optimizer name, e.g. adam, sgd (default: the recipe)")
    p.add_argument(
        "--schedule",
        help="learning-rate schedule: cosine (decays to 0 over the "
        "run) or constant (default: the recipe's, cosine)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        metavar="S",
        help="seeds for initial weights, batch order and dropout (default: 0)",
    )
    p.add_argument(
        "--impl",
        default="keras",
        metavar="I",
        help="keras, or native: the same network and step written directly in "
        "the framework, without Keras (default: keras)",
    )
    _shared(p, "jit", "data_format")
    p.add_argument(
        "--steps-per-execution",
        type=int,
        default=1,
        metavar="N",
        help="train steps per compiled call, Keras' or (JAX, TensorFlow) the native "
        "loop's (default: 1)",
    )
    _shared(p, "threads", "chunk_steps", "devices")
    p.add_argument(
        "--loop",
        default="fit",
        metavar="L",
        help="fit (Keras' own) or torch-ddp (torch only: the Keras model in torch's "
        "DistributedDataParallel loop, which --devices N on torch always uses; with "
        "--devices 1 it is that loop's one-device baseline) (default: fit)",
    )
    p.add_argument(
        "--latency-steps",
        type=int,
        default=20,
        metavar="N",
        help="steps after warm-up timed one by one, the latency diagnostic (default: 20)",
    )
    p.add_argument(
        "--allow-tf32",
        action="store_true",
        help="allow TF32 matmuls on GPU (default: off, full float32 accuracy)",
    )
    p.add_argument(
        "--warmup-steps",
        type=int,
        default=5,
        metavar="N",
        help="first steps reported as warm-up/compile, not step time (default: 5)",
    )
    _shared(p, "train_examples")
    p.add_argument(
        "--test-examples",
        type=int,
        default=10000,
        metavar="N",
        help="evaluate on the first N test images (default: 10000)",
    )
    _shared(p, "out")
    p.add_argument(
        "--save-weights",
        action="store_true",
        help="also save trained weights (.weights.h5, loadable on any backend) (default: off)",
    )
    p.add_argument(
        "--load-weights",
        metavar="FILE",
        help="start from these weights (a Keras .weights.h5 file saved on any backend) "
        "instead of the shared initial weights (default: none)",
    )
    p.add_argument(
        "--evaluate-only",
        action="store_true",
        help="with --load-weights: evaluate the loaded weights on the test set, no training "
        "(default: off)",
    )
    _shared(p, "data")
    p.set_defaults(func=commands.cmd_run)


def _add_measurements(sub) -> None:
    p = sub.add_parser(
        "timing-check",
        help="hold the suite's throughput against a plain fit() and its latency against a "
        "bare loop",
        description="In alternating blocks on the same batches: the suite's chunked "
        "throughput against a plain, uninstrumented fit() (or, with --impl native, one "
        "uninterrupted native loop), with a 95% CI from the blocks; and the per-step "
        "latency diagnostic against a bare loop over Keras' own train function.",
    )
    _shared(p, "backend", "model", "device", "batch_size")
    p.add_argument("--impl", default="keras", metavar="I", help="keras or native (default: keras)")
    p.add_argument(
        "--steps", type=int, default=160, metavar="N", help="steps per block (default: 160)"
    )
    p.add_argument(
        "--blocks",
        type=int,
        default=6,
        metavar="N",
        help="alternating blocks of each method (default: 6)",
    )
    _shared(p, "jit", "data_format", "threads", "data")
    p.set_defaults(func=commands.cmd_timing_check)

    p = sub.add_parser(
        "grads",
        help="do the backends compute the same loss, gradients and training path?",
        description="Loads one set of shared initial weights into each model on every "
        "backend (one child process each), computes logits, loss and gradients "
        "on the same batch in float32 and float64, compares every pair of "
        "backends and the softmax and MLP models against float64 numpy "
        "references, then trains K steps of SGD and Adam on each backend and "
        "reports how far the weights drift apart. Exit code 1 if any "
        "comparison fails.",
    )
    _shared(p, "models")
    _shared(p, "backends")
    p.add_argument(
        "--dtypes",
        nargs="+",
        default=["float32", "float64"],
        metavar="D",
        help="float32 and/or float64 (default: both)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=100,
        metavar="K",
        help="trajectory steps per optimizer; 0 skips it (default: 100)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=256,
        metavar="N",
        help="the fixed batch is the first N training images (default: 256)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the shared initial weights and batch order (default: 0)",
    )
    _shared(p, "threads", "out", "data")
    p.set_defaults(func=commands.cmd_grads)

    p = sub.add_parser(
        "sweep",
        help="time each execution mode of one backend and the native implementation",
        description="Trains one backend and model under each execution "
        "mode (jit on/off, channels_first for the CNN, steps_per_execution 8, native with "
        "and without compilation, and native with 8 steps per call on JAX and "
        "TensorFlow), each mode in its own worker and all of them side by side in rounds "
        "(as compare trains backends), writes a result per mode, marks the fastest mode "
        "that still trains correctly, and prints its margin over the runner-up and "
        "Keras ÷ native time, each with a 95% CI paired by round. Failing "
        "or unsupported modes are recorded, not dropped.",
    )
    _shared(p, "backend", "model", "device")
    p.add_argument("--epochs", type=int, default=1, help="epochs per mode (default: 1)")
    _shared(p, "batch_size", "train_examples", "threads", "out", "data")
    p.set_defaults(func=commands.cmd_sweep)


def _add_compare(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="the main job: every backend x model x seed, the gradient check, and the report",
        description="Runs the matrix (one long-lived worker per backend; the backends "
        "train each model and seed side by side, a chunk each per round), then the "
        "gradient check, then writes the report into OUT/report. "
        "Resumable: cells whose result already exists in OUT are skipped unless --force. A "
        "failed cell is recorded and the rest go on; exit code 1 if any cell failed. "
        "Ctrl-C stops cleanly, finished cells kept.",
    )
    _shared(p, "backends")
    _shared(p, "models")
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        metavar="S",
        help="seeds for initial weights, batch order and dropout, one cell each; --quick "
        "uses 0 only (default: 0 1 2)",
    )
    _shared(p, "device")
    p.add_argument(
        "--quick",
        action="store_true",
        help="1 epoch, 1 seed, 10 trajectory steps: a smoke run in minutes "
        "(default: off, the registry recipes)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        help="epochs of every model, also with --quick: more timed work narrows the "
        "speed CIs (about as 1/sqrt(epochs); see README) (default: the recipes', or 1 "
        "with --quick)",
    )
    p.add_argument(
        "--native",
        action="store_true",
        help="also train each backend's native implementation in the same rounds, "
        "for Keras ÷ native with a paired CI (default: off)",
    )
    _shared(p, "out", out="results/compare")
    p.add_argument(
        "--force",
        action="store_true",
        help="run every cell again even if its result exists (default: off)",
    )
    _shared(p, "train_examples", "chunk_steps", "devices", "data")
    p.set_defaults(func=commands.cmd_compare)


def _add_recipes(sub) -> None:
    p = sub.add_parser(
        "recipes",
        help="list the source notebooks' recipes; --compare runs them on every backend",
        description="Lists each notebook recipe with the notebook's own printed figure. "
        "With --compare, runs each recipe on every installed backend (one process "
        "each, `run --recipe NAME`) and prints the notebook's figure beside each "
        "backend's accuracy.",
    )
    p.add_argument(
        "names", nargs="*", metavar="NAME", help="recipes to compare (default: all of them)"
    )
    p.add_argument(
        "--compare", action="store_true", help="run them on every backend (default: off)"
    )
    p.add_argument(
        "--epochs", type=int, help="override every recipe's epochs, for smoke runs (default: none)"
    )
    _shared(p, "backends")
    _shared(p, "out", out="results/recipes")
    _shared(p, "data")
    p.set_defaults(func=commands.cmd_recipes)


def _add_portability(sub) -> None:
    p = sub.add_parser(
        "portability",
        help="do weights saved on one backend predict the same on the others?",
        description="Each backend trains every model for one epoch on the first N training "
        "images and saves its weights (.weights.h5); every other backend loads them and "
        "predicts the 10,000 test images. Per (saved on, loaded on) pair: the largest "
        "logit difference against a tolerance, and how many predicted labels differ. "
        "Exit code 1 if any pair fails.",
    )
    _shared(p, "models", "backends")
    p.add_argument(
        "--train-examples",
        type=int,
        default=6000,
        metavar="N",
        help="images for the brief training before saving (default: 6000)",
    )
    _shared(p, "out", out="results/portability")
    _shared(p, "data")
    p.set_defaults(func=commands.cmd_portability)


def _add_parallel_check(sub) -> None:
    p = sub.add_parser(
        "parallel-check",
        help="is data-parallel training over N devices the same as on one device?",
        description="Per backend (one process each): K SGD steps (lr 0.1, dropout off) from "
        "the shared initial weights on the same global batches, once on one device with "
        "Keras fit() and once over N devices with the backend's engine (JAX "
        "DataParallel, TensorFlow MirroredStrategy, torch DDP); the weights must agree "
        "within a float32 tolerance. --fault breaks the N-device run on purpose: the "
        "check must then fail. Exit code 1 if any check fails.",
    )
    _shared(p, "models", "backends")
    p.add_argument("--devices", type=int, default=2, metavar="N", help="devices (default: 2)")
    p.add_argument("--steps", type=int, default=5, metavar="K", help="SGD steps (default: 5)")
    p.add_argument(
        "--batch-size", type=int, default=64, metavar="B", help="global batch (default: 64)"
    )
    p.add_argument(
        "--fault",
        default="none",
        metavar="F",
        help="none, wrong-shard (replica 1 trains on replica 0's shard) or unaveraged "
        "(torch: gradients not all-reduced) (default: none)",
    )
    p.set_defaults(func=commands.cmd_parallel_check)


def _add_reporting(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write report.md, report.html and report.csv from result folders",
        description="Reads one or more result folders (from several machines too; results "
        "from different devices are grouped, never ranked against each other) "
        "and writes report.md, a self-contained report.html and report.csv.",
    )
    p.add_argument("dirs", nargs="+", metavar="DIR", help="result folders to read")
    _shared(p, "out", out="results/report")
    p.set_defaults(func=commands.cmd_report)

    p = sub.add_parser(
        "diff",
        help="compare two result sets and flag real changes",
        description="Compares the cells present in both result sets: training-throughput "
        "changes beyond 10% whose 95% Welch interval over runs (seeds) excludes no change "
        "(with one run a side, only changes beyond the 30% drift seen between identical "
        "runs), and accuracy changes beyond seed noise. Exit code 1 if anything changed.",
    )
    p.add_argument("old", metavar="OLD", help="results folder before")
    p.add_argument("new", metavar="NEW", help="results folder after")
    p.set_defaults(func=commands.cmd_diff)


def program_name(argv0: str | None = None) -> str:
    """How the user called us: the console script's name, else ``python -m suite``."""
    name = Path(argv0 if argv0 is not None else sys.argv[0]).name
    return name if name and name not in ("__main__.py", "-c", "cli.py") else "python -m suite"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name(),
        description="Train and compare Keras 3 models on MNIST under torch, JAX and "
        "TensorFlow. Start with `compare --quick`.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {suite.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_compare(sub)
    p = sub.add_parser("models", help="list the models, their size, FLOPs, target and recipe")
    p.set_defaults(func=commands.cmd_models)
    p = sub.add_parser("data", help="fetch or verify MNIST and print where it came from")
    _shared(p, "data")
    p.set_defaults(func=commands.cmd_data)
    _add_run(sub)
    _add_measurements(sub)
    _add_recipes(sub)
    _add_portability(sub)
    _add_parallel_check(sub)
    _add_reporting(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:  # e.g. `models | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so Python's exit-time flush stays quiet
        return 1
    except SuiteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished results are kept", file=sys.stderr)
        return 130
