"""One backend's side of the portability check, run in its own process.

``python -m suite.checks.portability.child BACKEND REQUEST.json`` (the request:
``suite.checks.requests.PortabilityRequest``). In mode ``save`` it trains each model
for one epoch on the first N training images (shared initial weights, the model's
recipe), saves ``WORK/MODEL--BACKEND.weights.h5`` and the test-set logits
``WORK/MODEL--BACKEND--BACKEND.npy``. In mode ``load`` it loads every other backend's
weights file into a fresh model and saves ``WORK/MODEL--SOURCE--BACKEND.npy``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from suite.checks.requests import PortabilityRequest, read_request
from suite.frameworks import select_backend

EVAL_BATCH = 1000


def _predict(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=EVAL_BATCH, verbose=0), np.float32)


def save(backend: str, work: Path, models: list[str], mnist, train_examples: int) -> None:
    from suite.core.config import RunConfig, validate
    from suite.core.data import epoch_batches, preprocess
    from suite.training.build import build_compiled_model

    x_test = preprocess(mnist.x_test)
    for name in models:
        cfg = validate(RunConfig(backend, name, epochs=1, train_examples=train_examples))
        model = build_compiled_model(cfg)
        order = epoch_batches(cfg.train_examples, cfg.batch_size, cfg.seed, 0).ravel()
        x = preprocess(mnist.x_train[order])
        y = mnist.y_train[order].astype(np.int32)
        model.fit(x, y, batch_size=cfg.batch_size, epochs=1, shuffle=False, verbose=0)
        model.save_weights(work / f"{name}--{backend}.weights.h5")
        np.save(work / f"{name}--{backend}--{backend}.npy", _predict(model, x_test))


def load(backend: str, work: Path, models: list[str], mnist) -> None:
    from models import get_model
    from suite.core.data import preprocess
    from suite.training.weights import load_keras_weights

    x_test = preprocess(mnist.x_test)
    for name in models:
        for path in sorted(work.glob(f"{name}--*.weights.h5")):
            source = path.name.removesuffix(".weights.h5").split("--")[1]
            if source == backend:
                continue
            model = get_model(name).build()
            load_keras_weights(model, path, flag="weights file")
            np.save(work / f"{name}--{source}--{backend}.npy", _predict(model, x_test))


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m suite.checks.portability.child")
    p.add_argument("backend")
    p.add_argument("request", help="JSON written by suite.checks.portability.run")
    args = p.parse_args()
    r = read_request(PortabilityRequest, args.request)
    select_backend(args.backend)
    from suite.core.data import load_mnist

    mnist = load_mnist(r.data)
    if r.mode == "save":
        save(args.backend, Path(r.work), r.models, mnist, r.train_examples)
    else:
        load(args.backend, Path(r.work), r.models, mnist)


if __name__ == "__main__":
    main()
