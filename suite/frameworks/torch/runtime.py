"""What Keras does not abstract on the torch backend."""

from __future__ import annotations

import time

import torch

from suite.core.errors import SuiteError


def configure(device: str, threads: int, allow_tf32: bool = False) -> dict:
    """Apply thread, precision and device settings; return what is actually in effect."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        pass  # already started in this process: report what is in effect below
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    torch.backends.cudnn.allow_tf32 = allow_tf32
    torch.set_float32_matmul_precision("high" if allow_tf32 else "highest")
    # the suite's autotune policy (see suite/frameworks/__init__.py): on, as TF and XLA are
    # by default; cuDNN's benchmark mode is off by default in torch
    torch.backends.cudnn.benchmark = device == "gpu"
    if device == "gpu" and not torch.cuda.is_available():
        raise SuiteError(
            "--device gpu: torch sees no CUDA GPU (install the torch-gpu extra "
            "on a machine with one, or use --device cpu)"
        )
    from suite.core.platform import visible_cpus

    return {
        "cpu_affinity": visible_cpus(),
        "intra_op_threads": torch.get_num_threads(),
        "inter_op_threads": torch.get_num_interop_threads(),
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "mkldnn_enabled": torch.backends.mkldnn.enabled,
        "conv_autotune": torch.backends.cudnn.benchmark,
    }


def seed(seed: int) -> None:
    torch.manual_seed(seed)


def device_info(device: str) -> dict:
    info = {
        "framework": "torch",
        "framework_version": torch.__version__,
        "kind": device,
        "name": "cpu",
    }
    if device == "gpu":
        props = torch.cuda.get_device_properties(0)
        info.update(
            name=props.name,
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            count=torch.cuda.device_count(),
            # "major.minor": bfloat16 tensor cores from 8.0, float16 from 7.0
            compute_capability=f"{props.major}.{props.minor}",
        )
    return info


def synchronize(value=None) -> None:
    """Wait for queued CUDA work; CPU ops in torch are synchronous already."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def drain(model) -> None:
    """Wait until every update queued by the model's training is done: CPU ops are
    synchronous, a GPU's queue is waited for."""
    synchronize()


def read_loss(out) -> float:
    """The step's loss from Keras' train function output, once the step is done."""
    loss = float(out["loss"])  # .item(): waits for this tensor
    synchronize()  # and for anything else queued on a GPU
    return loss


def reset_peak_memory(device: str) -> None:
    if device == "gpu":
        torch.cuda.reset_peak_memory_stats()


def peak_device_memory(device: str) -> int | None:
    return int(torch.cuda.max_memory_allocated()) if device == "gpu" else None


def bare_steps(model, x, y, batch_size: int) -> list[float]:
    """Seconds per step of fit()'s own inner loop with everything but the train call
    removed: Keras' epoch iterator feeds Keras' train function, no callbacks, no
    logs handling. Uses Keras internals (TorchEpochIterator); the reference for
    ``suite timing-check``."""
    from keras.src.backend.torch.trainer import TorchEpochIterator

    iterator = TorchEpochIterator(x=x, y=y, batch_size=batch_size, shuffle=False)
    model._symbolic_build(iterator=iterator)
    iterator.reset()
    model.make_train_function()
    model.train()
    times = []
    for _, _, data in iterator:
        start = time.perf_counter()
        float(model.train_function(data)["loss"])
        synchronize()
        times.append(time.perf_counter() - start)
    return times


def enable_float64() -> None:
    pass  # torch computes in the dtype of the tensors it is given


def make_loss_and_grads(model):
    """(x, y) -> (loss, logits, [grad per trainable variable]) with ``loss.backward()``.
    Training mode, as ``fit()``
    runs it: BatchNormalization normalises with the batch's statistics and updates its
    moving ones; dropout layers drop at their rate (the gradient check sets it to 0)."""
    import keras

    def loss_and_grads(x, y):
        for v in model.trainable_variables:
            v.value.grad = None
        logits = model(keras.ops.convert_to_tensor(x), training=True)
        # the loss in floatx, as Keras' Loss computes it under a mixed policy
        logits = keras.ops.cast(logits, keras.config.floatx())
        per_example = keras.losses.sparse_categorical_crossentropy(
            keras.ops.convert_to_tensor(y), logits, from_logits=True
        )
        loss = per_example.mean()
        loss.backward()
        return loss.detach(), logits.detach(), [v.value.grad for v in model.trainable_variables]

    return loss_and_grads


def make_train_step(model, x, y):
    """A callable running Keras' own train step once on (x, y) and waiting for it:
    no fit(), no callbacks, the batch converted beforehand."""
    import keras

    model.make_train_function()
    model.train()
    batch = (keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y))

    def step():
        loss = float(model.train_function([batch])["loss"])
        synchronize()
        return loss

    return step


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """The machine's float32 matmul rate through torch: best of ``repeats`` n x n products."""
    from suite.frameworks.shared import best_seconds

    device = "cuda" if torch.cuda.is_available() else "cpu"
    a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)

    def run():
        a @ b
        synchronize()

    run()  # warm-up
    return 2 * n**3 / best_seconds(run, repeats) / 1e9


def compilation_cache(path: str) -> str:
    """TorchInductor's caches in ``path`` (what ``torch.compile``, i.e. jit=on, reuses in a
    later process); Keras' default torch mode is eager and compiles nothing."""
    import os

    os.environ["TORCHINDUCTOR_CACHE_DIR"] = path
    os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] = "1"
    return f"TORCHINDUCTOR_CACHE_DIR={path} (jit=on only; eager compiles nothing)"


def out_of_memory(message: str) -> Exception:
    """torch's own out-of-memory error (what a CUDA allocation that does not fit raises)."""
    return torch.OutOfMemoryError(message)


def is_out_of_memory(error: BaseException) -> bool:
    """Did this error say the memory ran out (torch's OutOfMemoryError, or a host
    allocation that failed)?"""
    return isinstance(error, (torch.OutOfMemoryError, MemoryError))
