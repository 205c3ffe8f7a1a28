"""The source notebooks' recipes: what each one trains, and on which data.

Each ``NotebookRecipe`` is faithful to one notebook in ``shared/seeds`` where it
matters for the result: model, task, initialisation, loss, optimizer, learning
rate, batch size, epochs, shuffling, normalisation and data split. What differs
from the notebook, and why, is written in ``differences``. This module is the
registry and the data preparation (pure numpy); ``suite.training.recipe`` trains a
recipe, with Keras' own ``fit()``. No timing: recipes are about accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from suite.core.data import TRAIN_IMAGES, preprocess
from suite.core.errors import SuiteError
from suite.core.tasks import get_task


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
    recipe: NotebookRecipe, mnist, seed: int, train_examples: int = TRAIN_IMAGES
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
