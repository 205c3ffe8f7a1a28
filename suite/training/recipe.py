"""Train a notebook recipe (``suite.core.recipes``) with Keras' own ``fit()`` and SGD,
one epoch per call so the batch order is the recipe's (a seeded permutation per
epoch, or none), the last partial batch kept as a PyTorch ``DataLoader`` keeps it.

``python -m suite.training.recipe REQUEST`` (a ``RecipeRequest``) is one backend's child
of ``recipes --compare`` (``suite.measure.recipes``): it chooses its backend, trains the
recipe once per seed and writes one result each into the request's run folder."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True)
class RecipeRequest:
    recipe: str
    backend: str
    device: str
    seeds: list[int]
    epochs: int  # the recipe's, or the --epochs given
    train_examples: int
    run_dir: str  # the results go there, one file per seed
    data: str | None  # an MNIST source, or None: the cache


def main(argv=None) -> int:
    from suite import frameworks
    from suite.core.children import child_args
    from suite.core.data import load_mnist
    from suite.core.files import read_request
    from suite.core.fingerprint import fingerprint
    from suite.core.recipes import get_recipe, recipe_data

    (path,) = child_args("suite.training.recipe", argv, "REQUEST")
    r = read_request(RecipeRequest, path)
    frameworks.select_backend(r.backend, r.device)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    recipe = get_recipe(r.recipe)
    mnist = load_mnist(r.data, online=False)
    device = frameworks.current().device_info(r.device)
    for seed in r.seeds:
        subset = recipe_data(recipe, mnist, seed, r.train_examples)
        env = fingerprint(r.backend, device, {"recipe": recipe.name, "epochs": r.epochs})
        result = run_recipe(recipe, subset, seed, r.epochs, r.backend, r.device, env, log=log)
        log(f"wrote {write_recipe_result(Path(r.run_dir), result)}")
        published = f"{recipe.published:.2%}" if recipe.published else "none printed"
        print(
            f"{recipe.name} on {r.backend}, seed {seed}: accuracy "
            f"{result.final_accuracy:.2%} after {r.epochs} epochs (notebook: {published})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
