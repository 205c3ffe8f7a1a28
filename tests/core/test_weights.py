import numpy as np
import pytest

from suite.core.errors import SuiteError
from suite.core.weights import (
    glorot_limit,
    make_initial_weights,
    read_weights_npz,
    save_weights_npz,
)


def test_glorot_limits_hand_worked():
    assert glorot_limit((784, 10)) == pytest.approx(np.sqrt(6 / 794))
    # conv kernel 3x3, 1 -> 32 channels: fan_in 9, fan_out 288
    assert glorot_limit((3, 3, 1, 32)) == pytest.approx(np.sqrt(6 / 297))


def test_initial_weights_deterministic_and_in_range():
    shapes = {"d/kernel": (784, 10), "d/bias": (10,), "c/kernel": (3, 3, 1, 32)}
    a, b = make_initial_weights(shapes, 0), make_initial_weights(shapes, 0)
    assert all(np.array_equal(a[k], b[k]) and a[k].dtype == np.float32 for k in shapes)
    assert not np.array_equal(a["d/kernel"], make_initial_weights(shapes, 1)["d/kernel"])
    assert np.all(a["d/bias"] == 0)
    assert np.abs(a["c/kernel"]).max() <= glorot_limit((3, 3, 1, 32))


def test_weights_file_round_trip_and_corruption(tmp_path):
    w = make_initial_weights({"d/kernel": (4, 3), "d/bias": (3,)}, 0)
    save_weights_npz(tmp_path / "w.npz", w)
    back = read_weights_npz(tmp_path / "w.npz")
    assert set(back) == set(w) and np.array_equal(back["d/kernel"], w["d/kernel"])
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(SuiteError, match="bad.npz"):
        read_weights_npz(tmp_path / "bad.npz")


def test_torch_rule_bounds_kernel_and_bias_by_fan_in():
    shapes = {"d/kernel": (784, 100), "d/bias": (100,), "c/kernel": (3, 3, 1, 32), "c/bias": (32,)}
    w = make_initial_weights(shapes, 0, "torch")
    # nn.Linear / nn.Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
    for layer, fan_in in (("d", 784), ("c", 9)):
        for part in ("kernel", "bias"):
            a = w[f"{layer}/{part}"]
            assert np.abs(a).max() <= 1 / np.sqrt(fan_in)
            assert np.abs(a).max() > 0.9 / np.sqrt(fan_in)  # the whole range is used


def test_normal_rules():
    shapes = {"d/kernel": (784, 50), "d/bias": (50,)}
    d2l = make_initial_weights(shapes, 0, "normal:0.01")
    assert abs(d2l["d/kernel"].std() - 0.01) < 0.001 and np.all(d2l["d/bias"] == 0)
    fastai = make_initial_weights(shapes, 0, "normal:1+bias")
    assert abs(fastai["d/kernel"].std() - 1) < 0.05 and np.all(fastai["d/bias"] != 0)


def test_unknown_rule_is_refused():
    with pytest.raises(SuiteError, match="unknown initialisation"):
        make_initial_weights({"d/kernel": (2, 2)}, 0, "xavier")


def test_keras_default_rule_for_recurrent_attention_and_normalisation():
    shapes = {
        "lstm/cell/kernel": (28, 512),
        "lstm/cell/recurrent_kernel": (128, 512),
        "lstm/cell/bias": (512,),
        "gru/cell/recurrent_kernel": (16, 48),
        "gru/cell/bias": (48,),
        "att/query/kernel": (64, 4, 16),
        "bn/gamma": (8,),
        "bn/beta": (8,),
        "bn/moving_mean": (8,),
        "bn/moving_variance": (8,),
        "pos/embeddings": (16, 64),
    }
    w = make_initial_weights(shapes, 3)
    # orthogonal recurrent kernel: its rows are orthonormal (128 x 512, rows < cols)
    u = w["lstm/cell/recurrent_kernel"].astype(np.float64)
    assert np.allclose(u @ u.T, np.eye(128), atol=1e-5)
    # LSTM forget gate (the second quarter) starts at one, the other gates at zero
    bias = w["lstm/cell/bias"]
    assert np.all(bias[128:256] == 1) and np.all(bias[:128] == 0) and np.all(bias[256:] == 0)
    assert np.all(w["gru/cell/bias"] == 0)  # a GRU (3 gates) has no forget bias
    # attention kernels use Keras' einsum fans: 64 in, 4 heads x 16 out
    assert np.abs(w["att/query/kernel"]).max() <= np.sqrt(6 / (64 + 64))
    assert np.abs(w["att/query/kernel"]).max() > np.sqrt(6 / (256 + 1024))
    assert np.all(w["bn/gamma"] == 1) and np.all(w["bn/moving_variance"] == 1)
    assert np.all(w["bn/beta"] == 0) and np.all(w["bn/moving_mean"] == 0)
    e = w["pos/embeddings"]
    assert np.abs(e).max() <= 0.05 and e.std() > 0.02


def test_keras_default_rule_rejects_a_non_orthogonal_draw():
    """The orthogonality check above can fail: a plain glorot draw of the same shape
    is not orthonormal."""
    w = make_initial_weights({"x/kernel": (128, 512)}, 3)["x/kernel"].astype(np.float64)
    assert not np.allclose(w @ w.T, np.eye(128), atol=1e-5)
