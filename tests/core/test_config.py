from dataclasses import asdict

import pytest

from suite.core.config import RunConfig, validate, variant_text
from suite.core.errors import SuiteError


def variant(cfg) -> str:
    """The settings a cell is compared and pooled by (``variant_text``)."""
    return variant_text(asdict(cfg))


def cfg(**kw):
    return RunConfig(**{"backend": "jax", "model": "mlp", **kw})


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"model": "densenet"}, "unknown model"),
        ({"model": "lstm", "impl": "native"}, "model lstm has no native implementation"),
        ({"model": "vit", "data_format": "channels_first"}, "vit is built channels_last only"),
        ({"epochs": 0}, "--epochs must be positive"),
        ({"batch_size": -5}, "--batch-size must be positive"),
        ({"learning_rate": 0.0}, "--lr must be positive"),
        ({"device": "tpu"}, "--device 'tpu'"),
        ({"jit": "maybe"}, "--jit"),
        ({"optimizer": "lbfgs"}, "unknown optimizer"),
        ({"train_examples": 100, "batch_size": 128}, "not one full batch"),
        ({"test_examples": 20000}, "MNIST has"),
        ({"chunk_steps": 10, "steps_per_execution": 4}, "--chunk-steps 10 is not a multiple"),
        (  # torch's native loop is eager (the CLI test of this needs torch installed)
            {"backend": "torch", "impl": "native", "steps_per_execution": 4},
            "--steps-per-execution 4 with --impl native",
        ),
        ({"dtype_policy": "float8"}, "--dtype-policy 'float8' is not one of"),
        (
            {"dtype_policy": "mixed_float16", "impl": "native"},
            "--dtype-policy mixed_float16 is not supported with --impl native",
        ),
        (
            {"backend": "torch", "dtype_policy": "mixed_bfloat16", "loop": "torch-ddp"},
            "--dtype-policy mixed_bfloat16 is not supported with torch's DDP loop",
        ),
        ({"inference_rounds": -1}, "--inference-rounds must not be negative"),
        ({"inference_batch": 0}, "--inference-batch must be positive"),
        ({"repeat": -1}, "--repeat must not be negative"),
    ],
)
def test_impossible_settings_are_refused(kw, message):
    with pytest.raises(SuiteError, match=message):
        validate(cfg(**kw), check_install=False)


def test_unknown_backend():
    with pytest.raises(SuiteError, match="unknown backend 'mxnet'"):
        validate(cfg(backend="mxnet"))


def test_resolved_fills_recipe_and_threads():
    r = validate(cfg(), check_install=False)
    assert (r.epochs, r.batch_size, r.learning_rate, r.optimizer) == (12, 64, 1e-3, "adam")
    assert r.schedule == "cosine"
    assert r.threads >= 1


def test_cell_name_changes_with_settings():
    a, b = cfg(), cfg(batch_size=256)
    assert a.cell_name() != b.cell_name()
    assert a.cell_name() == cfg(batch_size=64).cell_name()  # the recipe's value, spelled out
    assert a.cell_name().startswith("jax-cpu-mlp-keras-seed0-")


def test_workloads_accepted_with_their_own_settings():
    """The refusals above are specific: the same models with settings they do support,
    and the native/channels_first settings with models that have them, pass."""
    validate(cfg(model="lstm"), check_install=False)
    validate(cfg(model="resnet", data_format="channels_last"), check_install=False)
    validate(cfg(model="cnn", impl="native", data_format="channels_first"), check_install=False)


def test_torch_data_parallel_refuses_a_dataset():
    with pytest.raises(SuiteError, match="--devices 2 on torch with --data synthetic:784:10"):
        validate(
            cfg(backend="torch", devices=2, batch_size=64, dataset="synthetic:784:10"),
            check_install=False,
        )
    validate(
        cfg(backend="jax", devices=2, batch_size=64, dataset="synthetic:784:10"),
        check_install=False,
    )


def test_dtype_policy_and_inference_settings_in_variant_and_key():
    base = cfg()
    mixed = cfg(dtype_policy="mixed_bfloat16")
    assert "dtype_policy" not in variant(base)  # older results keep their variant
    assert "dtype_policy=mixed_bfloat16" in variant(mixed)
    assert base.cell_name() != mixed.cell_name()
    # inference settings decide no training number: same variant, pooled in the report
    assert variant(cfg(inference_rounds=0)) == variant(base)


def test_a_repetition_is_a_cell_of_its_own_in_the_same_variant():
    base, again = cfg(), cfg(repeat=2)
    assert variant(again) == variant(base)  # pooled in the report, as seeds are
    assert base.cell_name() != again.cell_name() and "-r2-" in again.cell_name()
    assert "-r0-" not in base.cell_name()  # older cells keep their names


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"hosts": 0}, "--hosts 0: give at least 1 host"),
        ({"hosts": 2, "device": "gpu"}, "--hosts 2: hosts over loopback run on the CPU only"),
        ({"hosts": 2, "dtype_policy": "mixed_bfloat16"}, "--hosts 2 with --dtype-policy"),
        (
            {"hosts": 2, "backend": "tensorflow", "steps_per_execution": 2},
            "--hosts 2 on tensorflow with --steps-per-execution 2",
        ),
        ({"hosts": 2, "backend": "tensorflow", "jit": "on"}, "--hosts 2 on tensorflow: Keras"),
        ({"hosts": 2, "backend": "torch", "optimizer": "rmsprop"}, "--hosts 2 on torch maps"),
        ({"hosts": 2, "batch_size": 63}, "--hosts 2 --devices 1: the global batch 63 must split"),
        ({"hosts": 2, "impl": "native"}, "--hosts 2 --devices 1 trains Keras models"),
        ({"hosts": 99}, "--hosts 99 --devices 1: this machine has"),
    ],
)
def test_impossible_host_settings_are_refused(kw, message):
    with pytest.raises(SuiteError, match=message):
        validate(cfg(**kw), check_install=False)


def test_hosts_name_the_cell_count_as_replicas_and_leave_older_names_alone():
    one, two = cfg(), cfg(hosts=2)
    assert two.replicas() == 2 and cfg(hosts=2, devices=2).replicas() == 4
    assert "-h2-" in two.cell_name() and "-h" not in one.cell_name().split("-seed")[0]
    assert one.key() == cfg(hosts=1).key() and one.key() != two.key()
    assert "hosts=2" in variant(validate(two, check_install=False))
    assert "hosts" not in variant(validate(one, check_install=False))
    r = validate(cfg(backend="torch", hosts=2), check_install=False)
    assert r.loop == "torch-ddp"  # torch's hosts train in its DDP loop
