"""``run``: train and evaluate models on one backend, one JSON result per cell (or a
notebook recipe with ``--recipe``, or loaded weights with ``--evaluate-only``)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

from suite.commands import args as shared
from suite.commands.args import DEFAULTS, log
from suite.core.config import CHOICES, LOOPS
from suite.core.data import TEST_IMAGES, TRAIN_IMAGES
from suite.core.errors import SuiteError

NAME = "run"


def add_parser(sub) -> None:
    d = DEFAULTS
    p = sub.add_parser(
        NAME,
        help="train and evaluate models on one backend, one JSON result per cell",
        description=f"Train on the full {TRAIN_IMAGES:,} MNIST training images with each "
        f"model's recipe (every part overridable), evaluate on the {TEST_IMAGES:,} test "
        "images after every epoch, and write one JSON result per (model, seed) in a new "
        "run folder under --out. Exit codes: 0 every cell ran; 1 a cell failed (the last "
        "line says which); 2 bad input; 130 interrupted.",
    )
    shared.add(p, "backend", "model", "device")
    p.add_argument(
        "--recipe",
        metavar="NAME",
        help="reproduce a source notebook's recipe instead (model, task, initialisation, "
        "loss, SGD settings); see `recipes` (default: none)",
    )
    p.add_argument("--epochs", type=int, help="epochs (default: the model's recipe, or --recipe's)")
    shared.add(p, "batch_size")
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
        default=[d["seed"]],
        metavar="S",
        help=f"seeds for initial weights, batch order and dropout (default: {d['seed']})",
    )
    p.add_argument(
        "--impl",
        default=d["impl"],
        metavar="I",
        help=f"{' or '.join(CHOICES['impl'])}; native: the same network and step written "
        f"directly in the framework, without Keras (default: {d['impl']})",
    )
    shared.add(p, "jit", "data_format", "dtype_policy")
    p.add_argument(
        "--steps-per-execution",
        type=int,
        default=d["steps_per_execution"],
        metavar="N",
        help="train steps per compiled call, Keras' or (JAX, TensorFlow) the native "
        f"loop's (default: {d['steps_per_execution']})",
    )
    shared.add(p, "threads", "chunk_steps", "devices", "hosts", "port", "inference_rounds")
    # a host's own command (run --hosts starts one per host): its index and every port
    p.add_argument("--host-index", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--ports", default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--loop",
        default=d["loop"],
        metavar="L",
        help=f"{LOOPS[0]} (Keras' own) or {LOOPS[1]} (torch only: the Keras model in torch's "
        "DistributedDataParallel loop, which --devices N on torch always uses; with "
        f"--devices 1 it is that loop's one-device baseline) (default: {d['loop']})",
    )
    p.add_argument(
        "--latency-steps",
        type=int,
        default=d["latency_steps"],
        metavar="N",
        help="steps after warm-up timed one by one, the latency diagnostic "
        f"(default: {d['latency_steps']})",
    )
    p.add_argument(
        "--allow-tf32",
        action="store_true",
        help="allow TF32 matmuls on GPU (default: off, full float32 accuracy)",
    )
    p.add_argument(
        "--warmup-steps",
        type=int,
        default=d["warmup_steps"],
        metavar="N",
        help=f"first steps reported as warm-up/compile, not step time (default: "
        f"{d['warmup_steps']})",
    )
    shared.add(p, "train_examples")
    p.add_argument(
        "--test-examples",
        type=int,
        default=d["test_examples"],
        metavar="N",
        help=f"evaluate on the first N test images (default: {d['test_examples']})",
    )
    shared.add_out(p)
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
    shared.add(p, "data")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from suite.core.files import check_writable
    from suite.frameworks import select_backend

    if args.hosts != 1 or args.port is not None:
        _check_hosts_flags(args)
        if args.host_index is not None:
            return _host(args)
        return _drive_hosts(args)
    if args.recipe:
        return _run_recipe(args)
    if args.evaluate_only and not args.load_weights:
        raise SuiteError("--evaluate-only evaluates loaded weights: give --load-weights FILE")
    configs = shared.configs(args)  # every bad setting is refused before anything starts
    out = None if args.evaluate_only else check_writable(args.out)
    first = configs[0]
    select_backend(first.backend, first.device, first.threads, first.allow_tf32, first.devices)

    from suite.training.build import build_compiled_model
    from suite.training.probes import prepare

    applied = prepare(first)
    if args.evaluate_only:  # writes nothing: a file that does not fit fails as it loads
        return _evaluate_loaded(configs, shared.load_data(args.data, datasets=True))
    seeds = sorted({c.seed for c in configs})  # a brought model: built, checked, weights saved
    brought = shared.brought_models(
        [args.model], seeds, first.backend, out, in_process=True, dataset=first.dataset
    )
    configs = shared.with_brought(configs, brought)
    for cfg in configs:  # a weights file that does not fit fails now, before any folder
        if cfg.load_weights:
            build_compiled_model(cfg)
    return _train(args, configs, out, applied)


# run flags that hosts over loopback do not take: one line each, exit 2
HOSTS_REFUSE = ("recipe", "evaluate_only", "load_weights", "save_weights")


def _check_hosts_flags(args) -> None:
    """``--hosts``/``--port`` settings refused before anything starts."""
    from models import MODELS

    shared.check_hosts(args.hosts, args.port)
    for name in HOSTS_REFUSE:
        if getattr(args, name):
            flag = "--" + name.replace("_", "-")
            raise SuiteError(f"--hosts {args.hosts} with {flag}: hosts train the registry's models")
    if args.model != "all" and args.model not in MODELS:
        raise SuiteError(
            f"--hosts {args.hosts} with --model {args.model}: hosts train the registry's models"
        )
    if args.backend == "tensorflow" and args.devices > 1:
        raise SuiteError(
            f"--hosts {args.hosts} --devices {args.devices} on tensorflow: "
            "MultiWorkerMirroredStrategy runs one CPU device per worker"
        )


def _drive_hosts(args) -> int:
    """``run --hosts H``: check everything, then start one process per host (the same
    command with its place) and wait; host 0 writes the run folder and the table."""
    from suite.core.files import check_writable
    from suite.core.hosts import cluster, processes, run_hosts

    shared.configs(args)  # every bad setting is refused before anything starts
    check_writable(args.out)
    n = processes(args.backend, args.hosts, args.devices)
    c = cluster(n, args.port)
    ports = ",".join(map(str, c.ports))
    cmds = [
        [sys.executable, "-m", "suite", *args.argv, "--host-index", str(i), "--ports", ports]
        for i in range(n)
    ]
    log(
        f"run: {args.hosts} hosts over {c.address()} ({n} processes, ports {ports}); "
        "host 0 times, evaluates and writes"
    )
    try:
        run_hosts(cmds, f"run --hosts {args.hosts}", log=log)
    except SuiteError as e:  # a host failed while training: not bad input
        log(f"error: {e}")
        return 1
    return 0


def _host(args) -> int:
    """One host's process: pinned to its share of the cores, joined to the others
    over 127.0.0.1, then every cell in step with them (host 0 also times, evaluates
    and writes; a failed cell ends the host, and the driver stops the rest)."""
    from suite import frameworks
    from suite.core.files import check_writable
    from suite.core.hosts import Cluster, Place
    from suite.core.platform import visible_cpus
    from suite.frameworks import select_backend
    from suite.training.probes import prepare

    ports = tuple(int(p) for p in args.ports.split(","))
    place = Place(args.host_index, Cluster(len(ports), ports))
    threads = args.threads or max(1, len(visible_cpus()) // len(ports))
    local = 1 if args.backend == "torch" else args.devices
    first = place.index * threads % len(visible_cpus())
    # the cells keep the machine's threads, which the hosts share (as torch's ranks do on
    # one host): their variant matches one process's, and the scaling section pairs them
    configs = shared.configs(args)
    select_backend(args.backend, "cpu", threads, False, local, first_cpu=first)
    frameworks.engine(args.backend).join_hosts(place.cluster.addresses(), len(ports), place.index)
    applied = {**prepare(replace(configs[0], threads=threads)), "threads_per_host": threads}
    if place.index == 0:
        return _train(args, configs, check_writable(args.out), applied, place)
    from suite.training.cell import run_cell
    from suite.training.progress import Progress

    mnist = shared.load_data(args.data, datasets=True)
    with open(os.devnull, "w") as quiet:
        for cfg in configs:
            result, _ = run_cell(cfg, mnist, "", applied, Progress(cfg, quiet), place=place)
            if result.status == "failed":
                log(f"{cfg.cell_name()}: {result.error.splitlines()[0]}")
                return 1
    return 0


def _train(args, configs, out, applied, place=None) -> int:
    from suite.core.files import new_run_dir
    from suite.core.results import write_result
    from suite.report.terminal import format_results
    from suite.training.cell import run_cell

    mnist = shared.load_data(args.data, datasets=True)
    run_dir = new_run_dir(out)
    first = configs[0]
    log(
        f"run {run_dir.name}: {len(configs)} cell(s) on {first.backend}/{first.device}, "
        f"results in {run_dir}"
    )
    results = []
    for cfg in configs:
        result, model = run_cell(cfg, mnist, run_dir.name, applied, place=place)
        if args.save_weights and model is not None and result.status == "ok":
            weights = run_dir / f"{result.cell}.weights.h5"
            model.save_weights(weights)
            result = replace(result, weights_file=weights.name)
        path = write_result(run_dir / f"{result.cell}.json", result)
        log(f"wrote {path}")
        results.append(result)
        if place is not None and result.status == "failed":  # the other hosts cannot go on
            log(f"{result.cell}: {result.error.splitlines()[0]}")
            return 1
    print(format_results(results))
    failed = [r.cell for r in results if r.status == "failed"]
    if failed:  # exit code 1, and why, as the last line
        log(f"exit 1: {len(failed)} cell(s) failed: {', '.join(failed)}")
    return 1 if failed else 0


def _evaluate_loaded(configs, mnist) -> int:
    """Test loss and accuracy of loaded weights; nothing is written."""
    from suite.core.data import preprocess
    from suite.training.build import build_compiled_model, evaluate

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
    from suite.core.recipes import get_recipe

    recipe = get_recipe(args.recipe)
    given = [f for f in RECIPE_FIXES if getattr(args, f, None) not in (None, DEFAULTS["impl"])]
    if args.model != "all":
        given.insert(0, "model")
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise SuiteError(f"{flag} cannot be combined with --recipe: the recipe sets it")
    shared.check_seeds(args.seeds)
    epochs = recipe.epochs if args.epochs is None else args.epochs
    if epochs <= 0:
        raise SuiteError(f"--epochs must be positive, got {epochs}")
    shared.check_train_examples(args.train_examples, low=0)
    return recipe, epochs


def _run_recipe(args) -> int:
    from suite.core.files import check_writable
    from suite.frameworks import select_backend

    recipe, epochs = _recipe_settings(args)
    out = check_writable(args.out)
    select_backend(args.backend, args.device, args.threads)

    from suite import frameworks
    from suite.core.files import new_run_dir
    from suite.core.fingerprint import fingerprint
    from suite.core.recipes import recipe_data
    from suite.training.recipe import run_recipe, write_recipe_result

    mnist = shared.load_data(args.data, datasets=True)
    run_dir = new_run_dir(out)
    device = frameworks.current().device_info(args.device)
    for seed in args.seeds:
        subset = recipe_data(recipe, mnist, seed, args.train_examples)
        env = fingerprint(args.backend, device, {"recipe": recipe.name, "epochs": epochs})
        result = run_recipe(recipe, subset, seed, epochs, args.backend, args.device, env, log=log)
        log(f"wrote {write_recipe_result(run_dir, result)}")
        published = f"{recipe.published:.2%}" if recipe.published else "none printed"
        print(
            f"{recipe.name} on {args.backend}, seed {seed}: accuracy "
            f"{result.final_accuracy:.2%} after {epochs} epochs (notebook: {published})"
        )
    return 0
