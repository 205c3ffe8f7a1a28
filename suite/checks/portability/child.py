"""One backend's side of the portability check, run in its own process.

``python -m suite.checks.portability.child BACKEND REQUEST.json`` (the request:
``suite.checks.requests.PortabilityRequest``). In mode ``save`` it trains each model
for one epoch on the first N training images (shared initial weights, the model's
recipe), saves ``WORK/MODEL--BACKEND.weights.h5`` and the test-set logits
``WORK/MODEL--BACKEND--BACKEND.npy``. In mode ``load`` it loads every other backend's
weights file into a fresh model and saves ``WORK/MODEL--SOURCE--BACKEND.npy``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.checks.requests import PortabilityRequest, read_request
from suite.core.children import child_args
from suite.frameworks import select_backend

EVAL_BATCH = 1000


def _predict(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=EVAL_BATCH, verbose=0), np.float32)


def save(
    backend: str, work: Path, models: list[str], mnist, train_examples: int, init_dirs: dict
) -> None:
    """Train, then save the weights (Keras' file, and every variable as an npz to compare
    the loaded ones with) and the test-set logits. Files are named by the model's slug."""
    from models.brought import slug
    from suite.core.config import RunConfig, validate
    from suite.core.data import epoch_batches, preprocess
    from suite.core.weights import save_weights_npz
    from suite.training.build import as_input, build_compiled_model
    from suite.training.weights import model_weights

    for name in models:
        cfg = validate(
            RunConfig(
                backend, name, epochs=1, train_examples=train_examples,
                init_dir=init_dirs.get(name),
            )
        )  # fmt: skip
        model = build_compiled_model(cfg)
        order = epoch_batches(cfg.train_examples, cfg.batch_size, cfg.seed, 0).ravel()
        x = as_input(model, preprocess(mnist.x_train[order]))
        y = mnist.y_train[order].astype(np.int32)
        model.fit(x, y, batch_size=cfg.batch_size, epochs=1, shuffle=False, verbose=0)
        model.save_weights(work / f"{slug(name)}--{backend}.weights.h5")
        save_weights_npz(work / f"{slug(name)}--{backend}.npz", model_weights(model))
        x_test = as_input(model, preprocess(mnist.x_test))
        np.save(work / f"{slug(name)}--{backend}--{backend}.npy", _predict(model, x_test))


def load(backend: str, work: Path, models: list[str], mnist) -> None:
    """Load every other backend's weights into a fresh model: its logits, and whether each
    variable (BatchNorm's moving statistics too) equals the saved one bit for bit."""
    import json

    from models import get_model
    from models.brought import slug
    from suite.core.data import preprocess
    from suite.core.weights import match_weights, read_weights_npz
    from suite.training.build import as_input
    from suite.training.weights import load_keras_weights, model_weights

    for name in models:
        for path in sorted(work.glob(f"{slug(name)}--*.weights.h5")):
            source = path.name.removesuffix(".weights.h5").split("--")[1]
            if source == backend:
                continue
            model = get_model(name).build()
            load_keras_weights(model, path, flag="weights file")
            x_test = as_input(model, preprocess(mnist.x_test))
            stem = f"{slug(name)}--{source}--{backend}"
            np.save(work / f"{stem}.npy", _predict(model, x_test))
            saved = read_weights_npz(work / f"{slug(name)}--{source}.npz")
            key = match_weights(model, saved)  # unnamed layers: by position
            loaded = {key[p]: w for p, w in model_weights(model).items()}
            differ = [
                p for p in saved if p not in loaded or not np.array_equal(saved[p], loaded[p])
            ]
            (work / f"{stem}.json").write_text(
                json.dumps({"identical": not differ, "differ": differ})
            )


def main() -> None:
    backend, request = child_args("suite.checks.portability.child", None, "BACKEND", "REQUEST")
    r = read_request(PortabilityRequest, request)
    select_backend(backend)
    from suite.core.data import load_mnist

    mnist = load_mnist(r.data)
    if r.mode == "save":
        save(backend, Path(r.work), r.models, mnist, r.train_examples, r.init_dirs)
    else:
        load(backend, Path(r.work), r.models, mnist)


if __name__ == "__main__":
    main()
