"""The typed requests a check's parent hands its per-backend children: frozen
dataclasses written as JSON next to the child's output, read back by the child's entry
point (``python -m suite.checks.<check>.child``) with ``suite.core.files.read_request``.
A request carries everything the child needs; the child chooses its backend from the
command line, before keras loads."""

from __future__ import annotations

from dataclasses import dataclass, field

from suite.core.files import read_request, write_request

__all__ = ["GradsRequest", "PortabilityRequest", "ReplicaRequest", "read_request", "write_request"]


@dataclass(frozen=True)
class GradsRequest:
    models: list[str]
    dtypes: list[str]
    steps: int  # trajectory steps per optimizer; 0 skips them
    batch_size: int  # the fixed batch: the first N training images
    seed: int
    threads: int
    weights: dict[str, str]  # model -> shared initial weights npz (made by the first child)
    # brought model -> folder of its initial weights (seed{S}.weights.h5), which the
    # shared npz is made from (suite.training.brought)
    init_dirs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PortabilityRequest:
    mode: str  # "save": train, save weights and logits; "load": predict others' weights
    models: list[str]
    work: str  # the folder the children share
    train_examples: int
    data: str | None
    init_dirs: dict[str, str] = field(default_factory=dict)  # brought model -> its weights


@dataclass(frozen=True)
class ReplicaRequest:
    devices: int  # per host
    models: list[str]
    steps: int
    batch_size: int
    fault: str
    out: str  # npz to write (host 0 writes it)
    hosts: int = 1  # processes standing for hosts, talking over 127.0.0.1 (--hosts)
    ports: list[int] = field(default_factory=list)  # [0]: coordinator or rendezvous
