"""Run settings: one frozen dataclass, defaults in one place, validated before any import."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace

from models import MODELS, get_model
from suite.backends import check_backend, visible_cpus
from suite.errors import SuiteError

DEVICES = ("cpu", "gpu")
JIT_MODES = ("auto", "on", "off")
DATA_FORMATS = ("channels_last", "channels_first")
SCHEDULES = ("cosine", "constant")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam")
IMPLS = ("keras", "native")
LOOPS = ("fit", "torch-ddp")
SEED_LIMIT = 2**32  # numpy's generators take seeds 0 .. 2**32 - 1
FLAGS = {"learning_rate": "--lr", "seed": "--seeds"}  # where a flag is not --field-name


def flag(field: str) -> str:
    """The command-line flag that sets a RunConfig field, as the user typed it."""
    return FLAGS.get(field, "--" + field.replace("_", "-"))


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what one result cell measures."""

    backend: str
    model: str
    seed: int = 0
    device: str = "cpu"
    epochs: int | None = None  # None: the model's recipe
    batch_size: int | None = None
    learning_rate: float | None = None
    optimizer: str | None = None
    schedule: str | None = None
    jit: str = "auto"
    data_format: str = "channels_last"
    steps_per_execution: int = 1
    threads: int = 0  # 0: all cores
    allow_tf32: bool = False
    warmup_steps: int = 5  # first steps: tracing/compilation, reported apart
    latency_steps: int = 20  # then steps timed one by one (the latency diagnostic)
    chunk_steps: int = 0  # steps per throughput chunk; 0: chosen (suite.chunks)
    train_examples: int = 60000
    test_examples: int = 10000
    impl: str = "keras"
    load_weights: str | None = None  # a .weights.h5 file to start from, else shared weights
    devices: int = 1  # data-parallel replicas (suite.parallel); the global batch is split
    loop: str = "fit"  # "fit": Keras' own; "torch-ddp": torch's DDP loop (torch, any devices)

    def resolved(self) -> RunConfig:
        """Fill recipe defaults and the thread count so the result records real values."""
        recipe = get_model(self.model).recipe
        ddp = self.backend == "torch" and self.devices > 1  # torch's fit() has no distribution
        return replace(
            self,
            epochs=self.epochs or recipe.epochs,
            batch_size=self.batch_size or recipe.batch_size,
            learning_rate=self.learning_rate or recipe.learning_rate,
            optimizer=self.optimizer or recipe.optimizer,
            schedule=self.schedule or recipe.schedule,
            threads=self.threads or len(visible_cpus()),
            loop="torch-ddp" if ddp else self.loop,
        )

    def key(self) -> str:
        """Short stable hash of the resolved settings: names the cell's result file."""
        settings = asdict(self.resolved())
        for name, default in (("load_weights", None), ("devices", 1), ("loop", "fit")):
            if settings[name] == default:  # keeps the names of cells made before it existed
                del settings[name]
        blob = json.dumps(settings, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]

    def cell_name(self) -> str:
        devices = f"-x{self.devices}" if self.devices > 1 else ""
        return (
            f"{self.backend}-{self.device}{devices}-{self.model}-{self.impl}-seed{self.seed}-"
            f"{self.key()}"
        )


def validate(cfg: RunConfig, check_install: bool = True) -> RunConfig:
    """Raise SuiteError on any impossible setting; return the resolved config."""
    if check_install:
        check_backend(cfg.backend)
    if cfg.model not in MODELS:
        raise SuiteError(f"unknown model {cfg.model!r}; choose from {', '.join(MODELS)} or all")
    choices = [
        ("device", DEVICES),
        ("jit", JIT_MODES),
        ("data_format", DATA_FORMATS),
        ("impl", IMPLS),
        ("loop", LOOPS),
    ]
    for field, allowed in choices:
        if getattr(cfg, field) not in allowed:
            raise SuiteError(
                f"{flag(field)} {getattr(cfg, field)!r} is not one of {', '.join(allowed)}"
            )
    if cfg.schedule is not None and cfg.schedule not in SCHEDULES:
        raise SuiteError(f"--schedule {cfg.schedule!r} is not one of {', '.join(SCHEDULES)}")
    if cfg.optimizer is not None and cfg.optimizer not in OPTIMIZERS:
        raise SuiteError(
            f"unknown optimizer {cfg.optimizer!r}; choose from {', '.join(OPTIMIZERS)}"
        )
    positive = [
        "epochs",
        "batch_size",
        "learning_rate",
        "steps_per_execution",
        "train_examples",
        "test_examples",
    ]
    for field in positive:
        value = getattr(cfg, field)
        if value is not None and not value > 0:
            raise SuiteError(f"{flag(field)} must be positive, got {value}")
        if value is not None and not math.isfinite(value):
            raise SuiteError(f"{flag(field)} must be a finite number, got {value}")
    if not 0 <= cfg.seed < SEED_LIMIT:
        raise SuiteError(f"--seeds {cfg.seed}: a seed must be 0..{SEED_LIMIT - 1}")
    for field in ("threads", "warmup_steps", "latency_steps", "chunk_steps"):
        if getattr(cfg, field) < 0:
            raise SuiteError(f"{flag(field)} must not be negative, got {getattr(cfg, field)}")
    if cfg.train_examples > 60000 or cfg.test_examples > 10000:
        raise SuiteError("MNIST has 60000 training and 10000 test images; lower the limit")
    if cfg.loop == "torch-ddp" and (cfg.backend != "torch" or cfg.impl != "keras"):
        raise SuiteError("--loop torch-ddp trains the Keras model in torch's DDP loop: torch only")
    if cfg.steps_per_execution != 1 and cfg.impl == "native" and cfg.backend == "torch":
        raise SuiteError(
            f"--steps-per-execution {cfg.steps_per_execution} with --impl native: torch's "
            "native loop runs eagerly, one step per call (as Keras' torch trainer)"
        )
    if cfg.chunk_steps and cfg.chunk_steps % cfg.steps_per_execution:
        raise SuiteError(
            f"--chunk-steps {cfg.chunk_steps} is not a multiple of --steps-per-execution "
            f"{cfg.steps_per_execution}: a timed chunk must be whole executions"
        )
    if cfg.load_weights is not None and cfg.impl != "keras":
        raise SuiteError("--load-weights reads Keras weights: it needs --impl keras")
    r = cfg.resolved()
    from suite.parallel import check_devices

    check_devices(r, len(visible_cpus()))
    if r.batch_size > r.train_examples:
        raise SuiteError(
            f"--batch-size {r.batch_size} exceeds --train-examples "
            f"{r.train_examples}: not one full batch per epoch"
        )
    return r
