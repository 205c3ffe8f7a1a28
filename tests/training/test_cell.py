"""Short real runs on a slice of MNIST under the backend tox selected."""

import numpy as np
import pytest

import suite.training.trainers as trainers
from suite.core.results import load_result, write_result
from suite.training.build import build_compiled_model, evaluate
from suite.training.cell import run_cell
from suite.training.probes import peak_rss, prepare


def test_short_run_writes_a_valid_result(small_config, backend, mnist, tmp_path):
    cfg = small_config()
    result, model = run_cell(cfg, mnist, "t", prepare(cfg))
    assert result.status == "ok", result.error
    # 8 steps: 2 warm-up, 3 timed one by one (latency), 3 in throughput chunks
    assert len(result.warmup_ms) == 2 and len(result.latency_steps_ms) == 3
    assert sum(c.steps for c in result.chunks) == 3 and result.latency_ms.n == 3
    assert result.throughput_examples_per_s > 0
    assert result.ms_per_step == pytest.approx(64e3 / result.throughput_examples_per_s)
    assert all(c.round is None and c.seconds > 0 and c.threads >= 1 for c in result.chunks)
    assert 0.1 < result.final_test_accuracy <= 1.0
    assert result.history[0].steps == 8
    assert result.environment["backend"] == backend
    assert result.environment["settings"]["intra_op_threads"] >= 1
    loaded = load_result(write_result(tmp_path / f"{result.cell}.json", result))
    assert loaded == result  # read back typed and equal, chunks and history included


def test_steps_per_execution_times_whole_executions(small_config, backend, mnist):
    if backend == "torch":
        pytest.skip("Keras' torch trainer runs one step per call")
    # 1280 examples at batch 64 = 20 steps, 4 per execution: warm-up 1 call (4 steps),
    # latency 2 calls (8 steps), then 8 steps in chunks of whole executions
    cfg = small_config(train_examples=1280, steps_per_execution=4, latency_steps=5)
    result, model = run_cell(cfg, mnist, "t", prepare(cfg))
    assert result.status == "ok", result.error
    assert len(result.warmup_ms) == 1 and len(result.latency_steps_ms) == 2  # calls, not steps
    assert all(c.steps % 4 == 0 for c in result.chunks)
    assert sum(c.steps for c in result.chunks) == 8
    assert int(model.optimizer.iterations.value) == 20  # every step trained once
    # 22 steps: the last 2 (half an execution) are trained outside the clock
    cfg = small_config(train_examples=1408, steps_per_execution=4, latency_steps=5)
    result, model = run_cell(cfg, mnist, "t", prepare(cfg))
    assert sum(c.steps for c in result.chunks) == 8 and result.history[0].steps == 22
    assert int(model.optimizer.iterations.value) == 22


def test_huge_learning_rate_diverges(small_config, backend, mnist):
    cfg = small_config(model="mlp", optimizer="sgd", learning_rate=1e30)
    result, _ = run_cell(cfg, mnist, "t", prepare(cfg))
    assert result.status == "diverged"
    assert result.diverged_step is not None and result.diverged_step <= 8
    assert result.history[-1].train_loss is None


def test_shared_initial_weights_are_loaded(small_config, backend):
    from suite.core.weights import initial_weights_for
    from suite.training.weights import model_weights

    model = build_compiled_model(small_config(model="cnn"))
    expected = initial_weights_for(model, 0)
    got = model_weights(model)
    assert set(got) == set(expected)
    for path, value in expected.items():
        assert np.array_equal(got[path], value), path


def test_evaluate_matches_numpy(small_config, backend, mnist):
    from suite.core.data import preprocess

    model = build_compiled_model(small_config(model="softmax"))
    x, y = preprocess(mnist.x_test[:300]), mnist.y_test[:300].astype(np.int64)
    loss, acc, predicted = evaluate(lambda b: model.predict(b, verbose=0), x, y)
    # fresh weights: near-uniform predictions, loss close to log(10)
    assert loss == pytest.approx(np.log(10), abs=0.6)
    assert acc == pytest.approx(np.mean(predicted == y))


def test_timing_check_compares_both_ways(small_config, backend, mnist):
    from suite.measure.timing_check import check_timing

    # 9 steps in chunks of 4: the ninth is left out on both sides, not on one; two
    # passes over them per block (a real check makes a block about 2 s of work)
    c = check_timing(small_config(model="softmax"), mnist, 9, 2, chunk_steps=4, passes=2)
    assert c.throughput_ratio.n == 2 and c.chunk_steps == 4 and c.steps_per_block == 8
    assert c.passes == 2
    assert c.throughput_ratio.low <= c.throughput_ratio.ratio <= c.throughput_ratio.high
    assert c.latency_suite.n == c.latency_bare.n == 2 * (8 - 2)
    assert c.latency_ratio > 0
    # the epoch-boundary arm: the plain fit() one call per epoch, in the same blocks
    assert c.boundary_ratio.n == c.suite_vs_epochwise.n == 2 and c.epochwise_examples_per_s > 0
    assert c.boundary_ratio.low <= c.boundary_ratio.ratio <= c.boundary_ratio.high
    # one pass per block: the plain fit() is one epoch, with no boundary to measure
    one = check_timing(small_config(model="softmax"), mnist, 9, 2, chunk_steps=4, passes=1)
    assert one.boundary_ratio is None and one.epochwise_examples_per_s is None


def test_timing_blocks_alternate_their_arms():
    """ABBA with two arms, ABCCBA with three; ``after`` follows every block."""
    from suite.measure.timing_check import _abba

    calls = []

    def arm(name, rate):
        return lambda: calls.append(name) or rate

    two = _abba(arm("s", 2.0), arm("p", 1.0), 2, lambda b: calls.append(f"after {b}"))
    assert calls == ["s", "p", "after 0", "p", "s", "after 1"]
    assert two == ([2.0, 2.0], [1.0, 1.0], [])
    calls.clear()
    three = _abba(arm("s", 2.0), arm("p", 1.0), 2, lambda b: None, arm("e", 3.0))
    assert calls == ["s", "p", "e", "e", "p", "s"]
    assert three == ([2.0, 2.0], [1.0, 1.0], [3.0, 3.0])


def test_a_timing_block_is_about_two_seconds_of_work():
    from suite.measure.timing_check import _passes

    assert _passes(0.1) == 20 and _passes(0.7) == 3 and _passes(5.0) == 1 and _passes(0) == 1


def test_peak_memory_is_per_cell(small_config, backend, mnist):
    """The high-water mark is reset per cell: a later, larger cell reads higher than a
    smaller one run before it in the same process, and both read below what this
    process had reached before (a parent-inherited or earlier peak would read equal)."""
    import numpy as np

    ballast = np.ones(600 * 2**20 // 8)  # 600 MB touched, then freed
    del ballast
    before = peak_rss()
    soft, _ = run_cell(small_config(model="softmax"), mnist, "t", prepare(small_config()))
    big_cfg = small_config(model="cnn", batch_size=256, train_examples=2048, test_examples=2000)
    big, _ = run_cell(big_cfg, mnist, "t", prepare(big_cfg))
    assert soft.status == big.status == "ok"
    assert soft.peak_rss_bytes < big.peak_rss_bytes < before


def test_exception_in_training_is_recorded_as_failed(small_config, backend, mnist, monkeypatch):
    def broken(cfg):
        raise RuntimeError("simulated out-of-memory")

    monkeypatch.setattr(trainers, "build_compiled_model", broken)
    cfg = small_config()
    result, model = run_cell(cfg, mnist, "t", prepare(cfg))
    assert result.status == "failed" and model is None
    assert "RuntimeError: simulated out-of-memory" in result.error


def test_other_backend_refused_once_keras_is_loaded(backend):
    from suite.core.errors import SuiteError
    from suite.core.platform import BACKENDS
    from suite.frameworks import select_backend

    other = next(b for b in BACKENDS if b != backend)
    with pytest.raises(SuiteError, match=f"already imported with backend '{backend}'"):
        select_backend(other)
