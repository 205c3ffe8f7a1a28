"""``sweep``: every execution mode of one backend and model, side by side in rounds."""

from __future__ import annotations

from suite.commands import args as shared
from suite.commands.args import log
from suite.training import brought

NAME = "sweep"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
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
    shared.add(p, "backend", "model", "device")
    p.add_argument("--epochs", type=int, default=1, help="epochs per mode (default: 1)")
    shared.add(p, "batch_size", "train_examples", "threads", "dtype_policy")
    shared.add_out(p)
    shared.add(p, "data")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from suite.core.files import check_writable, new_run_dir
    from suite.core.platform import child_env
    from suite.measure.sweep import run_sweep, write_sweep
    from suite.report.terminal import format_sweep
    from suite.rounds.coordinator import TURN_GAP_S, write_rounds

    configs = shared.configs(args)  # validated, the backend's framework installed
    out = check_writable(args.out)
    seeds = sorted({c.seed for c in configs})  # a brought model: built, checked, weights saved
    prepared = brought.brought_models([args.model], seeds, configs[0].backend, out, log=log)
    configs = brought.with_brought(configs, prepared)
    mnist = shared.load_data(args.data)  # fetched once here; the workers read the cache
    log(f"MNIST from {mnist.source}")
    env = child_env(SUITE_MNIST=args.data) if args.data else child_env()
    run_dir = new_run_dir(out)
    schedules = []
    try:
        for cfg in configs:
            sweep, schedule = run_sweep(cfg, run_dir, args.data, env, log)
            schedules.append(schedule)
            write_sweep(run_dir, sweep)
            print(format_sweep(sweep))
    finally:
        if schedules:
            write_rounds(run_dir, schedules, TURN_GAP_S)
    log(f"wrote {run_dir}")
    return 0
