"""The source notebooks' recipes, reproduced on any backend.

Each ``NotebookRecipe`` is faithful to one notebook in ``shared/seeds`` where it
matters for the result: model, task, initialisation, loss, optimizer, learning
rate, batch size, epochs, shuffling, normalisation and data split. What differs
from the notebook, and why, is written in ``differences``. Training is Keras'
own ``fit()`` with SGD, one epoch per call so the batch order is the recipe's
(a seeded permutation per epoch, or none), the last partial batch kept as a
PyTorch ``DataLoader`` keeps it. No timing here: recipes are about accuracy.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from suite.atomic import write_new
from suite.data import preprocess
from suite.errors import SuiteError
from suite.tasks import get_task

SCHEMA = "keras-backend-suite/recipe"
SCHEMA_VERSION = 1
LOSSES = ("crossentropy", "mnist_loss")


@dataclass(frozen=True)
class NotebookRecipe:
    name: str
    notebook: str  # file in shared/seeds
    summary: str
    model: str  # registry model whose build() is used
    task: str  # suite.tasks name
    init: str  # suite.weights rule
    loss: str
    learning_rate: float
    batch_size: int
    epochs: int
    shuffle: bool
    normalize: tuple[float, float] | None = None  # (mean, std) after scaling to [0, 1]
    train_split: int | None = None  # train on a seeded random N of the 60,000 (random_split)
    eval_every: int = 1
    published: float | None = None  # the notebook's own printed figure, a fraction
    published_what: str = "none printed (the notebook's output cells are empty)"
    published_checkpoints: dict = field(default_factory=dict)  # epoch -> printed accuracy
    differences: str = ""


# notebook 002 trains its MLP and its CNN alike; only the model and the learning rate differ
PYTORCH_MLP = NotebookRecipe(
    name="pytorch-mlp",
    notebook="002_06e84f98e7e20924.txt",
    summary="PyTorch-basics MLP 784-100-100-10, SGD",
    model="mlp",
    task="digits",
    init="torch",
    loss="crossentropy",
    learning_rate=0.01,
    batch_size=32,
    epochs=10,
    shuffle=False,
    normalize=(0.1307, 0.3081),
    differences="as the notebook meant it: ReLU between the Linear layers (it has "
    "none, so its 'MLP' is one linear map) and log-softmax over classes (it uses "
    "LogSoftmax(dim=0), over the batch)",
)

RECIPES: dict[str, NotebookRecipe] = {
    r.name: r
    for r in (
        NotebookRecipe(
            name="d2l-softmax",
            notebook="000_c4556bc9169f8e9b.txt",
            summary="d2l softmax regression from scratch",
            model="softmax",
            task="digits",
            init="normal:0.01",
            loss="crossentropy",
            learning_rate=0.1,
            batch_size=256,
            epochs=10,
            shuffle=True,
            differences="accuracy on the whole test set, not on its first batch of 256; "
            "softmax and log fused (from_logits) instead of log(softmax)",
        ),
        NotebookRecipe(
            name="fastai-3v7",
            notebook="001_7c222d37ab3a68ad.txt",
            summary="fastai linear 3-vs-7 classifier, sigmoid mnist_loss",
            model="softmax",  # Flatten -> Dense(1): the softmax network with one output
            task="3vs7",
            init="normal:1+bias",
            loss="mnist_loss",
            learning_rate=1.0,
            batch_size=256,
            epochs=300,
            shuffle=False,
            eval_every=30,
            published=0.9858,
            published_what="validation accuracy after 300 epochs",
            published_checkpoints={
                30: 0.9789,
                60: 0.9828,
                90: 0.9838,
                120: 0.9838,
                150: 0.9848,
                180: 0.9857,
                210: 0.9862,
                240: 0.9858,
                270: 0.9858,
                300: 0.9858,
            },
            differences="images in MNIST order within each digit (the notebook sorts file "
            "names); accuracy over all 2,038 images, not the mean of per-batch accuracies",
        ),
        PYTORCH_MLP,
        replace(
            PYTORCH_MLP,
            name="pytorch-cnn",
            summary="PyTorch-basics CNN (two conv blocks, dropout), SGD",
            model="cnn",
            learning_rate=0.1,
            differences="as the notebook meant it: ReLU after Linear(1600, 128) and "
            "log-softmax over classes, not over the batch (LogSoftmax(dim=0))",
        ),
        NotebookRecipe(
            name="logreg-sgd",
            notebook="003_f57036476524df5e.txt",
            summary="logistic regression with nn.Linear on a 50,000-image split",
            model="softmax",
            task="digits",
            init="torch",
            loss="crossentropy",
            learning_rate=0.001,
            batch_size=128,
            epochs=20,
            shuffle=True,
            train_split=50000,
            eval_every=5,
            published=0.8604,
            published_what="test accuracy after 20 epochs (mean over batches of 256)",
            published_checkpoints={5: 0.7975, 10: 0.8287, 15: 0.8445, 20: 0.8527},
            differences="checkpoints at 5-20 epochs are the notebook's validation "
            "accuracy on its own random 10,000-image split; ours are test accuracy",
        ),
    )
}


def get_recipe(name: str) -> NotebookRecipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise SuiteError(
            f"--recipe {name!r} is not a recipe; choose from {', '.join(RECIPES)}"
        ) from None


@dataclass(frozen=True)
class RecipeData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def recipe_data(
    recipe: NotebookRecipe, mnist, seed: int, train_examples: int = 60000
) -> RecipeData:
    """The recipe's images and labels as float32 NHWC, pure numpy."""
    task = get_task(recipe.task)
    images, labels = mnist.x_train, mnist.y_train
    if recipe.train_split:  # torch random_split: a random subset, the rest for validation
        keep = np.random.default_rng([seed, 99]).permutation(len(labels))[: recipe.train_split]
        images, labels = images[np.sort(keep)], labels[np.sort(keep)]
    x_train, y_train = task.select(images, labels)
    x_test, y_test = task.select(mnist.x_test, mnist.y_test)
    x_train, y_train = x_train[:train_examples], y_train[:train_examples]

    def scale(x):
        x = preprocess(x)
        if recipe.normalize:
            mean, std = recipe.normalize
            x = (x - np.float32(mean)) / np.float32(std)
        return x

    return RecipeData(scale(x_train), y_train, scale(x_test), y_test)


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """The epoch's example order: a seeded permutation, or 0..n-1 unshuffled."""
    return np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)


def checkpoints(recipe: NotebookRecipe, epochs: int) -> list[int]:
    """Epochs after which the recipe evaluates (its notebook's printing rhythm), and the last."""
    return sorted({e for e in range(recipe.eval_every, epochs + 1, recipe.eval_every)} | {epochs})


@dataclass(frozen=True)
class RecipeResult:
    recipe: str
    backend: str
    device: str
    seed: int
    epochs: int
    train_examples: int  # images trained on per epoch
    test_examples: int
    accuracy: dict  # epoch -> test (or validation) accuracy, fraction
    final_accuracy: float
    published: float | None
    wall_seconds: float  # information only: includes compilation and evaluation
    environment: dict
    schema: str = SCHEMA
    schema_version: int = SCHEMA_VERSION


def mnist_loss(y_true, y_pred):
    """fastai's loss: mean of 1 - sigmoid for positives and sigmoid for negatives."""
    import keras

    p = keras.ops.sigmoid(y_pred)
    return keras.ops.mean(keras.ops.where(y_true > 0.5, 1.0 - p, p), axis=-1)


def build_recipe_model(recipe: NotebookRecipe, seed: int):
    """The registry model with the task's outputs, the recipe's weights, SGD and loss."""
    import keras

    from models import get_model
    from suite.weights import initial_weights_for, load_weights

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
    from suite.train import seed_everything

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
    return write_new(path, json.dumps(asdict(result), indent=1).encode())


def recipe_result_from_dict(data: dict) -> RecipeResult:
    """A read-back recipe result; SuiteError naming the first problem if malformed."""
    try:
        accuracy = {int(k): float(v) for k, v in data["accuracy"].items()}
        result = RecipeResult(**{**data, "accuracy": accuracy})
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise SuiteError(f"malformed {SCHEMA} file ({type(e).__name__}: {e})") from None
    numbers = [result.final_accuracy, *accuracy.values()]
    if result.recipe not in RECIPES or not all(0 <= a <= 1 for a in numbers):
        raise SuiteError(f"malformed {SCHEMA} file (unknown recipe or accuracy outside 0..1)")
    return result


def newest_recipes(results: list[RecipeResult]) -> list[RecipeResult]:
    """Of results with the same recipe, backend, device, seed, epochs and data size, the
    newest (by its environment's timestamp) counts."""
    newest: dict[tuple, RecipeResult] = {}
    for r in results:
        key = (r.recipe, r.backend, r.device, r.seed, r.epochs, r.train_examples)
        stamp = str(r.environment.get("timestamp", ""))
        if key not in newest or stamp >= str(newest[key].environment.get("timestamp", "")):
            newest[key] = r
    return list(newest.values())


def load_recipe_results(folders: list[Path]) -> list[RecipeResult]:
    """Every readable recipe result below the folders, newest per key; malformed files
    are left out (the report names them)."""
    found = []
    for path in sorted(p for f in folders for p in Path(f).rglob("recipe-*.json")):
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and data.get("schema") == SCHEMA:
                found.append(recipe_result_from_dict(data))
        except (OSError, ValueError, SuiteError):
            continue
    return newest_recipes(found)


def recipe_rows(results: list[RecipeResult], backends: list[str]) -> list[list[str]]:
    """Per recipe: the notebook's figure and each backend's final accuracy in percent (the
    mean and range over seeds when several), with the mean's gap to the notebook in
    points when the run had the recipe's own epochs."""
    rows = []
    for name, recipe in RECIPES.items():
        mine = [r for r in results if r.recipe == name]
        if not mine:
            continue
        epochs = max(r.epochs for r in mine)
        row = [name, str(epochs), f"{recipe.published:.2%}" if recipe.published else "—"]
        for b in backends:
            acc = [r.final_accuracy for r in mine if r.backend == b and r.epochs == epochs]
            if not acc:
                row.append("—")
                continue
            text = f"{np.mean(acc):.2%}"
            if recipe.published and epochs == recipe.epochs:
                text += f" ({100 * (np.mean(acc) - recipe.published):+.2f})"
            if len(acc) > 1:
                text += f", {len(acc)} seeds {min(acc):.2%}–{max(acc):.2%}"
            row.append(text)
        rows.append(row)
    return rows
