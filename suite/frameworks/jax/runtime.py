"""What Keras does not abstract on the JAX backend."""

from __future__ import annotations

import os
import time

import jax

from suite.core.errors import SuiteError


def configure(device: str, threads: int, allow_tf32: bool = False) -> dict:
    """Apply precision and device settings; return what is actually in effect.

    XLA's CPU thread pool is sized from the CPUs this process may run on, which
    ``select_backend`` pins before import; one thread also turns Eigen's pool off.
    """
    jax.config.update("jax_default_matmul_precision", "default" if allow_tf32 else "highest")
    if device == "gpu":
        try:
            jax.devices("gpu")
        except RuntimeError:
            raise SuiteError(
                "--device gpu: JAX sees no GPU (install the jax-gpu extra on a "
                "machine with one, or use --device cpu)"
            ) from None
    from suite.core.platform import visible_cpus

    flags = os.environ.get("XLA_FLAGS", "")
    return {
        "cpu_affinity": visible_cpus(),
        "intra_op_threads": len(visible_cpus()),
        "xla_flags": flags,
        "default_matmul_precision": jax.config.jax_default_matmul_precision,
        "platform": jax.default_backend(),
        # XLA's GPU autotuning, on unless XLA_FLAGS sets --xla_gpu_autotune_level=0
        "conv_autotune": device == "gpu" and "xla_gpu_autotune_level=0" not in flags,
    }


def seed(seed: int) -> None:
    pass  # JAX has no global generator; keras derives its keys from Python's random


def device_info(device: str) -> dict:
    d = jax.devices()[0]
    info = {
        "framework": "jax",
        "framework_version": jax.__version__,
        "kind": device,
        "name": d.device_kind,
        "platform": d.platform,
    }
    if device == "gpu":
        info["count"] = jax.device_count()
        info["compute_capability"] = getattr(d, "compute_capability", None)  # "8.0"
    return info


def synchronize(value=None) -> None:
    """Block until the arrays in ``value`` (any pytree) are computed."""
    if value is not None:
        jax.block_until_ready(value)


def drain(model) -> None:
    """Wait until every update queued by the model's training is done (JAX dispatches
    asynchronously: fit() returns before its last steps have run)."""
    jax.block_until_ready([v.value for v in model.variables])


def read_loss(out) -> float:
    """The step's loss from Keras' train function output ``(logs, state)``; reading
    it blocks until the jitted step (one XLA execution) has finished."""
    return float(out[0]["loss"])


_peak_at_reset: list[int | None] = [None]


def _peak_bytes() -> int | None:
    return (jax.devices()[0].memory_stats() or {}).get("peak_bytes_in_use")


def reset_peak_memory(device: str) -> None:
    """XLA keeps one running peak per device and cannot reset it: remember where it
    stands, so that a cell's own peak is known only when it rises above that."""
    _peak_at_reset[0] = _peak_bytes() if device == "gpu" else None


def peak_device_memory(device: str) -> int | None:
    """The GPU memory peak since ``reset_peak_memory``, or None where it stayed at or
    below an earlier cell's running peak in this process (then this cell's own peak is
    unknown: it is at most that, and reporting that would credit it with another
    model's memory)."""
    if device != "gpu":
        return None
    peak = _peak_bytes()
    if peak is None or (_peak_at_reset[0] is not None and peak <= _peak_at_reset[0]):
        return None
    return peak


def bare_steps(model, x, y, batch_size: int) -> list[float]:
    """Seconds per step of fit()'s own inner loop with everything but the train call
    removed: Keras' epoch iterator feeds the jitted train function, state threaded
    as fit does, no callbacks, no logs handling. Uses Keras internals
    (JAXEpochIterator, _get_jax_state); the reference for ``suite timing-check``."""
    from keras.src.backend.jax.trainer import JAXEpochIterator

    epoch = JAXEpochIterator(x=x, y=y, batch_size=batch_size, shuffle=False)
    model._symbolic_build(iterator=epoch)
    epoch.reset()
    model.make_train_function()
    state = model._get_jax_state(
        trainable_variables=True,
        non_trainable_variables=True,
        optimizer_variables=True,
        metrics_variables=True,
        purge_model_variables=False,
    )
    times = []
    with epoch.catch_stop_iteration():
        for _, _, iterator in epoch:
            start = time.perf_counter()
            logs, state = model.train_function(state, iterator)
            float(jax.block_until_ready(logs)["loss"])
            times.append(time.perf_counter() - start)
    # the jitted step donates its input buffers: put the final state back, as fit does
    names = (
        "trainable_variables",
        "non_trainable_variables",
        "optimizer_variables",
        "metrics_variables",
    )
    model._jax_state = dict(zip(names, state, strict=True))
    model._jax_state_synced = False
    model.jax_state_sync()
    return times


def enable_float64() -> None:
    """JAX computes in float32 unless x64 is on; must run before any array exists."""
    jax.config.update("jax_enable_x64", True)


def make_loss_and_grads(model):
    """(x, y) -> (loss, logits, [grad per trainable variable]) with ``jax.value_and_grad``
    over ``stateless_call``, jitted. Training mode, as ``fit()``
    runs it: BatchNormalization normalises with the batch's statistics and updates its
    moving ones; dropout layers drop at their rate (the gradient check sets it to 0)."""
    import keras

    def loss_fn(trainable, non_trainable, x, y):
        logits, moved = model.stateless_call(trainable, non_trainable, x, training=True)
        # the loss in floatx, as Keras' Loss computes it under a mixed policy (a no-op
        # in float32 and float64)
        logits = keras.ops.cast(logits, keras.config.floatx())
        per_example = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        # keras.ops.mean would compute in float32
        return jax.numpy.mean(per_example), (logits, moved)

    grad_fn = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))

    def loss_and_grads(x, y):
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        (loss, (logits, moved)), grads = grad_fn(trainable, non_trainable, x, y)
        for v, value in zip(model.non_trainable_variables, moved, strict=True):
            v.assign(value)  # moving statistics, as the other backends' eager calls update
        return loss, logits, grads

    return loss_and_grads


def make_train_step(model, x, y):
    """A callable running Keras' jitted train step once on (x, y), threading the
    state as fit() does, and blocking until it is done."""
    batch = (jax.device_put(x), jax.device_put(y))
    model._symbolic_build(data_batch=batch)  # creates optimizer state, as fit does
    model.make_train_function()
    state = [
        model._get_jax_state(
            trainable_variables=True,
            non_trainable_variables=True,
            optimizer_variables=True,
            metrics_variables=True,
            purge_model_variables=False,
        )
    ]

    def step():
        logs, state[0] = model.train_function(state[0], iter([batch]))
        return float(jax.block_until_ready(logs)["loss"])

    return step


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """The machine's float32 matmul rate through XLA: best of ``repeats`` n x n products."""
    from suite.frameworks.shared import best_seconds

    key_a, key_b = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.uniform(key_a, (n, n), jax.numpy.float32)
    b = jax.random.uniform(key_b, (n, n), jax.numpy.float32)
    matmul = jax.jit(jax.numpy.matmul)

    def run():
        matmul(a, b).block_until_ready()

    run()  # compile and warm up
    return 2 * n**3 / best_seconds(run, repeats) / 1e9


def compilation_cache(path: str) -> str:
    """JAX's persistent compilation cache in ``path`` (every compiled program kept, however
    quick its compile), before anything compiles: a second process reads XLA's programs
    from it instead of compiling them."""
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return f"jax_compilation_cache_dir={path}"


def out_of_memory(message: str) -> Exception:
    """XLA's own out-of-memory error: a runtime error whose status is RESOURCE_EXHAUSTED."""
    from jax.errors import JaxRuntimeError

    return JaxRuntimeError(f"RESOURCE_EXHAUSTED: {message}")


def is_out_of_memory(error: BaseException) -> bool:
    """Did this error say the memory ran out (XLA's RESOURCE_EXHAUSTED, or a host
    allocation that failed)?"""
    from jax.errors import JaxRuntimeError

    if isinstance(error, MemoryError):
        return True
    return isinstance(error, JaxRuntimeError) and "RESOURCE_EXHAUSTED" in str(error)
