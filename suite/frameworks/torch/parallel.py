"""torch: the Keras model in a torch loop wrapped in ``DistributedDataParallel``.

Keras 3.15's ``fit()`` has no torch distribution; this follows Keras' "distributed
training with torch" guide (``examples/demo_torch_multi_gpu.py``): the Keras model
is a ``torch.nn.Module``, wrapped in DDP, trained with ``torch.optim`` on each
rank's shard of every global batch, gradients averaged by DDP's all-reduce (gloo on
the CPU, nccl on GPUs). Rank 0 runs in this process and does the timing and the
evaluation; ranks 1..N-1 are processes started with ``torch.multiprocessing``
(spawn) that train the same steps in the same order on their shards (``DDPRanks``).
Over several hosts (``run --hosts``) every rank is a process the suite starts
(``host_replica``).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import gc
import os

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from suite.core.errors import SuiteError
from suite.core.hosts import free_ports
from suite.frameworks.shared import ADAM, cosine_rate, total_steps

TIMEOUT = datetime.timedelta(minutes=10)  # a rank that stops answering fails the cell
LEAVE_TIMEOUT = datetime.timedelta(seconds=60)  # the ranks wait this long for each other at the end
os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # one machine: the loopback interface


def scope(device: str, devices: int):
    """The model is built as usual; DDP wraps it afterwards (``DDPTrainer``)."""
    return contextlib.nullcontext()


def engine_info(device: str, devices: int) -> dict:
    return {
        "engine": "DistributedDataParallel",
        "process_group": "nccl" if device == "gpu" else "gloo",
        "devices": [f"rank {r}" for r in range(devices)],
        "loop": "a torch training loop (Keras guide), not keras fit()",
    }


def initialize(job_addresses: str, num_processes: int, process_id: int) -> None:
    """Nothing to do before the loop: every rank joins the process group itself, at the
    rendezvous ``tcp://`` host 0's address, as ``torchrun --nnodes`` would set up."""


def prepare_devices(device: str, devices: int) -> None:
    """On GPUs, one per rank (the ranks are processes; nothing to make on the CPU)."""
    if device == "gpu":
        check_gpu_count(devices)


def _optimizer(cfg, params):
    """torch.optim equivalents of the recipe's Keras optimizer and cosine schedule (the
    constants and the schedule the native loops share: ``suite.frameworks.shared``)."""
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.learning_rate)
    else:  # adam, with Keras' constants
        betas = (ADAM["beta_1"], ADAM["beta_2"])
        opt = torch.optim.Adam(params, lr=cfg.learning_rate, betas=betas, eps=ADAM["epsilon"])
    total = total_steps(cfg)

    def factor(step):  # of the base rate: keras.optimizers.schedules.CosineDecay, alpha 0
        return cosine_rate(1.0, step, total) if cfg.schedule == "cosine" else 1.0

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


class _Replica:
    """One rank: the process group, the DDP-wrapped Keras model, its optimizer.
    ``fault`` breaks it on purpose, for the equivalence check's must-fail cases: rank 1
    trains on rank 0's shard, or no rank averages its gradients (``no_sync``)."""

    def __init__(self, cfg, rank: int, port: int, build, dropout: bool = True, fault: str = "none"):
        self.cfg, self.rank, self.fault = cfg, rank, fault
        self.gpu = cfg.device == "gpu"
        if self.gpu:  # (unverified here) each rank on its own GPU, as the Keras guide does
            torch.cuda.set_device(rank)
        world = cfg.hosts * cfg.devices  # every host's ranks
        _join("nccl" if self.gpu else "gloo", port, rank, world)
        self.model = build(cfg)  # shared initial weights, same on every rank
        if not dropout:
            for layer in self.model.layers:
                if type(layer).__name__ == "Dropout":
                    layer.rate = 0.0
        self.ddp = DistributedDataParallel(self.model)
        self.opt, self.schedule = _optimizer(cfg, self.ddp.parameters())
        self.shard = cfg.batch_size // world

    def step(self, x: np.ndarray, y: np.ndarray):
        """One optimizer step on this rank's shard of the global batch (x, y)."""
        lo = 0 if self.fault == "wrong-shard" else self.rank * self.shard
        xs = torch.from_numpy(np.ascontiguousarray(x[lo : lo + self.shard]))
        ys = torch.from_numpy(np.ascontiguousarray(y[lo : lo + self.shard])).long()
        if self.gpu:
            xs, ys = xs.cuda(non_blocking=True), ys.cuda(non_blocking=True)
        sync = self.ddp.no_sync() if self.fault == "unaveraged" else contextlib.nullcontext()
        with sync:
            logits = self.ddp(xs, training=True)
            loss = torch.nn.functional.cross_entropy(logits, ys)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()  # DDP all-reduces (averages) the gradients here
        self.opt.step()
        self.schedule.step()
        return loss.detach()

    def close(self) -> None:
        """Leave this model's training together: every rank waits for the others at a
        barrier (gloo's takes its own timeout; a rank that never comes is let go), then
        drops its DDP reducer. The process group stays for the next model
        (``_join``): a group destroyed and made again on the same port let a fast rank
        join the old rendezvous store while a slow one served a new one (a hang)."""
        if not dist.is_initialized():
            return
        try:
            if self.gpu:
                dist.barrier()
            else:
                dist.monitored_barrier(timeout=LEAVE_TIMEOUT)
        except RuntimeError:
            pass
        self.ddp = None  # the reducer goes while the group still holds its process group
        gc.collect()


def _join(backend: str, port: int, rank: int, world: int) -> None:
    """This process as ``rank`` of ``world`` in the process group, made once per process
    and left at its exit (``_leave``)."""
    if dist.is_initialized():
        if (dist.get_rank(), dist.get_world_size()) != (rank, world):
            raise SuiteError(
                f"this process is rank {dist.get_rank()} of {dist.get_world_size()} already"
            )
        return
    dist.init_process_group(
        backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world,
        timeout=TIMEOUT,
    )  # fmt: skip
    atexit.register(_leave)


def _leave() -> None:
    """Destroy the process group, after every DDP reducer has gone (``close``): a reducer
    holding the group's last reference destroys it holding the GIL, and the group's
    destructor joins gloo's worker threads, one of which may still need the GIL to free
    its last work (a deadlock: the hang at the end of a two-host wrong-shard run).
    Dropped by destroy_process_group, the group frees without the GIL."""
    gc.collect()
    if dist.is_initialized():
        dist.destroy_process_group()


def host_replica(cfg, place, build, fault: str = "none"):
    """Rank ``place.index`` of ``cfg.hosts * cfg.devices`` ranks in all, in this process,
    started by the suite as one of several hosts (``--hosts``): it joins the process
    group at the rendezvous (host 0's port) and trains its shard of every global batch
    with ``step(x, y)``; ``close()`` leaves the group. ``build(cfg)``: the Keras model
    (its compiled optimizer, if any, is not used: torch.optim's is)."""
    return _Replica(cfg, place.index, place.cluster.ports[0], build, True, fault)


def _follow(
    rank: int, cfg, port: int, data: str | None, threads: int, build, dropout=True, fault="none"
) -> None:
    """Ranks 1..N-1: every step of every epoch, in the suite's batch order."""
    from suite.frameworks import select_backend

    select_backend("torch", cfg.device, None)
    torch.set_num_threads(threads)
    from suite.core.data import epoch_batches, load_mnist, preprocess

    mnist = load_mnist(data, online=False)
    x = preprocess(mnist.x_train[: cfg.train_examples], cfg.data_format)
    y = mnist.y_train[: cfg.train_examples].astype(np.int32)
    replica = _Replica(cfg, rank, port, build, dropout, fault)
    x = x.reshape((len(x), *replica.model.input_shape[1:]))  # a brought model's own layout
    b = cfg.batch_size
    for epoch in range(cfg.epochs):
        for batch in epoch_batches(len(y), b, cfg.seed, epoch):
            replica.step(x[batch], y[batch])


class DDPRanks:
    """N ranks on one host: rank 0 in this process, ranks 1..N-1 spawned, all in the
    process group. ``step(x, y)`` trains rank 0's shard of the global batch (the others
    train theirs of the same batches in the same order); the suite's replica trainer
    (``suite.training.trainers.ReplicaTrainer``) times it. ``build(cfg)`` makes the
    Keras model with the shared initial weights on every rank (passed in so that this
    layer never imports the one above it); it must be a module-level function, since
    the spawned ranks receive it pickled by name."""

    def __init__(
        self,
        cfg,
        build,
        data: str | None = None,
        dropout: bool = True,
        fault: str = "none",
    ):
        if cfg.device == "gpu":
            check_gpu_count(cfg.devices)
        threads = max(1, torch.get_num_threads() // cfg.devices)
        torch.set_num_threads(threads)  # N ranks share the cores the single device had
        (port,) = free_ports(1)
        ctx = mp.get_context("spawn")
        args = (cfg, port, data, threads, build, dropout, fault)
        self.helpers = [
            ctx.Process(target=_follow, args=(r, *args), daemon=True) for r in range(1, cfg.devices)
        ]
        for p in self.helpers:
            p.start()
        try:
            self.replica = _Replica(cfg, 0, port, build, dropout, fault)
        except Exception:
            self.close()
            raise
        self.model = self.replica.model
        self.resolved = {"threads_per_rank": threads, **engine_info(cfg.device, cfg.devices)}

    def step(self, x, y):
        return self.replica.step(x, y)

    def close(self) -> None:
        """Stop the other ranks (they may still wait for steps a diverged or failed run
        never takes) and leave the process group. A rank that failed has already failed
        the cell: rank 0's next all-reduce raised."""
        for p in self.helpers:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
                p.join()
        if getattr(self, "replica", None) is not None:
            self.replica.ddp = None  # before the group (``_leave``)
        _leave()  # each DDPRanks has its own group, on a port of its own


def check_gpu_count(devices: int) -> None:
    if torch.cuda.device_count() < devices:
        raise SuiteError(f"--devices {devices}: torch sees {torch.cuda.device_count()} GPU(s)")


def batch_statistics() -> str:
    """DDP runs the model on each rank's shard: Keras' BatchNormalization uses that
    shard's statistics (torch's SyncBatchNorm does not apply to a Keras layer)."""
    return "replica"
