"""The workloads where backends differ most (lstm, vit, resnet): their FLOPs against an
independent counter, their initial weights against Keras' own initialisers, and their
BatchNormalization statistics moving in training only."""

import keras
import numpy as np
import pytest

from models import MODELS, forward_flops
from suite.core.weights import initial_weights_for, load_weights

WORKLOADS = ("lstm", "vit", "resnet")


def _sdpa_mapping():
    """torch's FlopCounterMode has no formula for the fused CPU attention kernel that
    Keras' torch backend calls (``_scaled_dot_product_flash_attention_for_cpu``): give
    it torch's own formulas. Its backward formula counts the flash kernel's
    recomputation of the scores; the counting rule counts the math, not the kernel, so
    that one product is taken off."""
    import torch
    from torch.utils import flop_counter as fc

    aten = torch.ops.aten

    def forward(q, k, v, *args, out_shape=None, **kwargs):
        return fc.sdpa_flop_count(q, k, v)

    def backward(grad_out, q, k, v, *args, out_shape=None, **kwargs):
        b, h, s_q, d = q
        recompute = fc.bmm_flop((b * h, s_q, d), (b * h, d, k[2]))
        return fc.sdpa_backward_flop_count(grad_out, q, k, v) - recompute

    return {
        aten._scaled_dot_product_flash_attention_for_cpu: forward,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: backward,
    }


@pytest.mark.parametrize("name", WORKLOADS)
def test_flops_match_torch_flop_counter_on_the_keras_model(name, backend):
    """Independent count: torch's FlopCounterMode over one forward and one backward of
    the Keras model itself under the torch backend (recurrent steps and attention as
    Keras' torch backend runs them). Tolerance: exact."""
    if backend != "torch":
        pytest.skip("counts the torch backend's own ops")
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    spec, batch = MODELS[name], 4
    model = spec.build()
    x, y = torch.rand(batch, 28, 28, 1), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False, custom_mapping=_sdpa_mapping()) as counter:
        model(x, training=False)
    assert counter.get_total_flops() / batch == spec.flops_per_example
    with FlopCounterMode(display=False, custom_mapping=_sdpa_mapping()) as counter:
        torch.nn.functional.cross_entropy(model(x, training=True), y).backward()
    assert counter.get_total_flops() / batch == spec.train_flops_per_example
    # must-fail: a plain "3x the forward" would be rejected
    assert counter.get_total_flops() / batch != 3 * spec.flops_per_example


def test_attention_counted_only_with_the_fused_kernel_mapped(backend):
    """Without the mapping the counter misses the attention products entirely: the reason
    the mapping exists (and the check that it is what closes the gap)."""
    if backend != "torch":
        pytest.skip("counts the torch backend's own ops")
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = MODELS["vit"].build()
    with FlopCounterMode(display=False) as counter:
        model(torch.rand(1, 28, 28, 1), training=False)
    scores_and_sum = 2 * 2 * 16 * 16 * 64  # two blocks
    assert counter.get_total_flops() == MODELS["vit"].flops_per_example - 2 * scores_and_sum


@pytest.mark.parametrize("name", WORKLOADS)
def test_shared_weights_follow_keras_defaults(name, backend):
    """The numpy rule gives what Keras' own initialisers give, variable by variable:
    equal where Keras' default is a constant, the same bounds and spread where it is
    random, orthonormal recurrent kernels."""
    model = MODELS[name].build()
    keras_init = {v.path: keras.ops.convert_to_numpy(v.value) for v in model.weights}
    ours = initial_weights_for(model, seed=0)
    assert set(ours) == set(keras_init)
    for path, want in keras_init.items():
        got = ours[path]
        if np.all(want == want.flat[0]) or "bias" in path:
            np.testing.assert_array_equal(got, want, err_msg=path)
        else:
            bound = np.abs(want).max()
            assert np.abs(got).max() <= bound * 1.5 + 1e-6, path
            assert got.std() == pytest.approx(want.std(), rel=0.25), path


def test_resnet_batchnorm_statistics_move_in_training_only(backend):
    model = MODELS["resnet"].build()
    load_weights(model, initial_weights_for(model, 0))
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    mean = model.get_layer("stem_bn").moving_mean
    before = keras.ops.convert_to_numpy(mean).copy()
    model(x, training=False)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(mean), before)
    model(x, training=True)
    assert not np.array_equal(keras.ops.convert_to_numpy(mean), before)


def test_counter_reports_not_counted_for_an_unknown_layer_with_weights(backend):
    class Scale(keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=shape[1:], initializer="ones")

        def call(self, x):
            return x * self.w

    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(2)(Scale()(inputs)))
    assert forward_flops(model) is None
    plain = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert forward_flops(plain) == 2 * 8 * 2
