"""Check results of several folders made one report: each model's rows once, from the
result that has them, and only results made with the same settings."""

from suite.report.merge import merge_grads, merge_portability


def grads(models, seed=0, steps=100, dtypes=("float32", "float64")):
    pair = [{"model": m, "a": "jax", "b": "torch", "dtype": "float32"} for m in models]
    return {
        "settings": {"models": list(models), "dtypes": list(dtypes), "steps": steps,
                     "batch_size": 256, "seed": seed},
        "pairs": pair,
        "reference": [{"model": m, "backend": "jax"} for m in models],
        "trajectory": [{"model": m, "a": "jax", "b": "torch"} for m in models],
        "weights_identical": {"jax": True, "torch": True},
        "float64_precision": {"jax": {m: [1e-16, True] for m in models}},
    }  # fmt: skip


def test_grads_of_other_models_are_added_once():
    first = grads(["softmax", "mlp"], dtypes=("float32", "float64", "mixed_bfloat16"))
    second = grads(["mlp", "cnn"])
    second["weights_identical"]["torch"] = False
    m = merge_grads([first, second])
    assert m["settings"]["models"] == ["softmax", "mlp", "cnn"]
    assert [p["model"] for p in m["pairs"]] == ["softmax", "mlp", "cnn"]  # mlp once: first's
    assert [p["model"] for p in m["trajectory"]] == ["softmax", "mlp", "cnn"]
    assert set(m["float64_precision"]["jax"]) == {"softmax", "mlp", "cnn"}
    assert m["weights_identical"] == {"jax": True, "torch": False}
    assert m["settings"]["dtypes"] == ["float32", "float64", "mixed_bfloat16"]
    assert first["settings"]["models"] == ["softmax", "mlp"]  # the inputs are not changed


def test_grads_with_other_settings_are_left_out():
    assert merge_grads([grads(["softmax"]), grads(["cnn"], steps=10)])["settings"]["models"] == [
        "softmax"
    ]
    assert merge_grads([]) is None
    # the highest seed's result is the base, as the report took it alone before
    assert merge_grads([grads(["cnn"]), grads(["softmax"], seed=1)])["settings"]["seed"] == 1


def portability(models, created, n=6000):
    return {
        "created": created, "models": list(models), "train_examples": n, "logit_rtol": 1e-5,
        "transfers": [{"model": m, "source": "jax", "target": "torch"} for m in models],
    }  # fmt: skip


def test_portability_of_other_models_is_added_and_other_settings_left_out():
    old = portability(["softmax", "mlp"], "2026-12-05T11")
    new = portability(["cnn"], "2026-12-05T13")
    m = merge_portability([new, old])
    assert m["models"] == ["softmax", "mlp", "cnn"]  # in the order they were checked
    assert [t["model"] for t in m["transfers"]] == ["softmax", "mlp", "cnn"]
    other = portability(["vit"], "2026-12-05T10", n=600)
    assert merge_portability([new, other])["models"] == ["cnn"]
    assert merge_portability([]) is None
