"""A long-lived training process for one participant, driven by the coordinator.

It loads its backend once, then does one unit of work (a cell's set-up, one chunk of
training, an evaluation) per message it receives (``suite.rounds.protocol``), replies
with what it did, and otherwise sits blocked on its input, holding no CPU. It runs in
its own session and ignores Ctrl-C: the coordinator takes the interrupt and closes its
workers between two units of work, so none prints a traceback or leaves a partial file.

Run as ``python -m suite.rounds.worker BACKEND DEVICE THREADS RUN_DIR DEVICES [DATA]``.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from suite.rounds import protocol


class PipeBaton:
    """The worker's side of the baton: wait for a line, answer with a line."""

    def __init__(self, inp, out):
        self.inp, self.out = inp, out

    def wait(self) -> dict:
        """The next message. The end of input (the coordinator is gone) or ``EXIT``, also
        in the middle of a cell (the coordinator is closing, e.g. after Ctrl-C), ends
        the worker between two units of work: nothing half-done is written."""
        line = self.inp.readline()
        message = protocol.decode(line) if line else protocol.EXIT
        if message == protocol.EXIT:
            raise SystemExit(0)
        return message

    def done(self, info: dict) -> None:
        self.out.write(protocol.encode(info))
        self.out.flush()


def _cell_done(result, path) -> dict:
    return {
        "kind": protocol.CELL_DONE,
        "status": result.status,
        "path": str(path),
        "test_accuracy": result.final_test_accuracy,
        "throughput": result.throughput_examples_per_s,
        "error": (result.error or "").splitlines()[0] if result.error else None,
    }


def serve(
    backend: str, device: str, threads: int, run_dir: Path, data: str | None, devices: int = 1
) -> int:
    protocol_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # framework and library prints go to stderr, never into the protocol
    sys.stdout = sys.stderr

    from suite import frameworks

    frameworks.select_backend(backend, device, threads, devices=devices)
    # Keras and the framework load now, while every worker starts side by side before
    # any clock, not one after another in the set-up turns.
    frameworks.current()

    from suite.core.config import RunConfig, validate
    from suite.core.data import load_mnist
    from suite.core.results import write_result
    from suite.training.cell import run_cell
    from suite.training.clock import Turns
    from suite.training.probes import prepare

    mnist = load_mnist(data, online=False)
    baton = PipeBaton(sys.stdin, protocol_out)
    baton.done({"kind": protocol.READY, "pid": os.getpid()})
    applied = None
    while True:  # until EXIT, which ends the process from inside baton.wait()
        message = baton.wait()
        cfg = validate(RunConfig(**message["config"]), check_install=False)
        turns = Turns(baton, holding=True)
        turns.message = message
        applied = applied or prepare(cfg)
        result, _ = run_cell(
            cfg, mnist, run_dir.name, applied, turns=turns, schedule=message.get("schedule")
        )
        path = write_result(run_dir / f"{result.cell}.json", result)
        turns.give(_cell_done(result, path))


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator handles Ctrl-C
    backend, device, threads, run_dir, devices = argv[:5]
    data = argv[5] if len(argv) > 5 else None
    return serve(backend, device, int(threads), Path(run_dir), data, int(devices))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
