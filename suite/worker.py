"""A long-lived training process for one backend, driven by ``compare``'s coordinator.

Keras picks its backend once per process, so ``compare`` starts one worker per
backend and hands a baton between them: a worker does one unit of work (a cell's
set-up, one chunk of training, an evaluation) per message it receives, replies
with what it did, and otherwise sits blocked on its input, holding no CPU.

Protocol: JSON lines. The coordinator writes ``{"cmd": "cell", "config": {...},
"round": 0, "schedule": ID}`` to start a cell, ``{"round": N, "chunk_steps": K}``
for each further turn, and ``{"cmd": "exit"}``. The worker answers every turn
with one line: ``{"kind": "setup" | "chunk" | "eval" | "cell_done", ...}``, and
``{"kind": "ready"}`` once its framework is loaded. Everything else the process
prints goes to stderr, so nothing can corrupt the protocol.

Run as ``python -m suite.worker BACKEND DEVICE THREADS RUN_DIR [DATA]``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


class PipeBaton:
    """The worker's side of the baton: wait for a line, answer with a line."""

    def __init__(self, inp, out):
        self.inp, self.out = inp, out

    def wait(self) -> dict:
        line = self.inp.readline()
        if not line:  # the coordinator is gone
            raise SystemExit(0)
        return json.loads(line)

    def done(self, info: dict) -> None:
        self.out.write(json.dumps(info) + "\n")
        self.out.flush()


def serve(
    backend: str, device: str, threads: int, run_dir: Path, data: str | None, devices: int = 1
) -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # framework and library prints go to stderr, never into the protocol
    sys.stdout = sys.stderr

    from suite.backends import select_backend

    select_backend(backend, device, threads, devices=devices)

    from suite import data as data_module
    from suite import train
    from suite.config import RunConfig, validate
    from suite.results import write_result

    mnist = data_module.load_mnist(data, online=False)
    baton = PipeBaton(sys.stdin, protocol)
    baton.done({"kind": "ready", "pid": os.getpid()})
    applied = None
    while True:
        message = baton.wait()
        if message.get("cmd") == "exit":
            return 0
        cfg = validate(RunConfig(**message["config"]), check_install=False)
        turns = train.Turns(baton, holding=True)
        turns.message = message
        applied = applied or train.prepare(cfg)
        result, _ = train.run_cell(
            cfg, mnist, run_dir.name, applied, turns=turns, schedule=message.get("schedule")
        )
        path = write_result(run_dir / f"{result.cell}.json", result)
        turns.give(
            {
                "kind": "cell_done",
                "status": result.status,
                "path": str(path),
                "test_accuracy": result.final_test_accuracy,
                "throughput": result.throughput_examples_per_s,
                "error": (result.error or "").splitlines()[0] if result.error else None,
            }
        )


def main(argv: list[str]) -> int:
    backend, device, threads, run_dir, devices = argv[:5]
    data = argv[5] if len(argv) > 5 else None
    return serve(backend, device, int(threads), Path(run_dir), data, int(devices))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
