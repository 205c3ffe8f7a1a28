"""Inference timing: a real cell records it, its spans end with the result on the host
(the must-fail case: a timer that does not wait for an asynchronously dispatched call
is caught), and a dtype policy reaches the layers on every backend."""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from suite.core.results import load_result, write_result
from suite.training.build import build_compiled_model
from suite.training.cell import run_cell
from suite.training.inference import NotOnHost, drain_problem, on_host, timed
from suite.training.probes import prepare


def test_a_cell_times_inference_in_rounds_of_its_own(small_config, backend, mnist, tmp_path):
    cfg = small_config(inference_rounds=3, inference_calls=20, inference_batch=128)
    result, _ = run_cell(cfg, mnist, "t", prepare(cfg))
    assert result.status == "ok", result.error
    assert len(result.inference) == 3
    assert all(r.examples == 500 and r.seconds > 0 for r in result.inference)
    assert all(len(r.single_ms) == 20 and min(r.single_ms) > 0 for r in result.inference)
    seconds = sum(r.seconds for r in result.inference)
    assert result.predict_examples_per_s == pytest.approx(1500 / seconds)
    single = np.concatenate([r.single_ms for r in result.inference])
    assert result.single_median_ms == pytest.approx(np.median(single))
    assert result.single_median_ms <= result.single_p99_ms <= single.max()
    assert result.predict_first_s > 0 and result.single_first_ms > 0
    assert load_result(write_result(tmp_path / "r.json", result)) == result


def test_no_inference_rounds_no_inference(small_config, backend, mnist):
    cfg = small_config(inference_rounds=0)
    result, _ = run_cell(cfg, mnist, "t", prepare(cfg))
    assert result.status == "ok" and result.inference == []
    assert result.predict_examples_per_s is None


class Pending:
    """A result still being computed, as an asynchronously dispatched call returns it:
    converting it to numpy waits for it."""

    def __init__(self, future):
        self.future = future

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.future.result(), dtype)


def _work():
    import keras

    x = keras.ops.ones((256, 256))
    for _ in range(40):
        x = keras.ops.matmul(x, x) / 256.0
    return keras.ops.convert_to_numpy(x)


def _undrained(call, *args) -> float:
    """A timer that stops the clock when the call returns, not when its result is there."""
    start = time.perf_counter()
    call(*args)
    return time.perf_counter() - start


DELAY = 0.2  # seconds before a pending result is there: fixed, so that the load does not move it


def _delayed_work():
    time.sleep(DELAY)
    return _work()


def test_a_timer_that_does_not_wait_for_the_result_is_caught(backend):
    with ThreadPoolExecutor(1) as pool:

        def lazy():
            return Pending(pool.submit(_delayed_work))

        assert drain_problem(timed, lazy, DELAY) is None
        problem = drain_problem(_undrained, lazy, DELAY)  # the must-fail case
    assert problem is not None and "ended before the work did" in problem


class DeviceTensor:
    """Behaves as a torch tensor on a GPU does: numpy refuses it until ``.cpu()``."""

    def __init__(self, values):
        self.values = values

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert cuda:0 device type tensor to numpy")

    def detach(self):
        return self

    def cpu(self):
        return np.asarray(self.values)


def test_a_tensor_on_a_device_is_copied_to_the_host():
    assert on_host(DeviceTensor([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert on_host([DeviceTensor([3.0])])[0].tolist() == [3.0]


def test_framework_outputs_are_waited_for_and_non_arrays_refused(backend):
    import keras

    out = on_host(keras.ops.ones((3,)) * 2)  # a framework tensor: converted, waited for
    assert isinstance(out, np.ndarray) and out.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(NotOnHost):
        on_host(object())
    assert "refused" in drain_problem(timed, lambda: object(), 0.01)


@pytest.mark.parametrize(
    "policy, half", [("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")]
)
def test_dtype_policy_reaches_every_layer(small_config, backend, mnist, policy, half):
    import keras

    cfg = small_config(model="cnn", dtype_policy=policy)
    model = build_compiled_model(cfg)
    assert keras.config.dtype_policy().name == "float32"  # restored for the next cell
    weighted = [layer for layer in model.layers if layer.weights]
    assert weighted and all(layer.compute_dtype == half for layer in weighted)
    assert all(v.dtype == "float32" for v in model.weights)  # variables stay float32
    x = mnist.x_train[:4].reshape(4, 28, 28, 1).astype("float32") / 255
    assert str(model.predict_on_batch(x).dtype) == half  # the computation ran in it
    scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")  # Keras scales float16's loss itself
    plain = build_compiled_model(small_config(model="cnn"))
    assert all(layer.compute_dtype == "float32" for layer in plain.layers if layer.weights)


def test_a_cell_trains_and_records_its_policy(small_config, backend, mnist):
    cfg = small_config(dtype_policy="mixed_bfloat16", inference_rounds=1, inference_calls=5)
    result, _ = run_cell(cfg, mnist, "t", prepare(cfg))
    assert result.status == "ok", result.error
    assert result.config["dtype_policy"] == "mixed_bfloat16"
    assert 0.1 < result.final_test_accuracy <= 1.0
    flags = result.environment["cpu_vector_flags"]
    native = "avx512_bf16" in flags or "amx_bf16" in flags
    assert (result.environment["half_support"] is None) == native
