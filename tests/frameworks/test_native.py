"""The native implementations start where the Keras models start (same backend)."""

from dataclasses import replace

import numpy as np
import pytest

from suite.core.data import preprocess
from suite.training.build import build_compiled_model
from suite.training.cell import run_cell
from suite.training.probes import prepare
from suite.training.trainers import KerasTrainer, NativeTrainer


def _cross_entropy(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    return float(-(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))[np.arange(len(y)), y].mean())


@pytest.mark.parametrize("model", ["softmax", "mlp", "cnn"])
def test_first_step_loss_matches_keras(small_config, backend, mnist, model):
    x = preprocess(mnist.x_train[:64])
    y = mnist.y_train[:64].astype(np.int32)
    keras_trainer = KerasTrainer(small_config(model=model, impl="keras", train_examples=256))
    native_trainer = NativeTrainer(small_config(model=model, impl="native", train_examples=256))
    k_logits = np.asarray(keras_trainer.predict(x), np.float64)
    n_logits = np.asarray(native_trainer.predict(x), np.float64)
    assert np.abs(k_logits - n_logits).max() <= 1e-5 * np.abs(k_logits).max()
    k_loss = _cross_entropy(k_logits, y)
    assert _cross_entropy(n_logits, y) == pytest.approx(k_loss, rel=1e-6)
    if model != "cnn":  # no dropout: the training step's own loss is the same number
        step_loss = float(native_trainer.model.train_step(native_trainer.model.to_batch(x, y)))
        assert step_loss == pytest.approx(k_loss, rel=1e-5)


def test_native_run_writes_result(small_config, backend, mnist):
    cfg = small_config(impl="native", train_examples=640)
    result, _ = run_cell(cfg, mnist, "t", prepare(cfg))
    assert result.status == "ok", result.error
    assert result.config["impl"] == "native"
    assert result.cell.startswith(f"{backend}-{cfg.device}-mlp-native")
    assert sum(c.steps for c in result.chunks) + len(result.latency_steps_ms) + 2 == 10
    assert result.throughput_examples_per_s > 0 and result.final_test_accuracy > 0.2


def test_torch_layout_transposition():
    torch = pytest.importorskip("torch")
    from models import MODELS
    from suite.core.weights import make_initial_weights
    from suite.frameworks.torch.native import Net, load_keras_weights

    w = make_initial_weights(MODELS["cnn"].variable_shapes, 0)
    net = Net("cnn")
    load_keras_weights(net, w)
    conv = net.layers["conv2"].weight.detach().numpy()  # (cout, cin, kh, kw)
    assert conv.shape == (64, 32, 3, 3)
    assert conv[5, 7, 1, 2] == w["conv2/kernel"][1, 2, 7, 5]
    dense = net.layers["hidden"].weight.detach().numpy()  # (out, in)
    assert dense[3, 1000] == w["hidden/kernel"][1000, 3]
    assert torch.equal(net.layers["logits"].bias, torch.from_numpy(w["logits/bias"]))


def test_sweep_marks_failing_mode_and_keeps_going():
    from suite.core.results import RunResult
    from suite.measure.sweep import _row, summarise_sweep

    def res(status, median_s, acc, loss, impl="keras"):
        from suite.core.results import ChunkRecord, EpochRecord

        chunks = [ChunkRecord(1, 10, median_s * 10 * f, 0.0, 1, None, loss) for f in (0.99, 1.01)]

        hist = [EpochRecord(1, loss, 0.1, acc, 1.0, 10)] if status == "ok" else []
        return RunResult(
            run_id="r",
            cell="c",
            status=status,
            config={"impl": impl},
            model={},
            environment={},
            ms_per_step=median_s * 1e3 if status == "ok" else None,
            chunks=chunks if status == "ok" else [],
            history=hist,
            final_test_accuracy=acc if status == "ok" else None,
            error="ValueError: steps_per_execution must be 1" if status != "ok" else None,
        )

    base = res("ok", 0.010, 0.95, 0.5)
    results = [
        ({}, base),
        ({"jit": "on"}, res("ok", 0.005, 0.80, 0.5)),  # fast but degraded
        ({"steps_per_execution": 8}, res("failed", 0, 0, 0)),
        ({"jit": "off"}, res("ok", 0.008, 0.95, 0.51)),
        ({"impl": "native"}, res("ok", 0.004, 0.95, 0.5, impl="native")),
    ]
    rows = [_row(m, r, base) for m, r in results]
    assert [r["trains_correctly"] for r in rows] == [True, False, False, True, True]
    assert rows[2]["status"] == "failed" and "steps_per_execution" in rows[2]["error"]
    rates = {
        r["mode"]: dict(enumerate(c.steps / c.seconds for c in res_[1].chunks))
        for r, res_ in zip(rows, results, strict=True)
    }
    summary = summarise_sweep(rows, rates)
    assert summary["best_keras"] == "jit=off" and summary["best_native"] == "impl=native"
    assert summary["overhead"]["ratio"] == pytest.approx(2.0)
    assert summary["margin"]["runner_up"] == "default"
    assert summary["margin"]["ratio"] == pytest.approx(1.25)


def test_sweep_margin_is_paired_by_round_and_says_when_it_cannot_tell():
    from suite.measure.sweep import summarise_sweep

    def row(mode, ms, impl="keras"):
        return {"mode": mode, "impl": impl, "trains_correctly": True, "ms_per_step": ms}

    rows = [row("default", 1.10), row("jit=on", 1.00), row("impl=native", 1.02, "native")]
    # a drift common to all modes (round 3 twice as slow) cancels in the paired ratio
    drift = [1.0, 1.0, 1.0, 0.5, 1.0, 1.0]
    noise = [1.00, 1.01, 0.99, 1.00, 1.01, 0.99]
    pairs = list(zip(drift, noise, strict=True))
    rates = {
        "jit=on": {i: 1000 * d for i, d in enumerate(drift)},
        "default": {i: 1000 / 1.10 * d * n for i, (d, n) in enumerate(pairs)},
        "impl=native": {i: 1000 / 1.02 * d / n for i, (d, n) in enumerate(pairs)},
    }
    s = summarise_sweep(rows, rates)
    assert s["best_keras"] == "jit=on" and s["margin"]["runner_up"] == "default"
    assert s["margin"]["ratio"] == pytest.approx(1.10, rel=1e-3)
    assert s["margin"]["ci"][0] > 1.05 and s["margin"]["verdict"] == "slower"
    assert "paired" in s["margin"]["ci_kind"]
    # Keras 2% faster than native, within 1% noise: a 5% threshold cannot call it
    assert s["overhead"]["verdict"] == "indistinguishable"
    # must reject: unpaired (no shared rounds), the drift makes the same margin unclear
    shifted = {**rates, "default": {i + 100: v for i, v in rates["default"].items()}}
    assert summarise_sweep(rows, shifted)["margin"]["verdict"] == "indistinguishable"


@pytest.mark.parametrize("model", ["softmax", "mlp"])
def test_native_adam_steps_track_keras(small_config, backend, mnist, model):
    """Same weights, same batch, four Adam steps (constant lr): the losses agree."""
    from suite import frameworks

    cfg = small_config(model=model, train_examples=256, schedule="constant")
    x = preprocess(mnist.x_train[:64])
    y = mnist.y_train[:64].astype(np.int32)
    keras_step = frameworks.current().make_train_step(build_compiled_model(cfg), x, y)
    keras_losses = [keras_step() for _ in range(4)]  # Keras logs the running mean
    native = NativeTrainer(replace(cfg, impl="native")).model
    batch = native.to_batch(x, y)
    losses = [float(native.train_step(batch)) for _ in range(4)]
    running = np.cumsum(losses) / np.arange(1, 5)
    assert losses[3] < losses[0]  # it trains
    np.testing.assert_allclose(running, keras_losses, rtol=2e-4)


def test_native_multi_step_call_equals_single_steps(small_config, backend, mnist):
    """k steps in one compiled call (steps_per_execution) train exactly as k calls."""
    if backend == "torch":
        pytest.skip("torch's native loop is eager: one step per call")
    cfg = small_config(batch_size=32, train_examples=256)
    x = preprocess(mnist.x_train[:128])
    y = mnist.y_train[:128].astype(np.int32)
    one = NativeTrainer(replace(cfg, impl="native")).model
    many = NativeTrainer(replace(cfg, impl="native", steps_per_execution=4)).model
    losses = [
        float(one.train_step(one.to_batch(x[i : i + 32], y[i : i + 32]))) for i in range(0, 128, 32)
    ]
    last = float(many.train_step(many.to_batch(x, y)))
    assert last == pytest.approx(losses[-1], rel=1e-5)
    np.testing.assert_allclose(many.predict(x[:64]), one.predict(x[:64]), rtol=1e-4, atol=1e-5)
