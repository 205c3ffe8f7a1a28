import keras
import numpy as np
import pytest

from models import MODELS, forward_flops, get_model


def test_flops_hand_worked():
    # softmax: 784*10 multiply-adds; mlp: 784*100 + 100*100 + 100*10;
    # cnn: conv1 26*26 positions * 32 filters * 9 taps, conv2 11*11 * 64 * (9*32),
    # dense 1600*128 and 128*10. Two FLOPs per multiply-add.
    assert MODELS["softmax"].flops_per_example == 15_680
    assert MODELS["mlp"].flops_per_example == 178_800
    assert MODELS["cnn"].flops_per_example == 2 * (194_688 + 2_230_272 + 204_800 + 1_280)
    # lstm: 28 steps of (28 + 128) x 512; vit: patches 16*49*64, per block 4 projections
    # 16*64*64, scores and sum 2*16*16*64, MLP 2*16*64*128; resnet: 3x3 convs at 14x14
    # (1->32, 32->32 twice) and 7x7 (32->64, 64->64), a 1x1 7x7 shortcut 32->64
    assert MODELS["lstm"].flops_per_example == 2 * (28 * 156 * 512 + 1_280)
    assert MODELS["vit"].flops_per_example == 2 * (50_176 + 2 * 557_056 + 640)
    resnet = 14 * 14 * 32 * 9 * (1 + 32 + 32) + 7 * 7 * 64 * (9 * 32 + 9 * 64 + 32) + 640
    assert MODELS["resnet"].flops_per_example == 2 * resnet
    trains = {m: MODELS[m].train_flops_per_example for m in MODELS}
    assert trains == {
        "softmax": 31_360,
        "mlp": 379_600,
        "cnn": 15_396_864,
        "lstm": 12_492_288,
        "vit": 6_889_216,
        "resnet": 38_764_800,
    }


@pytest.mark.parametrize("name", ["softmax", "mlp", "cnn"])
def test_training_flops_match_torch_flop_counter(name):
    """An independent count: torch's FlopCounterMode over one forward + backward of the
    same network written in torch (suite.frameworks.torch.native), per example. Tolerance: exact
    (both count 2 FLOPs per multiply-add in matmuls and convolutions, nothing else)."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from suite.frameworks.torch.native import Net

    net, batch = Net(name), 4
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(net(x), y).backward()
    assert counter.get_total_flops() / batch == MODELS[name].train_flops_per_example
    # a count that charged the first layer an input gradient would be rejected
    assert counter.get_total_flops() / batch != 3 * MODELS[name].flops_per_example


def test_unknown_model_names_choices():
    with pytest.raises(KeyError, match="softmax, mlp, cnn, lstm, vit, resnet"):
        get_model("transformer")


@pytest.mark.parametrize("name", list(MODELS))
def test_model_builds_with_registry_size(name, backend):
    spec = MODELS[name]
    model = spec.build()
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    logits = keras.ops.convert_to_numpy(model(x, training=False))
    assert logits.shape == (4, 10)
    assert model.count_params() == spec.params
    assert forward_flops(model) == spec.flops_per_example
    assert {v.path: tuple(v.shape) for v in model.weights} == spec.variable_shapes


def test_cnn_channels_first_same_size(backend):
    model = MODELS["cnn"].build(data_format="channels_first")
    assert model.input_shape == (None, 1, 28, 28)
    assert model.count_params() == MODELS["cnn"].params
    assert forward_flops(model) == MODELS["cnn"].flops_per_example


def test_recipes_are_complete():
    for spec in MODELS.values():
        r = spec.recipe
        assert r.learning_rate > 0 and r.batch_size > 0 and r.epochs > 0
        assert 0.9 <= spec.target_accuracy < 1
