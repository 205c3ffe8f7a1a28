"""``run``'s work below the command: one backend's cells trained in this process, one
JSON result each in a new run folder, or loaded weights evaluated; ``--hosts`` starts
one process per host instead (``suite.training.hosts``). The command builds one
``RunSettings`` from its flags, checks it, and calls ``run_here`` or
``suite.training.hosts.run_over_hosts``; nothing here reads a flag."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from suite.core.config import RunConfig
from suite.core.data import Mnist, preprocess
from suite.core.hosts import Place
from suite.core.results import RunResult, write_result


@dataclass(frozen=True)
class RunSettings:
    """Everything ``run`` does, validated once (``suite.commands.run.settings``)."""

    configs: tuple[RunConfig, ...]  # one per (model, seed), every one validated
    model: str  # --model as given: a registry name, "all", or a brought MODULE:FUNCTION
    out: Path | None  # the results folder, checked writable (None: --evaluate-only)
    data: str | None  # --data as given: an MNIST source or a dataset spec
    save_weights: bool = False
    evaluate_only: bool = False
    port: int | None = None  # --hosts: the first loopback port (None: free ones)
    # --hosts: threads each host's process is pinned to, from the ``--threads`` flag as
    # given (0: the cores shared evenly); the cells keep the machine's count, as one
    # process's would, so that their variant matches
    host_threads: int = 0

    @property
    def first(self) -> RunConfig:
        return self.configs[0]


def start_backend(cfg: RunConfig) -> dict:
    """This process on ``cfg``'s backend and device, its framework configured once;
    returns the settings in effect (``suite.training.probes.prepare``)."""
    from suite.frameworks import select_backend

    select_backend(cfg.backend, cfg.device, cfg.threads, cfg.allow_tf32, cfg.devices)
    from suite.training.probes import prepare

    return prepare(cfg)


def run_here(s: RunSettings, log) -> tuple[Path | None, list]:
    """Every cell in this process: the results written into a new run folder under
    ``s.out`` (returned with the results), or with ``s.evaluate_only`` the loaded weights'
    test loss and accuracy per cell, nothing written (returned as lines)."""
    from suite.training import brought
    from suite.training.build import build_compiled_model
    from suite.training.mnist import load_data

    applied = start_backend(s.first)
    mnist = load_data(s.data, True, log)
    if s.evaluate_only:  # a file that does not fit fails as it loads
        return None, evaluate_loaded(s.configs, mnist)
    seeds = sorted({c.seed for c in s.configs})  # a brought model: built, checked, saved
    prepared = brought.brought_models(
        [s.model], seeds, s.first.backend, s.out, True, s.first.dataset, log
    )
    configs = brought.with_brought(list(s.configs), prepared)
    for cfg in configs:  # a weights file that does not fit fails now, before any folder
        if cfg.load_weights:
            build_compiled_model(cfg)
    from suite.core.files import new_run_dir

    run_dir = new_run_dir(s.out)
    log(
        f"run {run_dir.name}: {len(configs)} cell(s) on {s.first.backend}/{s.first.device}, "
        f"results in {run_dir}"
    )
    return run_dir, train_cells(configs, mnist, run_dir, applied, s.save_weights, log=log)


def train_cells(
    configs, mnist: Mnist, run_dir: Path, applied: dict, save_weights: bool, place=None, log=print
) -> list[RunResult]:
    """Each cell trained and its result written into ``run_dir`` (with its trained
    weights when ``save_weights``). Over hosts (``place``) a failed cell ends the loop:
    the other hosts cannot go on without this one."""
    from suite.training.cell import run_cell

    results = []
    for cfg in configs:
        result, model = run_cell(cfg, mnist, run_dir.name, applied, place=place)
        if save_weights and model is not None and result.status == "ok":
            weights = run_dir / f"{result.cell}.weights.h5"
            model.save_weights(weights)
            result = replace(result, weights_file=weights.name)
        path = write_result(run_dir / f"{result.cell}.json", result)
        log(f"wrote {path}")
        results.append(result)
        if place is not None and result.status == "failed":
            log(f"{result.cell}: {result.error.splitlines()[0]}")
            break
    return results


def follow_cells(configs, mnist: Mnist, applied: dict, place: Place, log) -> bool:
    """A host other than 0: every cell in step with the others, nothing timed or
    written; False at the first failed cell (the driver then stops the rest)."""
    from suite.training.cell import run_cell
    from suite.training.progress import Progress

    with open(os.devnull, "w") as quiet:
        for cfg in configs:
            result, _ = run_cell(cfg, mnist, "", applied, Progress(cfg, quiet), place=place)
            if result.status == "failed":
                log(f"{cfg.cell_name()}: {result.error.splitlines()[0]}")
                return False
    return True


def evaluate_loaded(configs, mnist: Mnist) -> list[str]:
    """Test loss and accuracy of each cell's loaded weights, one line each."""
    from suite.training.build import build_compiled_model, evaluate

    lines = []
    for cfg in configs:
        model = build_compiled_model(cfg)
        x = preprocess(mnist.x_test[: cfg.test_examples], cfg.data_format)
        y = mnist.y_test[: cfg.test_examples].astype("int64")
        loss, accuracy, _ = evaluate(lambda b, m=model: m.predict_on_batch(b), x, y)
        lines.append(
            f"{cfg.model} on {cfg.backend} from {cfg.load_weights}: test accuracy "
            f"{accuracy:.2%}, test loss {loss:.4f} ({len(y)} images)"
        )
    return lines
