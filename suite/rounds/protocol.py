"""The messages between the rounds coordinator and its workers: JSON lines.

The coordinator writes ``start_cell`` (round 0 of a cell, with its config and
schedule id), ``next_turn`` (every further turn, with the chunk size once it is
known) and ``EXIT``. The worker answers every turn with one line whose ``kind`` is
one of ``REPLY_KINDS``, and sends ``{"kind": "ready"}`` once its framework is loaded.
A worker writes nothing else to its protocol stream (its prints go to stderr).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

READY, SETUP, CHUNK, EVAL, CELL_DONE = "ready", "setup", "chunk", "eval", "cell_done"
INFER = "infer"  # a turn of inference timing, after the cell has trained
REPLY_KINDS = (READY, SETUP, CHUNK, EVAL, INFER, CELL_DONE)
EXIT = {"cmd": "exit"}


def start_cell(config: dict, schedule: str) -> dict:
    """Round 0 of a cell: the worker builds it and runs its set-up turn."""
    return {"round": 0, "cmd": "cell", "config": config, "schedule": schedule}


def next_turn(round_index: int, chunk_steps: int | None) -> dict:
    """Any later turn: one unit of work (a chunk, an evaluation, the cell's end)."""
    message = {"round": round_index}
    if chunk_steps:
        message["chunk_steps"] = chunk_steps
    return message


def encode(message: dict) -> str:
    return json.dumps(message) + "\n"


def decode(line: str) -> dict:
    return json.loads(line)


@dataclass(frozen=True)
class Turn:
    """One unit of work a worker did while the others waited."""

    round: int
    backend: str
    kind: str  # setup, chunk, eval, infer or cell_done
    wall_s: float  # from the go to the reply, as the coordinator saw it
    steps: int | None  # a chunk's steps
    seconds: float | None  # a chunk's own clock
    before_clock_s: float | None  # a chunk's turn before its clock started (fit() set-up)
    waiting_cpu_s: dict  # CPU seconds each waiting worker used during this turn
