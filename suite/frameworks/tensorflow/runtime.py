"""What Keras does not abstract on the TensorFlow backend."""

from __future__ import annotations

import os
import time

import tensorflow as tf

from suite.core.errors import SuiteError


def configure(device: str, threads: int, allow_tf32: bool = False) -> dict:
    """Apply thread, precision and device settings; return what is actually in effect.

    Thread counts must be set before TensorFlow runs its first op.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # already initialised: report what is in effect below
    tf.config.experimental.enable_tensor_float_32_execution(allow_tf32)
    if device == "gpu" and not tf.config.list_physical_devices("GPU"):
        raise SuiteError(
            "--device gpu: TensorFlow sees no GPU (install the tensorflow-gpu "
            "extra on a machine with one, or use --device cpu)"
        )
    from suite.core.platform import visible_cpus

    return {
        "cpu_affinity": visible_cpus(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or threads,
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "tensor_float_32": tf.config.experimental.tensor_float_32_execution_enabled(),
        # cuDNN algorithm autotuning, on unless TF_CUDNN_USE_AUTOTUNE=0 (GPU only)
        "conv_autotune": device == "gpu" and os.environ.get("TF_CUDNN_USE_AUTOTUNE") != "0",
    }


def seed(seed: int) -> None:
    tf.random.set_seed(seed)


def device_info(device: str) -> dict:
    info = {
        "framework": "tensorflow",
        "framework_version": tf.__version__,
        "kind": device,
        "name": "cpu",
    }
    if device == "gpu":
        gpus = tf.config.list_physical_devices("GPU")
        details = tf.config.experimental.get_device_details(gpus[0])
        build = tf.sysconfig.get_build_info()
        info.update(
            name=details.get("device_name", "gpu"),
            count=len(gpus),
            cuda=build.get("cuda_version"),
            cudnn=build.get("cudnn_version"),
            compute_capability=".".join(map(str, details.get("compute_capability") or ())) or None,
        )
    return info


def synchronize(value=None) -> None:
    """Materialise ``value`` on the host, which waits for the step that made it."""
    if value is not None:
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, value)


def drain(model) -> None:
    """Wait until every update queued by the model's training is done, on every device
    (TensorFlow's documented ``sync_devices``)."""
    tf.test.experimental.sync_devices()


def read_loss(out) -> float:
    """The step's loss from Keras' train function output; ``float`` materialises it
    on the host, which waits for the step."""
    return float(out["loss"])


def reset_peak_memory(device: str) -> None:
    if device == "gpu":
        tf.config.experimental.reset_memory_stats("GPU:0")


def peak_device_memory(device: str) -> int | None:
    if device != "gpu":
        return None
    return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])


def bare_steps(model, x, y, batch_size: int) -> list[float]:
    """Seconds per step of fit()'s own inner loop with everything but the train call
    removed: Keras' epoch iterator (tf.data) feeds Keras' train function, no
    callbacks, no logs handling. Uses Keras internals (TFEpochIterator); the
    reference for ``suite timing-check``."""
    from keras.src.backend.tensorflow.trainer import TFEpochIterator

    epoch = TFEpochIterator(
        x=x,
        y=y,
        batch_size=batch_size,
        shuffle=False,
        distribute_strategy=model.distribute_strategy,
    )
    model._maybe_symbolic_build(iterator=epoch)
    epoch.reset()
    model.make_train_function()
    times = []
    with epoch.catch_stop_iteration():
        for _, _, iterator in epoch:
            start = time.perf_counter()
            float(model.train_function(iterator)["loss"])
            times.append(time.perf_counter() - start)
    return times


def enable_float64() -> None:
    pass  # TensorFlow computes in the dtype of the tensors it is given


def make_loss_and_grads(model):
    """(x, y) -> (loss, logits, [grad per trainable variable]) with ``tf.GradientTape``.
    Training mode, as ``fit()``
    runs it: BatchNormalization normalises with the batch's statistics and updates its
    moving ones; dropout layers drop at their rate (the gradient check sets it to 0)."""
    import keras

    def loss_and_grads(x, y):
        with tf.GradientTape() as tape:
            logits = model(tf.convert_to_tensor(x), training=True)
            # the loss in floatx, as Keras' Loss computes it under a mixed policy
            logits = keras.ops.cast(logits, keras.config.floatx())
            per_example = keras.losses.sparse_categorical_crossentropy(
                tf.convert_to_tensor(y), logits, from_logits=True
            )
            loss = tf.reduce_mean(per_example)
        return loss, logits, tape.gradient(loss, model.trainable_variables)

    return loss_and_grads


def make_train_step(model, x, y):
    """A callable running Keras' train function once on (x, y) from a tf.data
    iterator (as fit feeds it) and reading the loss, which waits for the step."""
    model.make_train_function()
    iterator = iter(tf.data.Dataset.from_tensors((x, y)).repeat())

    def step():
        return float(model.train_function(iterator)["loss"])

    return step


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """The machine's float32 matmul rate through TensorFlow: best of ``repeats`` n x n
    products (the sum of each result is read back, which waits for it)."""
    from suite.frameworks.shared import best_seconds

    a, b = tf.random.uniform((n, n)), tf.random.uniform((n, n))
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))

    def run():
        product(a, b).numpy()

    run()  # trace and warm up
    return 2 * n**3 / best_seconds(run, repeats) / 1e9


def compilation_cache(path: str) -> str:
    """None to fill: TensorFlow traces every tf.function again in each process (its graphs
    are not cached across processes; XLA, off by default on a CPU, has no persistent
    cache through Keras), so a warm start is a cold one."""
    return "none (tf.function traces in every process)"


def out_of_memory(message: str) -> Exception:
    """TensorFlow's own out-of-memory error (ResourceExhaustedError, an OOM status)."""
    return tf.errors.ResourceExhaustedError(None, None, message)


def is_out_of_memory(error: BaseException) -> bool:
    """Did this error say the memory ran out (ResourceExhaustedError, or a host
    allocation that failed)?"""
    return isinstance(error, (tf.errors.ResourceExhaustedError, MemoryError))
