"""pytest-benchmark: one training step and one inference step per model and impl.

Run per backend through tox (``tox -e jax-cpu-bench``); skipped in the normal test
run. Every timed call ends with the backend synchronised (the step's loss or
logits read on the host), warm-up rounds run first (compilation included there),
and pedantic mode fixes rounds and iterations so runs compare.
"""

import numpy as np
import pytest

from models import MODELS
from suite import frameworks
from suite.core.config import RunConfig, validate
from suite.core.data import preprocess
from suite.training.build import build_compiled_model
from suite.training.trainers import NativeTrainer

ROUNDS = {"softmax": 200, "mlp": 200, "cnn": 20}
WARMUP = 5


def _cfg(backend, model, impl, batch):
    return validate(
        RunConfig(
            backend=backend, model=model, impl=impl, batch_size=batch, epochs=1, schedule="constant"
        )
    )


@pytest.mark.parametrize("impl", ["keras", "native"])
@pytest.mark.parametrize("model", list(MODELS))
def test_train_step(benchmark, backend, mnist, model, impl):
    cfg = _cfg(backend, model, impl, 128)
    x, y = preprocess(mnist.x_train[:128]), mnist.y_train[:128].astype(np.int32)
    if impl == "keras":
        step = frameworks.current().make_train_step(build_compiled_model(cfg), x, y)
    else:
        native = NativeTrainer(cfg).model
        batch = native.to_batch(x, y)

        def step():
            return float(native.train_step(batch))  # reading the loss waits for the step

    losses = []

    def timed():
        losses.append(step())

    benchmark.extra_info.update(backend=backend, model=model, impl=impl, batch=128)
    benchmark.pedantic(timed, rounds=ROUNDS[model], iterations=1, warmup_rounds=WARMUP)
    # every round timed, and each one really trained: the same batch, stepped again and
    # again, has a finite loss that falls (a step that does no work would not lower it)
    assert benchmark.stats.stats.rounds == ROUNDS[model] == len(losses) - WARMUP
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0], losses[:: len(losses) // 5]


@pytest.mark.parametrize("batch", [1, 128])
@pytest.mark.parametrize("impl", ["keras", "native"])
@pytest.mark.parametrize("model", list(MODELS))
def test_inference(benchmark, backend, mnist, model, impl, batch):
    cfg = _cfg(backend, model, impl, 128)
    x = preprocess(mnist.x_test[:batch])
    if impl == "keras":
        import keras

        model_ = build_compiled_model(cfg)

        def infer():  # model(x) runs eagerly; predict_on_batch uses the compiled function
            return keras.ops.convert_to_numpy(model_.predict_on_batch(x))
    else:
        native = NativeTrainer(cfg).model

        def infer():
            return native.predict(x)

    benchmark.extra_info.update(backend=backend, model=model, impl=impl, batch=batch)
    result = benchmark.pedantic(infer, rounds=ROUNDS[model] * 2, iterations=1, warmup_rounds=WARMUP)
    assert np.asarray(result).shape == (batch, 10)
