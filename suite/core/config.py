"""Run settings: one frozen dataclass, defaults in one place, validated before any import."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields, replace

from models import MODELS, brought, get_model
from suite.core.data import TEST_IMAGES, TRAIN_IMAGES
from suite.core.errors import SuiteError
from suite.core.platform import check_backend, traits, visible_cpus

DEVICES = ("cpu", "gpu")
JIT_MODES = ("auto", "on", "off")
DATA_FORMATS = ("channels_last", "channels_first")
SCHEDULES = ("cosine", "constant")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam")
IMPLS = ("keras", "native")
LOOPS = ("fit", "torch-ddp")
SEED_LIMIT = 2**32  # numpy's generators take seeds 0 .. 2**32 - 1
TORCH_OPTIMIZERS = ("sgd", "adam")  # the torch DDP loop maps these to torch.optim
# broken on purpose, for the data-parallel check's must-fail cases: a replica trains on
# another replica's shard; (torch) no replica averages its gradients
FAULTS = ("none", "wrong-shard", "unaveraged")
# Keras' dtype policies a cell can train under (keras.config.set_dtype_policy): variables
# stay float32 under the mixed ones, computations run in the half type
DTYPE_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
# the allowed values of each RunConfig field that has a fixed set (the CLI's choices)
CHOICES = {
    "device": DEVICES,
    "jit": JIT_MODES,
    "data_format": DATA_FORMATS,
    "impl": IMPLS,
    "loop": LOOPS,
    "dtype_policy": DTYPE_POLICIES,
}
FLAGS = {"learning_rate": "--lr", "seed": "--seeds"}
# models whose input layout can be channels_first: the CNN builds its convolutions so;
# the dense models flatten whatever layout comes
CHANNELS_FIRST = ("softmax", "mlp", "cnn")  # where a flag is not --field-name


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
    train_examples: int = TRAIN_IMAGES
    test_examples: int = TEST_IMAGES
    impl: str = "keras"
    load_weights: str | None = None  # a .weights.h5 file to start from, else shared weights
    devices: int = 1  # data-parallel replicas (frameworks/<backend>/parallel.py), batch split
    # processes standing for hosts on this machine, over 127.0.0.1 (``run --hosts``), each
    # with ``devices`` devices: the global batch splits into hosts x devices shards
    hosts: int = 1
    loop: str = "fit"  # "fit": Keras' own; "torch-ddp": torch's DDP loop (torch, any devices)
    # a brought model's shared initial weights: a folder of seed{S}.weights.h5, one per
    # seed, built once on one backend and loaded on every backend (suite.training.brought)
    init_dir: str | None = None
    # --data npz:PATH or synthetic:SHAPE:CLASSES[:N] (suite.core.datasets); None: MNIST
    dataset: str | None = None
    dtype_policy: str = "float32"  # Keras' dtype policy for every layer of the model
    # inference after training (suite.training.inference): rounds (turns) of predict()
    # over the test set at ``inference_batch``, each followed by ``inference_calls``
    # single-example calls; 0 rounds: none
    inference_rounds: int = 4
    inference_batch: int = 1024
    inference_calls: int = 150
    # the sweep mode this cell trains as its backend's best (``compare --tuned``), e.g.
    # "steps_per_execution=8"; None: not a tuned cell
    tuned: str | None = None
    # which repetition of the matrix this cell belongs to (``compare --repeat N``): the
    # same settings again in a later independent run; not part of the variant, so the
    # report pools repetitions as it pools seeds, with runs as the units
    repeat: int = 0
    # which of its participant's worker processes trained the cell (``compare``): 0 the
    # first; 1 its A/A twin, the identical program in a second fresh process in the same
    # rounds, whose ratio to the first puts the process inside every interval
    process: int = 0
    # the version set the cell's worker runs (``versions``): one pinned release, e.g.
    # "keras==3.14.1" ("~2" for the same pin again), the rest the calling environment's
    # (``suite.core.environments``); None: this environment as it is
    versions: str | None = None

    def resolved(self) -> RunConfig:
        """Fill recipe defaults and the thread count so the result records real values."""
        recipe = get_model(self.model).recipe
        # a backend whose fit() has no distribution trains replicas in the suite's loop
        parallel = traits(self.backend).parallel_loop if self.replicas() > 1 else self.loop
        return replace(
            self,
            epochs=self.epochs or recipe.epochs,
            batch_size=self.batch_size or recipe.batch_size,
            learning_rate=self.learning_rate or recipe.learning_rate,
            optimizer=self.optimizer or recipe.optimizer,
            schedule=self.schedule or recipe.schedule,
            threads=self.threads or len(visible_cpus()),
            loop=parallel,
        )

    def replicas(self) -> int:
        """Data-parallel replicas in all: every host's devices."""
        return self.hosts * self.devices

    def participant(self) -> str:
        """Who takes turns in compare's rounds, each in its own worker (``participant_name``)."""
        return participant_name(asdict(self))

    def key(self) -> str:
        """Short stable hash of the resolved settings: names the cell's result file."""
        settings = asdict(self.resolved())
        for name, default in VARIANT_NEW.items():
            if settings[name] == default:  # keeps the names of cells made before it existed
                del settings[name]
        blob = json.dumps(settings, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]

    def cell_name(self) -> str:
        devices = f"-x{self.devices}" if self.devices > 1 else ""
        if self.hosts > 1:
            devices = f"-h{self.hosts}{devices}"
        return (
            f"{self.backend}-{self.device}{devices}-{brought.slug(self.model)}-{self.impl}-"
            f"seed{self.seed}-{f'r{self.repeat}-' if self.repeat else ''}"
            f"{f'p{self.process}-' if self.process else ''}"
            f"{self.key()}"
        )


def validate(cfg: RunConfig, check_install: bool = True) -> RunConfig:
    """Raise SuiteError on any impossible setting; return the resolved config."""
    if check_install:
        check_backend(cfg.backend)
    check_model(cfg.model)
    _check_names(cfg)
    _check_numbers(cfg)
    _check_modes(cfg)
    check_dtype_policy(cfg)
    if cfg.load_weights is not None and cfg.impl != "keras":
        raise SuiteError("--load-weights reads Keras weights: it needs --impl keras")
    r = cfg.resolved()
    check_devices(r, len(visible_cpus()))
    if r.batch_size > r.train_examples:
        raise SuiteError(
            f"--batch-size {r.batch_size} exceeds --train-examples "
            f"{r.train_examples}: not one full batch per epoch"
        )
    return r


# settings that must be above 0 when given, and those that must not be below it
POSITIVE = (
    "epochs", "batch_size", "learning_rate", "steps_per_execution", "train_examples",
    "test_examples", "inference_batch", "inference_calls",
)  # fmt: skip
NOT_NEGATIVE = (
    "threads", "warmup_steps", "latency_steps", "chunk_steps", "inference_rounds", "repeat",
    "process",
)  # fmt: skip


def _check_names(cfg: RunConfig) -> None:
    """Every named setting is one of its choices."""
    for field, allowed in CHOICES.items():
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


def _check_numbers(cfg: RunConfig) -> None:
    """Counts and rates in range: positive and finite, not negative, within MNIST."""
    for field in POSITIVE:
        value = getattr(cfg, field)
        if value is not None and not value > 0:
            raise SuiteError(f"{flag(field)} must be positive, got {value}")
        if value is not None and not math.isfinite(value):
            raise SuiteError(f"{flag(field)} must be a finite number, got {value}")
    if not 0 <= cfg.seed < SEED_LIMIT:
        raise SuiteError(f"--seeds {cfg.seed}: a seed must be 0..{SEED_LIMIT - 1}")
    for field in NOT_NEGATIVE:
        if getattr(cfg, field) < 0:
            raise SuiteError(f"{flag(field)} must not be negative, got {getattr(cfg, field)}")
    if cfg.dataset is None and (
        cfg.train_examples > TRAIN_IMAGES or cfg.test_examples > TEST_IMAGES
    ):
        raise SuiteError(
            f"MNIST has {TRAIN_IMAGES} training and {TEST_IMAGES} test images; lower the limit"
        )


def _check_modes(cfg: RunConfig) -> None:
    """The loop, the implementation, steps per execution and the data format fit the
    backend and the model."""
    own = traits(cfg.backend)
    if cfg.loop == "torch-ddp" and (own.parallel_loop != "torch-ddp" or cfg.impl != "keras"):
        raise SuiteError("--loop torch-ddp trains the Keras model in torch's DDP loop: torch only")
    if cfg.steps_per_execution != 1 and cfg.impl == "native" and not own.native_steps_per_execution:
        raise SuiteError(
            f"--steps-per-execution {cfg.steps_per_execution} with --impl native: "
            f"{cfg.backend}'s native loop runs eagerly, one step per call (as Keras' "
            f"{cfg.backend} trainer)"
        )
    if cfg.chunk_steps and cfg.chunk_steps % cfg.steps_per_execution:
        raise SuiteError(
            f"--chunk-steps {cfg.chunk_steps} is not a multiple of --steps-per-execution "
            f"{cfg.steps_per_execution}: a timed chunk must be whole executions"
        )
    if cfg.impl == "native" and not get_model(cfg.model).native:
        natives = ", ".join(m for m, s in MODELS.items() if s.native)
        raise SuiteError(
            f"--impl native: model {cfg.model} has no native implementation (those: {natives})"
        )
    if cfg.data_format == "channels_first" and cfg.model not in CHANNELS_FIRST:
        raise SuiteError(
            f"--data-format channels_first: model {cfg.model} is built channels_last only "
            f"(channels_first: {', '.join(CHANNELS_FIRST)})"
        )


def check_dtype_policy(cfg) -> None:
    """A mixed policy is Keras' own: the native loops and torch's DDP loop train in
    float32 only."""
    if cfg.dtype_policy == "float32":
        return
    where = None
    if cfg.impl == "native":
        where = "--impl native (the native implementations train in float32)"
    elif cfg.loop == "torch-ddp" or (
        traits(cfg.backend).parallel_loop != "fit" and cfg.devices > 1
    ):
        where = "torch's DDP loop (--loop torch-ddp, --devices N on torch) trains in float32"
    if where:
        raise SuiteError(f"--dtype-policy {cfg.dtype_policy} is not supported with {where}")


def check_model(name: str, flag: str = "--model") -> None:
    """A registry name, or a brought model whose reference parses and whose source is
    there (and unchanged, when the name pins its hash)."""
    if name in MODELS:
        return
    if not brought.is_reference(name):
        raise SuiteError(
            f"{flag} {name}: unknown model {name!r}; choose from {', '.join(MODELS)} or all, "
            "or bring one as MODULE:FUNCTION or path/to/file.py:FUNCTION"
        )
    try:
        brought.check_source(brought.parse(name))
    except ValueError as e:
        raise SuiteError(f"{flag} {name}: {e}") from None


def check_devices(cfg, cpu_count: int) -> None:
    """Refuse impossible data-parallel settings before anything starts."""
    n = cfg.devices
    if n < 1:
        raise SuiteError(f"--devices {n}: give at least 1 device")
    if cfg.hosts < 1:
        raise SuiteError(f"--hosts {cfg.hosts}: give at least 1 host")
    if cfg.loop == "torch-ddp":
        _check_torch_loop(cfg)
    if cfg.hosts > 1:
        _check_hosts(cfg)
    where = f"--hosts {cfg.hosts} --devices {n}" if cfg.hosts > 1 else f"--devices {n}"
    n = cfg.replicas()
    if n == 1:
        return
    if cfg.device == "cpu" and n > cpu_count:
        raise SuiteError(
            f"{where}: this machine has {cpu_count} CPU cores; on the CPU each "
            f"virtual device needs a core of its own, so at most {cpu_count} in all"
        )
    if cfg.impl != "keras":
        raise SuiteError(f"{where} trains Keras models: it needs --impl keras")
    if cfg.batch_size % n:
        raise SuiteError(
            f"{where}: the global batch {cfg.batch_size} must split into {n} equal shards"
        )
    _check_jit_distributed(cfg, f"--devices {n}")


def _check_hosts(cfg) -> None:
    """What ``--hosts H`` (several processes over 127.0.0.1) cannot honour: TensorFlow's
    and torch's hosts train in the suite's own loops, one step per call, in float32."""
    where = f"--hosts {cfg.hosts}"
    if cfg.device == "gpu":
        raise SuiteError(f"{where}: hosts over loopback run on the CPU only (--device cpu)")
    if cfg.dtype_policy != "float32":
        raise SuiteError(f"{where} with --dtype-policy {cfg.dtype_policy}: hosts train in float32")
    loop = traits(cfg.backend).hosts_loop
    if loop and cfg.steps_per_execution != 1:
        raise SuiteError(
            f"{where} on {cfg.backend} with --steps-per-execution {cfg.steps_per_execution}: "
            f"{loop} runs one step per call"
        )
    _check_jit_distributed(cfg, where)


def _check_jit_distributed(cfg, where: str) -> None:
    under = traits(cfg.backend).drops_jit_under
    if cfg.jit == "on" and under:
        raise SuiteError(f"{where} on {cfg.backend}: Keras turns XLA off under {under}")


def _check_torch_loop(cfg) -> None:
    """Settings the torch DDP loop (``--loop torch-ddp``; ``--devices N`` on torch) cannot
    honour."""
    where = f"--devices {cfg.devices} on torch" if cfg.devices > 1 else "--loop torch-ddp"
    if cfg.hosts > 1:
        where = f"--hosts {cfg.hosts} on torch"
    if cfg.steps_per_execution != 1:
        raise SuiteError(
            f"{where} with --steps-per-execution {cfg.steps_per_execution}: the torch "
            "data-parallel loop runs one step per call"
        )
    if cfg.optimizer not in TORCH_OPTIMIZERS:
        raise SuiteError(
            f"{where} maps the optimizer to torch.optim: {cfg.optimizer!r} is not one of "
            f"{', '.join(TORCH_OPTIMIZERS)}"
        )
    if cfg.jit == "on":
        raise SuiteError(f"{where}: --jit on (torch.compile) is not supported there")
    if cfg.dataset:
        raise SuiteError(
            f"{where} with --data {cfg.dataset}: each rank reads its MNIST shard itself; "
            "train other data on one device or on JAX or TensorFlow"
        )


def participant_name(config: dict) -> str:
    """The participant a cell trains as, from its settings (a result's ``config`` too):
    the backend, with its implementation, hosts, device count or loop, dtype policy, a
    batch size other than the recipe's and tuned mode, e.g. "torch", "jax-native",
    "torch-x2", "torch-torch-ddp", "jax-mixed_bfloat16", "jax-b512", "tensorflow-tuned"."""
    name = config["backend"]
    if config.get("impl", "keras") != "keras":
        name += f"-{config['impl']}"
    if config.get("hosts", 1) > 1:
        name += f"-h{config['hosts']}"
    if config.get("devices", 1) > 1:
        name += f"-x{config['devices']}"
    elif config.get("loop", "fit") != "fit":
        name += f"-{config['loop']}"
    if config.get("dtype_policy", "float32") != "float32":
        name += f"-{config['dtype_policy']}"
    if config.get("batch_size") not in (None, recipe_batch(config["model"])):
        name += f"-b{config['batch_size']}"  # compare --batch-sizes: a worker per size
    if config.get("tuned"):
        name += "-tuned"
    if config.get("versions"):
        name += f"@{config['versions']}"  # versions: a worker per version set
    return name


def recipe_batch(model: str) -> int | None:
    """``model``'s recipe batch size, or None for a model no longer known."""
    try:
        return get_model(model).recipe.batch_size
    except (KeyError, ValueError):  # a model no longer known: no suffix
        return None


# Run settings outside the variant text, the cell key and the report's grouping, per
# field: older results lack them, so at these defaults (RunConfig's) they are left out
NEW_FIELDS = (
    "load_weights", "devices", "hosts", "loop", "init_dir", "dataset", "dtype_policy",
    "inference_rounds", "inference_batch", "inference_calls", "tuned", "repeat", "process",
    "versions",
)  # fmt: skip
VARIANT_NEW = {f.name: f.default for f in fields(RunConfig) if f.name in NEW_FIELDS}
# Fields outside the variant: those naming the cell itself, and the latency diagnostic's
# step counts (they decide no throughput chunk's work)
NOT_VARIANT = (
    "backend",
    "model",
    "seed",
    "device",
    "impl",
    "warmup_steps",
    "latency_steps",
    "inference_rounds",
    "inference_batch",
    "inference_calls",
    "repeat",
    "process",
)


def variant_text(config: dict) -> str:
    """``RunConfig.variant`` of a config read back from a result file (a dict), where a
    field missing from an older file counts as its default."""
    fields = [f for f in RunConfig.__dataclass_fields__ if f not in NOT_VARIANT]
    values = [(k, config.get(k, VARIANT_NEW.get(k))) for k in fields]
    return ", ".join(
        f"{k}={v}" for k, v in values if v is not None and v != VARIANT_NEW.get(k, ...)
    )


def resolved_jit(backend: str, device: str, jit: str) -> bool:
    """Whether a train step compiles, with ``jit`` "auto" resolved as Keras resolves it
    (``Trainer._resolve_auto_jit_compile``): torch eager; TensorFlow XLA only with a
    GPU; JAX always (every built-in layer supports it). "on" and "off" are themselves."""
    if jit != "auto":
        return jit == "on"
    return {"torch": False, "tensorflow": device == "gpu"}.get(backend, True)


def same_as_default(backend: str, device: str, settings: dict) -> bool:
    """A mode whose settings, resolved, are the default's: the same program (TensorFlow's
    ``jit=off`` on a CPU, JAX's ``jit=on``), so never a tuned participant of its own."""
    rest = {k: v for k, v in settings.items() if k not in ("jit", "impl")}
    if rest or settings.get("impl", "keras") != "keras":
        return False
    return resolved_jit(backend, device, settings.get("jit", "auto")) == resolved_jit(
        backend, device, "auto"
    )
