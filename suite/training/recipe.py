"""Train a notebook recipe (``suite.core.recipes``) with Keras' own ``fit()`` and SGD,
one epoch per call so the batch order is the recipe's (a seeded permutation per
epoch, or none), the last partial batch kept as a PyTorch ``DataLoader`` keeps it."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from models import get_model
from suite.core.files import write_json
from suite.core.recipes import NotebookRecipe, RecipeData, checkpoints, epoch_order
from suite.core.schemas import RecipeResult
from suite.core.tasks import get_task
from suite.core.weights import initial_weights_for, load_weights
from suite.training.build import seed_everything


def mnist_loss(y_true, y_pred):
    """fastai's loss: mean of 1 - sigmoid for positives and sigmoid for negatives."""
    import keras

    p = keras.ops.sigmoid(y_pred)
    return keras.ops.mean(keras.ops.where(y_true > 0.5, 1.0 - p, p), axis=-1)


def build_recipe_model(recipe: NotebookRecipe, seed: int):
    """The registry model with the task's outputs, the recipe's weights, SGD and loss."""
    import keras

    model = get_model(recipe.model).build(num_classes=get_task(recipe.task).outputs)
    load_weights(model, initial_weights_for(model, seed, recipe.init))
    loss = (
        mnist_loss
        if recipe.loss == "mnist_loss"
        else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.compile(optimizer=keras.optimizers.SGD(recipe.learning_rate), loss=loss)
    return model


def run_recipe(
    recipe: NotebookRecipe,
    data: RecipeData,
    seed: int,
    epochs: int,
    backend: str,
    device: str,
    environment: dict,
    log=None,
) -> RecipeResult:
    """Train the recipe with fit(), one epoch per call in the recipe's batch order."""
    task = get_task(recipe.task)
    seed_everything(seed)  # dropout masks
    model = build_recipe_model(recipe, seed)
    start = time.perf_counter()
    accuracy = {}
    marks = checkpoints(recipe, epochs)
    for epoch in range(1, epochs + 1):
        order = epoch_order(len(data.y_train), seed, epoch, recipe.shuffle)
        model.fit(
            data.x_train[order],
            data.y_train[order],
            batch_size=recipe.batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
        )
        if epoch in marks:
            logits = model.predict(data.x_test, batch_size=1000, verbose=0)
            accuracy[epoch] = task.accuracy(logits, data.y_test)
            if log:
                log(f"{recipe.name} {backend}: epoch {epoch}/{epochs}, {accuracy[epoch]:.4f}")
    return RecipeResult(
        recipe=recipe.name,
        backend=backend,
        device=device,
        seed=seed,
        epochs=epochs,
        train_examples=len(data.y_train),
        test_examples=len(data.y_test),
        accuracy=accuracy,
        final_accuracy=accuracy[epochs],
        published=recipe.published,
        wall_seconds=time.perf_counter() - start,
        environment=environment,
    )


def write_recipe_result(folder: Path, result: RecipeResult) -> Path:
    path = folder / f"recipe-{result.recipe}-{result.backend}-seed{result.seed}.json"
    return write_json(path, asdict(result))
