"""The cell's model: built from the registry with the shared initial weights (or loaded
weights), compiled with the cell's optimizer, schedule and execution settings, inside
the backend's data-parallel engine when there are several devices; and the test-set
evaluation every cell uses, in numpy."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import numpy as np

from models import get_model
from suite import frameworks
from suite.core.config import RunConfig
from suite.core.datasets import load_dataset
from suite.core.weights import initial_weights_for, load_weights
from suite.frameworks.shared import total_steps
from suite.training.weights import load_keras_weights

EVAL_BATCH = 1000


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and the framework. Unlike keras.utils.set_random_seed this
    does not import TensorFlow into a torch or JAX process."""
    random.seed(seed)  # keras layers draw their default seeds from Python's random
    np.random.seed(seed)
    frameworks.current().seed(seed)


def build_model(cfg: RunConfig):
    """The cell's model with the shared initial weights (numpy-drawn for the registry's,
    a brought model's saved ones, or --load-weights), uncompiled."""
    spec = get_model(cfg.model)
    kwargs = {"data_format": cfg.data_format} if cfg.model == "cnn" else {}
    shape = (1, 28, 28) if cfg.data_format == "channels_first" else (28, 28, 1)
    if cfg.dataset and spec.brought:  # a brought model is built for its data
        data = load_dataset(cfg.dataset)
        kwargs, shape = {"num_classes": data.classes}, data.example_shape
    seed_everything(cfg.seed)  # dropout masks; initial weights come from numpy below
    with dtype_policy(cfg.dtype_policy):
        model = spec.build(input_shape=shape, **kwargs)
    if cfg.load_weights:
        load_keras_weights(model, cfg.load_weights)
    elif cfg.init_dir:  # a brought model: the weights it was built with, saved per seed
        load_keras_weights(model, Path(cfg.init_dir) / f"seed{cfg.seed}.weights.h5", "--model")
    else:
        load_weights(model, initial_weights_for(model, cfg.seed))
    return model


@contextlib.contextmanager
def dtype_policy(name: str):
    """Keras' global dtype policy while the model's layers are made (each layer keeps
    the policy it was made under), then the one before: the next cell of a
    long-lived worker starts from it again."""
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def as_input(model, x: np.ndarray) -> np.ndarray:
    """Images in the layout the model's Input asks for (a brought model's own)."""
    shape = tuple(model.input_shape[1:])
    return x if x.shape[1:] == shape else x.reshape((len(x), *shape))


def build_compiled_model(cfg: RunConfig):
    """The model compiled with the cell's settings; with --devices N, built and compiled
    inside the backend's data-parallel engine (``suite.frameworks.<backend>.parallel``)."""
    with frameworks.engine(cfg.backend).scope(cfg.device, cfg.replicas()):
        return _compile(cfg, build_model(cfg))


def _compile(cfg: RunConfig, model):
    import keras

    rate = cfg.learning_rate
    if cfg.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, total_steps(cfg))
    optimizer = keras.optimizers.get(
        {"class_name": cfg.optimizer, "config": {"learning_rate": rate}}
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile={"auto": "auto", "on": True, "off": False}[cfg.jit],
        steps_per_execution=cfg.steps_per_execution,
    )
    return model


def evaluate(predict, x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Test loss (mean cross-entropy from logits), accuracy and predicted labels, in numpy.
    ``predict`` maps a batch of images to logits."""
    logits = np.concatenate(
        [
            np.asarray(predict(x[i : i + EVAL_BATCH]), np.float64)
            for i in range(0, len(x), EVAL_BATCH)
        ]
    )
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(len(y)), y].mean())
    predicted = logits.argmax(axis=1)
    return loss, float((predicted == y).mean()), predicted
