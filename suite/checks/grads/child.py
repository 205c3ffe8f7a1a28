"""One backend's side of the gradient-equivalence check, run in its own process.

``python -m suite.checks.grads.child BACKEND REQUEST.json OUT.npz``
(the request: ``suite.checks.requests.GradsRequest``)
loads the shared initial weights into each model, computes logits, loss and
gradients on the fixed batch (float32 and float64), runs the SGD and Adam
trajectories, and saves every array to one npz for the parent to compare.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from suite.checks.requests import GradsRequest, read_request
from suite.core.children import child_args
from suite.core.schemas import storage_dtype
from suite.frameworks import select_backend
from suite.training.build import as_input

TRAJECTORY_OPTIMIZERS = {"sgd": 0.01, "adam": 1e-3}


def _fresh_model(name: str, dtype: str, weights: dict):
    """The model with the shared weights loaded, and each of its variable paths' name in
    the shared file (``match_weights``: the same in every process)."""
    import keras

    from models import get_model
    from suite.core.weights import load_weights

    keras.config.set_floatx(storage_dtype(dtype))
    keras.config.set_dtype_policy(dtype)  # the global policy is cached at first use
    model = get_model(name).build()
    key = load_weights(model, weights, dtype=storage_dtype(dtype))
    for layer in model.layers:  # training mode (as fit() runs: BatchNorm on the batch's
        if isinstance(layer, keras.layers.Dropout):  # statistics), dropout off
            layer.rate = 0.0
    return model, key


def _numpy(tensors) -> list[np.ndarray]:
    import keras

    return [keras.ops.convert_to_numpy(t) for t in tensors]


def gradients(name: str, dtype: str, weights: dict, x: np.ndarray, y: np.ndarray) -> dict:
    """Logits, loss, gradients, and the weights as loaded (to check they are identical)."""
    from suite import frameworks
    from suite.training.weights import model_weights

    model, key = _fresh_model(name, dtype, weights)  # key: the shared file's names
    x = as_input(model, x).astype(storage_dtype(dtype))
    loaded = model_weights(model)
    # inference-mode logits first (BatchNorm on its moving statistics, as predict() runs):
    # what the compiled step's logits, from the compiled predict function, compare with
    inference = _numpy([model(x, training=False)])[0]
    loss, logits, grads = frameworks.current().make_loss_and_grads(model)(x, y)
    out = {"loss": np.asarray(_numpy([loss])[0]), "logits": _numpy([logits])[0]}
    out["inference_logits"] = inference
    for v, g in zip(model.trainable_variables, _numpy(grads), strict=True):
        out[f"grad/{key[v.path]}"] = g
    for path, value in loaded.items():
        out[f"loaded/{key[path]}"] = value
    if dtype != storage_dtype(dtype):  # half-type logits, saved as float32 (npz has no bfloat16)
        return {k: np.asarray(v).astype(np.float32) for k, v in out.items()}
    out["precision/all_arrays_in_dtype"] = np.asarray(
        all(a.dtype == np.dtype(dtype) for k, a in out.items() if not k.startswith("loaded/"))
    )
    out["precision/last_layer_rel_error"] = np.asarray(last_layer_error(model, x.astype(dtype)))
    out["precision/perturbation_response"] = np.asarray(perturbation_response(model, x, dtype))
    return out


PERTURBATION = 1e-10  # relative: far below float32's resolution, far above float64's


def perturbation_response(model, x: np.ndarray, dtype: str) -> float:
    """How linearly the logits answer tiny nudges of the input: the response to a nudge
    three times PERTURBATION over the response to PERTURBATION (same directions). About
    3 where every layer computes in float64 (the model is linear at that scale); 0, NaN
    or anything else where a layer rounds to float32 (the nudges vanish, or come out as
    float32-size jumps). Inference mode, so BatchNorm's moving statistics stay put."""
    import keras

    signs = np.random.default_rng(0).choice([-1.0, 1.0], size=x.shape)

    def logits(nudge):
        z = x.astype(np.float64) * (1 + nudge * signs)
        return keras.ops.convert_to_numpy(model(z.astype(dtype), training=False)).astype(np.float64)

    base = logits(0.0)
    small = np.abs(logits(PERTURBATION) - base).max()
    large = np.abs(logits(3 * PERTURBATION) - base).max()
    return float(large / small) if small > 0 else 0.0


def last_layer_error(model, x: np.ndarray) -> float:
    """Relative error of the model's own last Dense layer, in this very computation (the
    model and floatx as they are), against numpy in float64: about 1e-16 where Keras
    computes float64 in float64, about 1e-7 where it drops to float32 (Keras' torch
    matmul does) while still returning float64 arrays."""
    import keras

    last = model.layers[-1]  # the registry's "logits"; a brought model's last layer
    if not isinstance(last, keras.layers.Dense):
        return float("nan")  # nothing to check: its float64 is not judged (n/a)
    features = keras.Model(model.inputs, last.input)(x, training=False)
    got = keras.ops.convert_to_numpy(last(features)).astype(np.float64)
    f = keras.ops.convert_to_numpy(features).astype(np.float64)
    kernel, bias = (keras.ops.convert_to_numpy(v.value).astype(np.float64) for v in last.weights)
    want = f @ kernel + bias
    return float(np.abs(got - want).max() / np.abs(want).max())


def trajectory(name: str, optimizer: str, weights: dict, batches, record_at) -> dict:
    """K float32 steps from the shared weights on fixed batches, dropout off."""
    import keras

    from suite import frameworks
    from suite.training.weights import model_weights

    model, key = _fresh_model(name, "float32", weights)
    opt = keras.optimizers.get(
        {"class_name": optimizer, "config": {"learning_rate": TRAJECTORY_OPTIMIZERS[optimizer]}}
    )
    step = frameworks.current().make_loss_and_grads(model)
    losses, out = [], {}
    for k, (x, y) in enumerate(batches, 1):
        loss, _, grads = step(as_input(model, x), y)
        losses.append(float(keras.ops.convert_to_numpy(loss)))
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        if k in record_at:
            for path, value in model_weights(model).items():
                out[f"w{k}/{key[path]}"] = value
    out["losses"] = np.asarray(losses)
    return out


COMPILED_LR = 1.0  # large enough that W0 - W1 keeps the gradient's digits in float32


def compiled_step(name: str, weights: dict, x: np.ndarray, y: np.ndarray) -> dict:
    """One step of Keras' own compiled train function, the one ``fit()`` runs and the
    suite times (jit_compile "auto": XLA on JAX and TensorFlow), with SGD and dropout
    off. The gradient it applied is read back as (W0 - W1) / lr; logits from the
    compiled predict function, the loss from the step itself."""
    import keras

    from suite.training.weights import model_weights

    model, key = _fresh_model(name, "float32", weights)
    x = as_input(model, x)
    model.compile(
        optimizer=keras.optimizers.SGD(COMPILED_LR),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile="auto",
    )
    out = {"logits": np.asarray(model.predict_on_batch(x))}
    before = model_weights(model)
    out["loss"] = np.asarray(model.train_on_batch(x, y), np.float64)
    after = model_weights(model)
    for v in model.trainable_variables:
        w0, w1 = before[v.path].astype(np.float64), after[v.path].astype(np.float64)
        out[f"grad/{key[v.path]}"] = (w0 - w1) / COMPILED_LR
    return out


def bound_terms(name: str, batch: int, weights: dict) -> dict:
    """Each variable's (and the logits' and loss') rounding-bound terms, from the model's
    layers as built in float32 (``suite.checks.grads.reductions``), under the shared
    weights' names."""
    from models import get_model
    from suite.checks.grads.reductions import model_terms
    from suite.core.weights import match_weights

    model = get_model(name).build()
    key = match_weights(model, weights)
    terms = model_terms(model, batch, int(model.output.shape[-1]))
    return {key.get(k, k): t for k, t in terms.items()}


def shared_weights(name: str, path: Path, seed: int, init_dir: str | None = None) -> dict:
    """Read the model's shared initial weights; the first backend to need them makes them
    (numpy-drawn for the registry's models; a brought model's from its saved weights)."""
    from models import get_model
    from suite.core.weights import initial_weights_for, read_weights_npz, save_weights_npz
    from suite.training.weights import load_keras_weights, model_weights

    if not path.exists():
        model = get_model(name).build()
        if init_dir:
            load_keras_weights(model, Path(init_dir) / f"seed{seed}.weights.h5", "--model")
            save_weights_npz(path, model_weights(model))
        else:
            save_weights_npz(path, initial_weights_for(model, seed))
    return read_weights_npz(path)


def main(argv=None) -> int:
    backend, request, out = child_args(
        "suite.checks.grads.child", argv, "BACKEND", "REQUEST", "OUT.npz"
    )
    r = read_request(GradsRequest, request)
    select_backend(backend, device="cpu", threads=r.threads)

    import keras

    from suite import frameworks
    from suite.core.data import epoch_batches, load_mnist, preprocess
    from suite.core.files import write_atomic

    bk = frameworks.current()
    if "float64" in r.dtypes:
        bk.enable_float64()
    bk.configure("cpu", r.threads)
    mnist = load_mnist()
    n = r.batch_size
    x, y = preprocess(mnist.x_train[:n]), mnist.y_train[:n].astype(np.int32)
    order = epoch_batches(len(mnist.y_train), n, r.seed, 0)[: r.steps]
    batches = [(preprocess(mnist.x_train[b]), mnist.y_train[b].astype(np.int32)) for b in order]
    record_at = {k for k in (1, 10, r.steps) if k <= r.steps}
    arrays = {}
    for name in r.models:
        weights = shared_weights(name, Path(r.weights[name]), r.seed, r.init_dirs.get(name))
        for key, terms in bound_terms(name, n, weights).items():
            arrays[f"{name}/bounds/{key}"] = np.asarray(terms.as_list())
        for dtype in r.dtypes:
            print(f"[{backend}] {name} {dtype} gradients", file=sys.stderr, flush=True)
            for key, value in gradients(name, dtype, weights, x, y).items():
                arrays[f"{name}/{dtype}/{key}"] = value
        keras.config.set_floatx("float32")
        keras.config.set_dtype_policy("float32")
        print(f"[{backend}] {name} compiled train step", file=sys.stderr, flush=True)
        for key, value in compiled_step(name, weights, x, y).items():
            arrays[f"{name}/compiled/{key}"] = value
        for optimizer in TRAJECTORY_OPTIMIZERS if r.steps else []:
            print(
                f"[{backend}] {name} {optimizer} trajectory, {r.steps} steps",
                file=sys.stderr,
                flush=True,
            )
            for key, value in trajectory(name, optimizer, weights, batches, record_at).items():
                arrays[f"{name}/traj/{optimizer}/{key}"] = value
    arrays["meta/framework"] = np.asarray(bk.device_info("cpu")["framework_version"])
    write_atomic(Path(out), lambda f: np.savez(f, **arrays))
    return 0


if __name__ == "__main__":
    sys.exit(main())
