"""The active backend's autodiff against the numpy references, in this process."""

import keras
import numpy as np

from suite import frameworks
from suite.checks.grads.diffs import compare_gradients, verdict
from suite.checks.grads.references import mlp_reference, softmax_reference
from suite.core.data import preprocess
from suite.core.weights import initial_weights_for, load_weights
from suite.training.weights import model_weights


def _backend_grads(name, mnist, n=64):
    from models import get_model

    model = get_model(name).build()
    weights = initial_weights_for(model, 5)
    load_weights(model, weights)
    x, y = preprocess(mnist.x_train[:n]), mnist.y_train[:n].astype(np.int32)
    loss, logits, grads = frameworks.current().make_loss_and_grads(model)(x, y)
    got = {
        v.path: keras.ops.convert_to_numpy(g)
        for v, g in zip(model.trainable_variables, grads, strict=True)
    }
    return model, weights, x, y, float(keras.ops.convert_to_numpy(loss)), got


def test_softmax_gradients_match_closed_form(backend, mnist):
    _, w, x, y, loss, got = _backend_grads("softmax", mnist)
    ref_loss, _, ref = softmax_reference(x, y, w["logits/kernel"], w["logits/bias"])
    per_var, overall, problems = compare_gradients(got, ref)
    assert verdict([*per_var.values(), overall], problems, "float32")
    assert abs(loss - ref_loss) < 1e-5


def test_mlp_gradients_match_backprop(backend, mnist):
    model, w, x, y, loss, got = _backend_grads("mlp", mnist)
    ref_loss, _, ref, kinks = mlp_reference(x, y, w)
    assert not kinks  # seed 5 on 64 images has no ReLU tie: a plain comparison applies
    per_var, overall, problems = compare_gradients(got, ref)
    assert verdict([*per_var.values(), overall], problems, "float32"), overall
    assert abs(loss - ref_loss) < 1e-5
    assert all(np.array_equal(model_weights(model)[k], w[k]) for k in w)
