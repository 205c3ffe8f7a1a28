"""Command line: parse, prepare the backend, call a library function.

Nothing here imports keras or a framework at module level: the backend must be
chosen (KERAS_BACKEND) before keras is imported.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from suite.errors import SuiteError


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_models(args) -> int:
    from models import MODELS
    from suite.format import format_table

    rows = [
        [
            s.name,
            f"{s.params:,}",
            f"{s.flops_per_example:,}",
            f"{s.target_accuracy:.1%}",
            f"{s.recipe.optimizer} lr={s.recipe.learning_rate:g} batch={s.recipe.batch_size} "
            f"epochs={s.recipe.epochs}",
        ]
        for s in MODELS.values()
    ]
    print(format_table(["model", "parameters", "FLOPs/example", "target", "recipe"], rows))
    return 0


def cmd_data(args) -> int:
    from suite import data

    mnist = data.load_mnist(args.data, log=_log)
    print(f"source:  {mnist.source}")
    print(f"cache:   {mnist.cache_path}")
    for key, a in mnist.arrays().items():
        print(f"{key:8} {a.dtype}{list(a.shape)}  sha256 {data.sha256(a)}")
    for key in ("y_train", "y_test"):
        counts = " ".join(str(int(c)) for c in __import__("numpy").bincount(getattr(mnist, key)))
        print(f"{key} label counts: {counts}")
    print("verified: shapes, dtypes, label counts and SHA-256 match MNIST")
    return 0


def _configs(args) -> list:
    from models import MODELS
    from suite.config import RunConfig, validate

    names = list(MODELS) if args.model == "all" else [args.model]
    return [
        validate(
            RunConfig(
                backend=args.backend,
                model=name,
                seed=seed,
                device=args.device,
                epochs=args.epochs,
                batch_size=args.batch_size,
                learning_rate=args.lr,
                optimizer=args.optimizer,
                schedule=args.schedule,
                jit=args.jit,
                data_format=args.data_format,
                steps_per_execution=args.steps_per_execution,
                threads=args.threads,
                allow_tf32=args.allow_tf32,
                warmup_steps=args.warmup_steps,
                train_examples=args.train_examples,
                test_examples=args.test_examples,
                impl=args.impl,
            )
        )
        for name in names
        for seed in args.seeds
    ]


def cmd_run(args) -> int:
    from pathlib import Path

    from suite.backends import select_backend
    from suite.results import check_writable

    configs = _configs(args)  # every bad setting is refused before anything starts
    out = Path(args.out)
    check_writable(out)
    first = configs[0]
    select_backend(first.backend, first.device, first.threads, first.allow_tf32)

    from suite import data, train
    from suite.results import new_run_dir, write_result

    applied = train.prepare(first)
    mnist = data.load_mnist(args.data, log=_log)
    run_dir = new_run_dir(out)
    _log(
        f"run {run_dir.name}: {len(configs)} cell(s) on {first.backend}/{first.device}, "
        f"results in {run_dir}"
    )
    results = []
    for cfg in configs:
        result, model = train.run_cell(cfg, mnist, run_dir.name, applied)
        if args.save_weights and model is not None and result.status == "ok":
            weights = run_dir / f"{result.cell}.weights.h5"
            model.save_weights(weights)
            result = replace(result, weights_file=weights.name)
        path = write_result(run_dir / f"{result.cell}.json", result)
        _log(f"wrote {path}")
        results.append(result)
    print(format_results(results))
    return 1 if any(r.status == "failed" for r in results) else 0


def cmd_timing_check(args) -> int:
    from suite.backends import select_backend

    fixed = dict(
        seeds=[0],
        epochs=None,
        steps_per_execution=1,
        lr=None,
        optimizer=None,
        schedule=None,
        train_examples=60000,
        test_examples=10000,
        allow_tf32=False,
        warmup_steps=5,
        impl="keras",
    )
    configs = _configs(argparse.Namespace(**{**fixed, **vars(args)}))
    select_backend(configs[0].backend, configs[0].device, configs[0].threads)

    from suite import data, train
    from suite.format import format_table
    from suite.timing_check import check_timing

    train.prepare(configs[0])
    mnist = data.load_mnist(args.data, log=_log)
    rows = []
    for cfg in configs:
        _log(f"[{cfg.backend} {cfg.model}] {args.blocks} blocks of {args.steps} steps each way")
        c = check_timing(cfg, mnist, steps=args.steps, blocks=args.blocks)
        rows.append(
            [
                c.backend,
                c.model,
                f"{c.suite.median:.3f} [{c.suite.ci_low:.3f}, {c.suite.ci_high:.3f}]",
                f"{c.bare.median:.3f} [{c.bare.ci_low:.3f}, {c.bare.ci_high:.3f}]",
                f"{c.ratio:.3f}",
                f"{c.suite.n}/{c.bare.n}",
            ]
        )
    print(
        format_table(
            [
                "backend",
                "model",
                "suite ms/step [95% CI]",
                "bare loop ms/step",
                "suite/bare",
                "steps",
            ],
            rows,
        )
    )
    return 0


def cmd_grads(args) -> int:
    import os
    from pathlib import Path

    from models import MODELS
    from suite.backends import BACKENDS
    from suite.data import cache_dir, load_mnist
    from suite.results import check_writable

    for kind, given, allowed in (
        ("model", args.models, MODELS),
        ("backend", args.backends, BACKENDS),
        ("dtype", args.dtypes, ("float32", "float64")),
    ):
        for name in given:
            if name not in allowed:
                raise SuiteError(f"unknown {kind} {name!r}; choose from {', '.join(allowed)}")
    if args.batch_size < 1 or args.batch_size > 60000 or args.steps < 0:
        raise SuiteError("--batch-size must be 1..60000 and --steps must not be negative")
    if args.steps and args.steps * args.batch_size > 60000:
        raise SuiteError("--steps x --batch-size exceeds one epoch of 60000 images")
    out = Path(args.out)
    check_writable(out)
    load_mnist(args.data, log=_log)  # fetch once here, so the children read the cache
    if args.data:
        os.environ["SUITE_MNIST"] = args.data

    from suite.grads import format_report, run_grads

    report, path = run_grads(
        args.models,
        args.backends,
        args.dtypes,
        args.steps,
        args.batch_size,
        args.seed,
        args.threads or os.cpu_count() or 1,
        out,
        cache_dir() / "weights",
        log=_log,
    )
    print(format_report(report))
    _log(f"wrote {path}")
    return 0 if all(p["pass"] for p in report["pairs"] + report["reference"]) else 1


def cmd_sweep(args) -> int:
    import json
    from pathlib import Path

    from suite.atomic import write_atomic
    from suite.backends import select_backend
    from suite.results import check_writable

    fixed = dict(
        seeds=[0],
        lr=None,
        optimizer=None,
        schedule=None,
        steps_per_execution=1,
        jit="auto",
        data_format="channels_last",
        allow_tf32=False,
        warmup_steps=5,
        test_examples=10000,
        impl="keras",
    )
    configs = _configs(argparse.Namespace(**{**fixed, **vars(args)}))
    out = Path(args.out)
    check_writable(out)
    select_backend(configs[0].backend, configs[0].device, configs[0].threads)

    from suite import data, train
    from suite.results import new_run_dir
    from suite.sweep import run_sweep

    applied = train.prepare(configs[0])
    mnist = data.load_mnist(args.data, log=_log)
    run_dir = new_run_dir(out)
    sweeps = []
    for cfg in configs:
        sweep = run_sweep(cfg, mnist, run_dir, applied, _log)
        sweeps.append(sweep)
        text = json.dumps(sweep, indent=1, allow_nan=False).encode()
        write_atomic(
            run_dir / f"sweep-{cfg.backend}-{cfg.model}.json",
            lambda f, t=text: f.write(t),
            overwrite=False,
        )
        print(format_sweep(sweep))
    _log(f"wrote {run_dir}")
    return 0


def format_sweep(sweep: dict) -> str:
    from suite.format import format_table

    rows = []
    for m in sweep["modes"]:
        best = m["mode"] in (sweep["best_keras"], sweep["best_native"])
        rows.append(
            [
                m["mode"] + (" *" if best else ""),
                m["status"],
                f"{m['median_ms']:.3f} [{m['ci_ms'][0]:.3f}, {m['ci_ms'][1]:.3f}]"
                if m["median_ms"] is not None
                else "-",
                f"{m['first_step_ms']:.0f}" if m["first_step_ms"] is not None else "-",
                f"{m['test_accuracy']:.2%}" if m["test_accuracy"] is not None else "-",
                "yes" if m["trains_correctly"] else "no",
                (m["error"] or "")[:60],
            ]
        )
    head = f"sweep {sweep['backend']} {sweep['model']} (* = fastest that trains correctly)"
    table = format_table(
        [
            "mode",
            "status",
            "ms/step median [95% CI]",
            "first step ms",
            "test acc",
            "trains ok",
            "error",
        ],
        rows,
    )
    o = sweep["overhead"]
    tail = (
        f"Keras overhead: {o['keras_mode']} / native {o['native_mode']} = {o['ratio']:.2f}x "
        f"[{o['ci'][0]:.2f}, {o['ci'][1]:.2f}]"
        if o
        else "Keras overhead: n/a"
    )
    return f"{head}\n{table}\n{tail}\n"


def cmd_compare(args) -> int:
    from pathlib import Path

    from models import MODELS
    from suite.compare import check_backends, run_compare
    from suite.config import DEVICES
    from suite.data import load_mnist
    from suite.results import check_writable

    backends = check_backends(args.backends)
    for m in args.models:
        if m not in MODELS:
            raise SuiteError(f"unknown model {m!r}; choose from {', '.join(MODELS)}")
    if args.seeds < 1:
        raise SuiteError(f"--seeds must be at least 1, got {args.seeds}")
    if args.device not in DEVICES:
        raise SuiteError(f"--device {args.device!r} is not one of {', '.join(DEVICES)}")
    out = Path(args.out)
    check_writable(out)
    load_mnist(args.data, log=_log)  # fetched once here; the children read the cache
    if not 1 <= args.train_examples <= 60000:
        raise SuiteError("--train-examples must be 1..60000")
    code = run_compare(
        backends,
        args.models,
        args.seeds,
        args.device,
        args.quick,
        out,
        args.force,
        args.data,
        _log,
        train_examples=args.train_examples,
    )
    from suite.report import build_report, terminal_summary

    print(terminal_summary(build_report([out])))
    return code


def cmd_report(args) -> int:
    from pathlib import Path

    from suite.report import write_report

    folders = [Path(f) for f in args.dirs]
    out = Path(args.out)
    from suite.results import check_writable

    check_writable(out)
    for path in write_report(folders, out):
        print(path)
    return 0


def cmd_diff(args) -> int:
    from pathlib import Path

    from suite.report_data import collect, diff_rows

    old, new = collect([Path(args.old)]), collect([Path(args.new)])
    rows = diff_rows(old.runs, new.runs)
    if not rows:
        raise SuiteError(
            f"no cell is in both {args.old} and {args.new} (same backend, device, "
            "model, impl and settings); nothing to compare"
        )
    from suite.format import format_table

    table = [
        [
            r["backend"],
            r["device"],
            r["model"],
            r["impl"],
            f"{r['old_ms']:.3f}" if r["old_ms"] else "-",
            f"{r['new_ms']:.3f}" if r["new_ms"] else "-",
            f"{r['ratio']:.2f}" if r["ratio"] else "-",
            f"{r['p']:.1e}" if r["p"] is not None else "-",
            r["step_flag"],
            f"{r['old_acc']:.2%} -> {r['new_acc']:.2%}",
            "CHANGED" if r["acc_flag"] else "",
        ]
        for r in rows
    ]
    print(
        format_table(
            [
                "backend",
                "device",
                "model",
                "impl",
                "old ms",
                "new ms",
                "new/old",
                "p (Mann-Whitney)",
                "step",
                "accuracy",
                "acc",
            ],
            table,
        )
    )
    flagged = [r for r in rows if r["step_flag"] or r["acc_flag"]]
    print(
        f"{len(flagged)} of {len(rows)} cells changed beyond noise "
        "(step time > 10% with p < 0.05; accuracy beyond seed noise)"
    )
    return 1 if flagged else 0


def format_results(results) -> str:
    from suite.format import format_table

    rows = []
    for r in results:
        t = r.step_time_ms
        rows.append(
            [
                r.config["backend"],
                r.config["model"],
                r.config["seed"],
                r.status,
                f"{r.final_test_accuracy:.2%}" if r.final_test_accuracy is not None else "-",
                f"{t.median:.3f} [{t.ci_low:.3f}, {t.ci_high:.3f}]" if t else "-",
                f"{t.iqr:.3f}" if t else "-",
                f"{r.first_step_ms:.0f}" if r.first_step_ms is not None else "-",
                f"{r.throughput_examples_per_s:,.0f}" if r.throughput_examples_per_s else "-",
                f"{r.time_to_accuracy_s:.1f}" if r.time_to_accuracy_s is not None else "-",
                f"{r.total_train_seconds:.1f}" if r.total_train_seconds is not None else "-",
            ]
        )
    headers = [
        "backend",
        "model",
        "seed",
        "status",
        "test acc",
        "ms/step median [95% CI]",
        "IQR",
        "first step ms",
        "examples/s",
        "time to target s",
        "train s",
    ]
    return format_table(headers, rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m suite",
        description="Train and compare Keras 3 models on MNIST under torch, JAX and TensorFlow.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("models", help="list the models, their size, FLOPs, target and recipe")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("data", help="fetch or verify MNIST and print where it came from")
    p.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="mnist.npz or a folder of the four IDX files "
        "(default: $SUITE_MNIST, then the cache, then offline sources)",
    )
    p.set_defaults(func=cmd_data)

    p = sub.add_parser(
        "run",
        help="train and evaluate models on one backend, writing one JSON result per cell",
        description="Train on the full 60,000 MNIST training images with each model's recipe "
        "(every part overridable), evaluate on the 10,000 test images after every "
        "epoch, and write one JSON result per (model, seed) under a new run folder.",
    )
    p.add_argument(
        "--backend", required=True, metavar="NAME", help="torch, jax or tensorflow (required)"
    )
    p.add_argument(
        "--model", default="all", metavar="NAME", help="softmax, mlp, cnn or all (default: all)"
    )
    p.add_argument("--device", default="cpu", metavar="D", help="cpu or gpu (default: cpu)")
    p.add_argument("--epochs", type=int, help="epochs (default: the model's recipe)")
    p.add_argument("--batch-size", type=int, help="batch size (default: the model's recipe)")
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
        "--jit",
        default="auto",
        metavar="MODE",
        help="auto, on or off: Keras jit_compile; on torch, on = torch.compile "
        "(default: auto, Keras' own choice, recorded as resolved)",
    )
    p.add_argument(
        "--data-format",
        default="channels_last",
        metavar="F",
        help="channels_last or channels_first (default: channels_last)",
    )
    p.add_argument(
        "--impl",
        default="keras",
        metavar="I",
        help="keras, or native: the same network and step written directly in the "
        "framework, without Keras (default: keras)",
    )
    p.add_argument(
        "--steps-per-execution",
        type=int,
        default=1,
        metavar="N",
        help="train steps per compiled call (default: 1)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="T",
        help="intra-op threads for every backend (default: 0 = all cores)",
    )
    p.add_argument(
        "--allow-tf32",
        action="store_true",
        help="allow TF32 matmuls on GPU (default: off, for full float32 accuracy)",
    )
    p.add_argument(
        "--warmup-steps",
        type=int,
        default=5,
        metavar="N",
        help="first steps reported as warm-up/compile, not step time (default: 5)",
    )
    p.add_argument(
        "--train-examples",
        type=int,
        default=60000,
        metavar="N",
        help="train on the first N images, for smoke runs (default: 60000)",
    )
    p.add_argument(
        "--test-examples",
        type=int,
        default=10000,
        metavar="N",
        help="evaluate on the first N test images (default: 10000)",
    )
    p.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help="results folder; each invocation makes a new run folder in it (default: results)",
    )
    p.add_argument(
        "--save-weights",
        action="store_true",
        help="also save trained weights (.weights.h5, loadable on any backend) (default: off)",
    )
    p.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="MNIST npz or IDX folder (default: $SUITE_MNIST, cache, offline sources)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "timing-check",
        help="compare the suite's step timing with a bare loop over Keras' train step",
        description="Times the same compiled Keras train step inside fit() with the suite's "
        "step timer and in a bare loop with no callbacks, alternating blocks on "
        "the same batches, and prints both medians and their ratio.",
    )
    p.add_argument(
        "--backend", required=True, metavar="NAME", help="torch, jax or tensorflow (required)"
    )
    p.add_argument(
        "--model", default="all", metavar="NAME", help="softmax, mlp, cnn or all (default: all)"
    )
    p.add_argument("--device", default="cpu", metavar="D", help="cpu or gpu (default: cpu)")
    p.add_argument("--batch-size", type=int, help="batch size (default: the model's recipe)")
    p.add_argument(
        "--steps", type=int, default=40, metavar="N", help="steps per block (default: 40)"
    )
    p.add_argument(
        "--blocks",
        type=int,
        default=12,
        metavar="N",
        help="alternating blocks of each method (default: 12)",
    )
    p.add_argument("--jit", default="auto", metavar="MODE", help="auto, on or off (default: auto)")
    p.add_argument(
        "--data-format",
        default="channels_last",
        metavar="F",
        help="channels_last or channels_first (default: channels_last)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="T",
        help="intra-op threads (default: 0 = all cores)",
    )
    p.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="MNIST npz or IDX folder (default: $SUITE_MNIST, cache, offline sources)",
    )
    p.set_defaults(func=cmd_timing_check)

    p = sub.add_parser(
        "grads",
        help="do the backends compute the same loss, gradients and training path?",
        description="Loads one set of shared initial weights into each model on every "
        "backend (one child process each), computes logits, loss and gradients "
        "on the same batch in float32 and float64, compares every pair of "
        "backends and the softmax model against a closed-form numpy reference, "
        "then trains K steps of SGD and Adam on each backend and reports how far "
        "the weights drift apart. Exit code 1 if any comparison fails.",
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=["softmax", "mlp", "cnn"],
        metavar="M",
        help="models to check (default: softmax mlp cnn)",
    )
    p.add_argument(
        "--backends",
        nargs="+",
        default=["torch", "jax", "tensorflow"],
        metavar="B",
        help="backends; uninstalled ones are skipped (default: torch jax tensorflow)",
    )
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
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="T",
        help="intra-op threads (default: 0 = all cores)",
    )
    p.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help="folder for grads-<time>.json (default: results)",
    )
    p.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="MNIST npz or IDX folder (default: $SUITE_MNIST, cache, offline sources)",
    )
    p.set_defaults(func=cmd_grads)

    p = sub.add_parser(
        "sweep",
        help="time each execution mode of one backend and the native implementation",
        description="Trains one backend and model under each execution mode (jit on/off, "
        "channels_first for the CNN, steps_per_execution 8, native with and "
        "without compilation), writes a result per mode, marks the fastest mode "
        "that still trains correctly, and prints Keras/native step time with a "
        "95%% CI. Failing or unsupported modes are recorded, not dropped.",
    )
    p.add_argument(
        "--backend", required=True, metavar="NAME", help="torch, jax or tensorflow (required)"
    )
    p.add_argument(
        "--model", default="all", metavar="NAME", help="softmax, mlp, cnn or all (default: all)"
    )
    p.add_argument("--device", default="cpu", metavar="D", help="cpu or gpu (default: cpu)")
    p.add_argument("--epochs", type=int, default=1, help="epochs per mode (default: 1)")
    p.add_argument("--batch-size", type=int, help="batch size (default: the model's recipe)")
    p.add_argument(
        "--train-examples",
        type=int,
        default=60000,
        metavar="N",
        help="train on the first N images (default: 60000)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="T",
        help="intra-op threads (default: 0 = all cores)",
    )
    p.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help="results folder; a new run folder per invocation (default: results)",
    )
    p.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="MNIST npz or IDX folder (default: $SUITE_MNIST, cache, offline sources)",
    )
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "compare",
        help="the main job: every backend x model x seed, the gradient check, and the report",
        description="Runs the matrix (each backend in its own child process), then the "
        "gradient check, then writes the report into OUT/report. Resumable: cells "
        "whose result already exists in OUT are skipped unless --force. A failed "
        "cell is recorded and the rest go on; exit code 1 if any cell failed. "
        "Ctrl-C stops cleanly, finished cells kept.",
    )
    p.add_argument(
        "--backends",
        nargs="+",
        default=["torch", "jax", "tensorflow"],
        metavar="B",
        help="backends; uninstalled ones are skipped (default: torch jax tensorflow)",
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=["softmax", "mlp", "cnn"],
        metavar="M",
        help="models (default: softmax mlp cnn)",
    )
    p.add_argument(
        "--seeds", type=int, default=3, metavar="N", help="seeds 0..N-1 per cell (default: 3)"
    )
    p.add_argument("--device", default="cpu", metavar="D", help="cpu or gpu (default: cpu)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="1 epoch, 1 seed, 10 trajectory steps: a smoke run in minutes "
        "(default: off, the registry recipes)",
    )
    p.add_argument(
        "--out",
        default="results/compare",
        metavar="DIR",
        help="output folder, reused to resume (default: results/compare)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run every cell again even if its result exists (default: off)",
    )
    p.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="MNIST npz or IDX folder (default: $SUITE_MNIST, cache, offline sources)",
    )
    p.add_argument(
        "--train-examples",
        type=int,
        default=60000,
        metavar="N",
        help="train on the first N images, for smoke tests (default: 60000)",
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "report",
        help="write report.md, report.html and report.csv from result folders",
        description="Reads one or more result folders (from several machines too; results "
        "from different devices are grouped, never ranked against each other) "
        "and writes report.md, a self-contained report.html and report.csv.",
    )
    p.add_argument("dirs", nargs="+", metavar="DIR", help="result folders to read")
    p.add_argument(
        "--out",
        default="results/report",
        metavar="DIR",
        help="where to write the report (default: results/report)",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "diff",
        help="compare two result sets and flag real changes",
        description="Compares the cells present in both result sets: step time changes "
        "beyond 10% that are significant (Mann-Whitney U, p < 0.05) and accuracy "
        "changes beyond seed noise. Exit code 1 if anything changed.",
    )
    p.add_argument("old", metavar="OLD", help="results folder before")
    p.add_argument("new", metavar="NEW", help="results folder after")
    p.set_defaults(func=cmd_diff)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SuiteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
