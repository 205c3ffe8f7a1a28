"""``run``: train and evaluate models on one backend, one JSON result per cell (or
loaded weights with ``--evaluate-only``); ``--hosts H`` trains over H processes. The
flags become one ``RunSettings``, checked once (``settings``); the work is
``suite.training.runs`` and ``suite.training.hosts``. Notebook recipes: ``recipes``."""

from __future__ import annotations

from suite.commands import args as shared
from suite.commands.args import log
from suite.core.data import TEST_IMAGES, TRAIN_IMAGES
from suite.core.errors import SuiteError

NAME = "run"


def add_parser(sub) -> None:
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
    shared.add(p, "seeds")
    shared.add_training_flags(p)
    shared.add_data_flags(p)
    shared.add_hosts_flags(p)
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
    p.set_defaults(func=handle)


def handle(args) -> int:
    from suite.report.terminal import format_results

    s = settings(args)  # every bad setting is refused before anything starts
    if s.first.hosts > 1:
        return _over_hosts(s)
    from suite.training.runs import run_here

    run_dir, results = run_here(s, log)
    if run_dir is None:  # --evaluate-only: one line per cell
        print("\n".join(results))
        return 0
    print(format_results(results))
    failed = [r.cell for r in results if r.status == "failed"]
    if failed:  # exit code 1, and why, as the last line
        log(f"exit 1: {len(failed)} cell(s) failed: {', '.join(failed)}")
    return 1 if failed else 0


def settings(args):
    """The one ``RunSettings`` of these flags, each checked: SuiteError names the first
    bad one; nothing is created."""
    from suite.core.files import check_writable
    from suite.training.runs import RunSettings

    if args.evaluate_only and not args.load_weights:
        raise SuiteError("--evaluate-only evaluates loaded weights: give --load-weights FILE")
    if args.hosts != 1 or args.port is not None:
        _check_hosts_flags(args)
    configs = tuple(shared.configs(args))
    out = None if args.evaluate_only else check_writable(args.out)
    return RunSettings(configs, args.model, out, args.data, args.save_weights,
                       args.evaluate_only, args.port, args.threads)  # fmt: skip


# run flags that hosts over loopback do not take: one line each, exit 2
HOSTS_REFUSE = ("evaluate_only", "load_weights", "save_weights")


def _check_hosts_flags(args) -> None:
    """``--hosts``/``--port`` settings refused before anything starts."""
    from models import MODELS
    from suite.core.platform import traits

    shared.check_hosts(args.hosts, args.port)
    for name in HOSTS_REFUSE:
        if getattr(args, name):
            flag = "--" + name.replace("_", "-")
            raise SuiteError(f"--hosts {args.hosts} with {flag}: hosts train the registry's models")
    if args.model != "all" and args.model not in MODELS:
        raise SuiteError(
            f"--hosts {args.hosts} with --model {args.model}: hosts train the registry's models"
        )
    one = traits(args.backend).one_device_per_host  # before the install check: as said
    if one and args.devices > 1:
        raise SuiteError(f"--hosts {args.hosts} --devices {args.devices} on {args.backend}: {one}")
    if args.port is not None:  # every port the hosts will listen on, free now
        from suite.core.hosts import check_port_free, processes

        for i in range(processes(args.backend, args.hosts, args.devices)):
            check_port_free(args.port + i)


def _over_hosts(s) -> int:
    """One process per host, host 0 writing into a new run folder; then its table."""
    from suite.core.files import new_run_dir
    from suite.core.results import load_result
    from suite.report.terminal import format_results
    from suite.training.hosts import run_over_hosts

    shared.load_data(s.data, datasets=True)  # once here: the hosts read the cache
    run_dir = new_run_dir(s.out)
    try:
        run_over_hosts(s.configs, run_dir, s.data, s.save_weights, s.port, s.host_threads, log)
    except SuiteError as e:  # a host failed while training: not bad input
        log(f"error: {e}")
        if not any(run_dir.iterdir()):
            run_dir.rmdir()
        return 1
    print(format_results([load_result(p) for p in sorted(run_dir.glob("*.json"))]))
    return 0
