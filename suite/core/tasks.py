"""Tasks: which MNIST images and labels a model learns, and how its outputs are read.

``digits`` is the ten-class problem every model in the registry solves. ``3vs7``
is fastai's MNIST_SAMPLE (notebook 001): exactly the 3s and 7s of MNIST, 12,396
training images and, as validation set, the 2,038 3s and 7s of the MNIST test
set; label 1 for a three, 0 for a seven, one output logit read through a sigmoid.
Pure numpy, no framework.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.core.errors import SuiteError


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    outputs: int  # model outputs: 10 logits, or 1 logit for a binary task
    digits: tuple[int, ...]  # the MNIST digits kept, in this order
    positive: int | None = None  # binary tasks: the digit labelled 1 (the rest are 0)

    def select(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The task's images and labels, in MNIST order within each kept digit, digits in
        ``self.digits`` order (MNIST_SAMPLE stacks all 3s, then all 7s)."""
        if self.positive is None:
            return images, labels.astype(np.int32)
        keep = np.concatenate([np.nonzero(labels == d)[0] for d in self.digits])
        y = (labels[keep] == self.positive).astype(np.float32)[:, None]
        return images[keep], y

    def accuracy(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Fraction right: argmax of the logits, or sigmoid(logit) > 0.5 for a binary task."""
        logits = np.asarray(logits)
        if self.positive is None:
            return float((logits.argmax(axis=1) == labels).mean())
        return float(((logits > 0) == (labels > 0.5)).mean())


TASKS: dict[str, Task] = {
    "digits": Task("digits", "all ten digits, 10 logits", 10, tuple(range(10))),
    "3vs7": Task("3vs7", "3s (label 1) against 7s (label 0), one logit", 1, (3, 7), positive=3),
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise SuiteError(f"unknown task {name!r}; choose from {', '.join(TASKS)}") from None
