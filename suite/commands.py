"""The commands behind the CLI: each validates its input, prepares the backend, and
calls a library function. Nothing here imports keras or a framework at module level:
the backend must be chosen (KERAS_BACKEND) before keras is imported."""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from suite.backends import BACKENDS
from suite.errors import SuiteError
from suite.format import format_results, format_sweep


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
            f"{s.train_flops_per_example:,}",
            f"{s.target_accuracy:.1%}",
            f"{s.recipe.optimizer} lr={s.recipe.learning_rate:g} batch={s.recipe.batch_size} "
            f"epochs={s.recipe.epochs}",
        ]
        for s in MODELS.values()
    ]
    print(
        format_table(
            [
                "model",
                "parameters",
                "forward FLOPs/example",
                "training FLOPs/example",
                "target",
                "recipe",
            ],
            rows,
        )
    )
    return 0


def cmd_data(args) -> int:
    import numpy as np

    from suite import data

    mnist = data.load_mnist(args.data, log=_log)
    print(f"source:  {mnist.source}")
    print(f"cache:   {mnist.cache_path}")
    for key, a in mnist.arrays().items():
        print(f"{key:8} {a.dtype}{list(a.shape)}  sha256 {data.sha256(a)}")
    for key in ("y_train", "y_test"):
        counts = " ".join(str(int(c)) for c in np.bincount(getattr(mnist, key)))
        print(f"{key} label counts: {counts}")
    print("verified: shapes, dtypes, label counts and SHA-256 match MNIST")
    return 0


# argparse spells one RunConfig field differently
_ARG_TO_FIELD = {"lr": "learning_rate"}


def _configs(args) -> list:
    """One validated RunConfig per (model, seed). Fields a command has no flag for keep
    RunConfig's defaults, which are the only defaults."""
    from dataclasses import fields

    from models import MODELS
    from suite.config import RunConfig, validate

    names = {f.name for f in fields(RunConfig)} - {"model", "seed"}
    given = {_ARG_TO_FIELD.get(k, k): v for k, v in vars(args).items()}
    settings = {k: v for k, v in given.items() if k in names}
    models = list(MODELS) if args.model == "all" else [args.model]
    seeds = getattr(args, "seeds", [0])
    if len(set(seeds)) != len(seeds):
        raise SuiteError(f"--seeds {' '.join(map(str, seeds))}: give each seed once")
    return [validate(RunConfig(model=m, seed=s, **settings)) for m in models for s in seeds]


def _check_names(kind: str, given: list[str], allowed) -> None:
    for name in given:
        if name not in allowed:
            raise SuiteError(f"unknown {kind} {name!r}; choose from {', '.join(allowed)}")


def cmd_run(args) -> int:

    from suite.backends import select_backend
    from suite.results import check_writable

    if args.recipe:
        return _run_recipe(args)
    if args.evaluate_only and not args.load_weights:
        raise SuiteError("--evaluate-only evaluates loaded weights: give --load-weights FILE")
    configs = _configs(args)  # every bad setting is refused before anything starts
    out = None if args.evaluate_only else check_writable(args.out)
    first = configs[0]
    select_backend(first.backend, first.device, first.threads, first.allow_tf32, first.devices)

    from suite import data, train
    from suite.results import new_run_dir, write_result

    applied = train.prepare(first)
    if args.evaluate_only:  # writes nothing: a file that does not fit fails as it loads
        return _evaluate_loaded(configs, data.load_mnist(args.data, log=_log))
    for cfg in configs:  # a weights file that does not fit fails now, before any folder
        if cfg.load_weights:
            train.build_compiled_model(cfg)
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


def _evaluate_loaded(configs, mnist) -> int:
    """Test loss and accuracy of loaded weights; nothing is written."""
    from suite.data import preprocess
    from suite.train import build_compiled_model, evaluate

    for cfg in configs:
        model = build_compiled_model(cfg)
        x = preprocess(mnist.x_test[: cfg.test_examples], cfg.data_format)
        y = mnist.y_test[: cfg.test_examples].astype("int64")
        loss, accuracy, _ = evaluate(lambda b, m=model: m.predict_on_batch(b), x, y)
        print(
            f"{cfg.model} on {cfg.backend} from {cfg.load_weights}: test accuracy "
            f"{accuracy:.2%}, test loss {loss:.4f} ({len(y)} images)"
        )
    return 0


# run flags a recipe fixes itself: given with --recipe they are refused, not ignored
RECIPE_FIXES = ("batch_size", "lr", "optimizer", "schedule", "impl", "load_weights")


def _recipe_settings(args):
    """The recipe and its epochs, after refusing flags the recipe decides."""
    from suite.recipes import get_recipe

    recipe = get_recipe(args.recipe)
    given = [f for f in RECIPE_FIXES if getattr(args, f, None) not in (None, "keras")]
    if args.model != "all":
        given.insert(0, "model")
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise SuiteError(f"{flag} cannot be combined with --recipe: the recipe sets it")
    if len(args.seeds) != len(set(args.seeds)):
        raise SuiteError(f"--seeds {' '.join(map(str, args.seeds))}: give each seed once")
    epochs = recipe.epochs if args.epochs is None else args.epochs
    if epochs <= 0:
        raise SuiteError(f"--epochs must be positive, got {epochs}")
    if not 0 <= args.train_examples <= 60000:
        raise SuiteError(f"--train-examples {args.train_examples}: MNIST has 60000")
    return recipe, epochs


def _run_recipe(args) -> int:
    from suite.backends import select_backend
    from suite.results import check_writable

    recipe, epochs = _recipe_settings(args)
    out = check_writable(args.out)
    select_backend(args.backend, args.device, args.threads)

    from suite import backends, data
    from suite.fingerprint import fingerprint
    from suite.recipes import recipe_data, run_recipe, write_recipe_result
    from suite.results import new_run_dir

    mnist = data.load_mnist(args.data, log=_log)
    run_dir = new_run_dir(out)
    device = backends.current().device_info(args.device)
    for seed in args.seeds:
        subset = recipe_data(recipe, mnist, seed, args.train_examples)
        env = fingerprint(args.backend, device, {"recipe": recipe.name, "epochs": epochs})
        result = run_recipe(recipe, subset, seed, epochs, args.backend, args.device, env, log=_log)
        path = write_recipe_result(run_dir, result)
        _log(f"wrote {path}")
        published = f"{recipe.published:.2%}" if recipe.published else "none printed"
        print(
            f"{recipe.name} on {args.backend}, seed {seed}: accuracy "
            f"{result.final_accuracy:.2%} after {epochs} epochs (notebook: {published})"
        )
    return 0


def cmd_recipes(args) -> int:
    from suite.format import format_table
    from suite.recipes import RECIPES

    if args.compare:
        return _compare_recipes(args)
    rows = [
        [
            r.name,
            r.notebook.split("_")[0],
            r.summary,
            f"{r.init}, {r.loss}, SGD lr={r.learning_rate:g}, batch {r.batch_size}, "
            f"{r.epochs} epochs{'' if r.shuffle else ', no shuffling'}",
            f"{r.published:.2%} ({r.published_what})" if r.published else r.published_what,
        ]
        for r in RECIPES.values()
    ]
    print(format_table(["recipe", "notebook", "what", "settings", "notebook's figure"], rows))
    return 0


def _stream_child(cmd: list[str], prefix: str) -> int:
    """Run a child, passing its progress lines on (framework log noise left out)."""
    import subprocess

    from suite.backends import FRAMEWORK_LOG, child_env

    proc = subprocess.Popen(cmd, env=child_env(), stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if line.strip() and not FRAMEWORK_LOG.match(line):
            _log(prefix + line.rstrip())
    return proc.wait()


def _compare_recipes(args) -> int:
    """Each recipe on each backend, one child process per backend, then the table."""
    from suite.backends import installed_backends
    from suite.format import format_table
    from suite.recipes import RECIPES, load_recipe_results, recipe_rows
    from suite.results import check_writable

    names = args.names or list(RECIPES)
    _check_names("recipe", names, RECIPES)
    if args.epochs is not None and args.epochs <= 0:
        raise SuiteError(f"--epochs must be positive, got {args.epochs}")
    _check_names("backend", args.backends, BACKENDS)
    out = check_writable(args.out)
    backends = [b for b in args.backends if b in installed_backends()]
    code = 0
    for name in names:
        for backend in backends:
            _log(f"recipe {name} on {backend} ...")
            cmd = [sys.executable, "-m", "suite", "run", "--recipe", name, "--backend", backend]
            cmd += ["--out", str(out)] + (["--data", args.data] if args.data else [])
            cmd += ["--epochs", str(args.epochs)] if args.epochs else []
            if _stream_child(cmd, f"  [{backend}] "):
                code = 1
                _log(f"recipe {name} on {backend} failed")
    results = load_recipe_results([out])
    print(format_table(["recipe", "epochs", "notebook", *backends], recipe_rows(results, backends)))
    return code


def cmd_portability(args) -> int:
    from models import MODELS
    from suite.backends import installed_backends
    from suite.format import format_table
    from suite.portability import all_pass, run_portability, transfer_table
    from suite.results import check_writable

    _check_names("model", args.models, MODELS)
    _check_names("backend", args.backends, BACKENDS)
    if not 0 < args.train_examples <= 60000:
        raise SuiteError(f"--train-examples {args.train_examples}: choose 1..60000")
    out = check_writable(args.out)
    backends = [b for b in args.backends if b in installed_backends()]
    _log(f"portability: {', '.join(args.models)} saved and loaded on {', '.join(backends)}")
    path, rows = run_portability(args.models, backends, out, args.train_examples, args.data, _log)
    print(format_table(*transfer_table(rows)))
    print(f"wrote {path}")
    return 0 if all_pass(rows) else 1


def cmd_parallel_check(args) -> int:
    from models import MODELS
    from suite.backends import installed_backends, visible_cpus
    from suite.format import format_table
    from suite.parallel import FAULTS
    from suite.parallel.equivalence import REL_TOLERANCE, run_check

    _check_names("model", args.models, MODELS)
    _check_names("backend", args.backends, BACKENDS)
    if not 2 <= args.devices <= len(visible_cpus()):
        raise SuiteError(
            f"--devices {args.devices}: the check needs 2..{len(visible_cpus())} devices here "
            "(one virtual device per CPU core)"
        )
    if args.steps < 1:
        raise SuiteError(f"--steps must be positive, got {args.steps}")
    if args.fault not in FAULTS:
        raise SuiteError(f"--fault {args.fault!r} is not one of {', '.join(FAULTS)}")
    if args.fault == "unaveraged" and set(args.backends) != {"torch"}:
        raise SuiteError("--fault unaveraged skips DDP's all-reduce: give --backends torch")
    if args.batch_size < args.devices or args.batch_size % args.devices:
        raise SuiteError(f"--batch-size {args.batch_size} must split into {args.devices} shards")
    backends = [b for b in args.backends if b in installed_backends()]
    _log(f"parallel-check: {args.devices} devices against 1, {args.steps} SGD steps")
    checks = run_check(
        backends, args.models, args.devices, args.steps, args.batch_size, args.fault, _log
    )
    rows = [
        [c.backend, c.model, str(c.devices), str(c.steps), c.worst_variable,
         f"{c.worst_rel:.2e}", c.verdict]
        for c in checks
    ]  # fmt: skip
    headers = ["backend", "model", "devices", "steps", "worst variable", "max rel", "verdict"]
    print(format_table(headers, rows))
    print(
        f"pass: every variable's N-device weights within {REL_TOLERANCE:g} of the "
        "single-device weights, relative to how far the single device moved them"
    )
    return 0 if checks and all(c.verdict == "pass" for c in checks) else 1


def cmd_timing_check(args) -> int:
    from suite.backends import select_backend

    if args.steps < 8 or args.blocks < 2:
        raise SuiteError(
            f"--steps must be at least 8 and --blocks at least 2 (got --steps {args.steps}, "
            f"--blocks {args.blocks}): a CI needs paired blocks of several chunks"
        )
    configs = _configs(args)
    select_backend(configs[0].backend, configs[0].device, configs[0].threads)

    from suite import data, train
    from suite.format import format_timing_checks
    from suite.timing_check import check_timing

    train.prepare(configs[0])
    mnist = data.load_mnist(args.data, log=_log)
    checks = []
    for cfg in configs:
        _log(f"[{cfg.backend} {cfg.model} {cfg.impl}] {args.blocks} blocks of {args.steps} steps")
        checks.append(check_timing(cfg, mnist, steps=args.steps, blocks=args.blocks))
    print(format_timing_checks(checks))
    return 0


def cmd_grads(args) -> int:
    import os

    from models import MODELS
    from suite.data import cache_dir, load_mnist
    from suite.results import check_writable

    _check_names("model", args.models, MODELS)
    _check_names("backend", args.backends, BACKENDS)
    _check_names("dtype", args.dtypes, ("float32", "float64"))
    if args.batch_size < 1 or args.batch_size > 60000 or args.steps < 0:
        raise SuiteError("--batch-size must be 1..60000 and --steps must not be negative")
    if args.steps and args.steps * args.batch_size > 60000:
        raise SuiteError("--steps x --batch-size exceeds one epoch of 60000 images")
    out = check_writable(args.out)
    load_mnist(args.data, log=_log)  # fetch once here, so the children read the cache
    if args.data:
        os.environ["SUITE_MNIST"] = args.data

    from suite.grads import all_pass, format_report, run_grads

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
    return 0 if all_pass(report) else 1


def cmd_sweep(args) -> int:
    import json

    from suite.atomic import write_new
    from suite.backends import child_env
    from suite.compare import GAP_S, write_rounds
    from suite.data import load_mnist
    from suite.results import check_writable, new_run_dir
    from suite.sweep import run_sweep

    configs = _configs(args)  # validated, the backend's framework installed
    out = check_writable(args.out)
    mnist = load_mnist(args.data, log=_log)  # fetched once here; the workers read the cache
    _log(f"MNIST from {mnist.source}")
    env = child_env(SUITE_MNIST=args.data) if args.data else child_env()
    run_dir = new_run_dir(out)
    schedules = []
    try:
        for cfg in configs:
            sweep, schedule = run_sweep(cfg, run_dir, args.data, env, _log)
            schedules.append(schedule)
            path = run_dir / f"sweep-{cfg.backend}-{cfg.model}.json"
            write_new(path, json.dumps(sweep, indent=1, allow_nan=False).encode())
            print(format_sweep(sweep))
    finally:
        if schedules:
            write_rounds(run_dir, schedules, GAP_S)
    _log(f"wrote {run_dir}")
    return 0


def cmd_compare(args) -> int:

    from models import MODELS
    from suite.compare import run_compare
    from suite.config import DEVICES
    from suite.data import load_mnist
    from suite.report import terminal_summary
    from suite.results import check_writable

    _check_names("backend", args.backends, BACKENDS)
    _check_names("model", args.models, MODELS)
    from suite.config import SEED_LIMIT

    if len(set(args.seeds)) != len(args.seeds):
        raise SuiteError(f"--seeds {' '.join(map(str, args.seeds))}: give each seed once")
    bad = [s for s in args.seeds if not 0 <= s < SEED_LIMIT]
    if bad:
        raise SuiteError(f"--seeds {bad[0]}: a seed must be 0..{SEED_LIMIT - 1}")
    if args.device not in DEVICES:
        raise SuiteError(f"--device {args.device!r} is not one of {', '.join(DEVICES)}")
    if not 1 <= args.train_examples <= 60000:
        raise SuiteError("--train-examples must be 1..60000")
    if args.epochs is not None and not 1 <= args.epochs <= 1000:
        raise SuiteError(f"--epochs {args.epochs}: must be 1..1000")
    out = check_writable(args.out)
    started = time.perf_counter()
    mnist = load_mnist(args.data, log=_log)  # fetched once here; the workers read the cache
    _log(f"MNIST from {mnist.source}")
    code, report = run_compare(
        args.backends,
        args.models,
        args.seeds,
        args.device,
        args.quick,
        out,
        args.force,
        args.data,
        _log,
        train_examples=args.train_examples,
        chunk_steps=args.chunk_steps,
        native=args.native,
        devices=args.devices,
        epochs=args.epochs,
    )
    print(terminal_summary(report))
    minutes, seconds = divmod(int(time.perf_counter() - started), 60)
    _log(f"compare done in {minutes}:{seconds:02d}; report: {out / 'report' / 'report.html'}")
    return code


def cmd_report(args) -> int:
    from pathlib import Path

    from suite.report import write_report
    from suite.results import check_writable

    folders = [Path(f) for f in args.dirs]
    out = check_writable(args.out)
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
    from suite.format import format_diff

    print(format_diff(rows))
    return 1 if any(r["step_flag"] or r["acc_flag"] for r in rows) else 0
