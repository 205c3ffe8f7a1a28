"""How far a correct float32 (or float64) gradient can be from the exact one: a bound per
variable derived from the computation that produced it, the reductions behind it and
the dtype's unit roundoff u (docs/checks.md, "The tolerance rule"). Pure functions over
a model's layers as described by ``LayerReductions`` (``suite.checks.grads.reductions``
reads them off a Keras model).

First order, relative errors add along the chain that computes a gradient: the whole
forward pass (the loss needs every layer), the backward through every layer after the
variable's own, and the reduction that forms the variable's gradient itself. A sum of
L terms in floating point is off by at most L u of the sum of its terms' magnitudes
(recursive summation, the worst order any backend may use); when its terms have
independent rounding errors the error is typically sqrt(L) u.

- The backward's reductions (a gradient summed over the batch and positions, a
  normalisation's sums of dy and dy x_hat) count at their worst case L u: they are
  differences of large terms, so their error is relative to the terms, not the result.
- The forward's reductions count at sqrt(L) u, unless a normalisation computed from
  its input (BatchNormalization, LayerNormalization) sits at or after the variable's
  layer: its backward subtracts nearly equal sums, which turns the forward's absolute
  rounding errors into relative errors of the gradient, so behind such a layer the
  forward counts at its worst case too.

One side's bound is u times that length; two backends differ by at most the sum of
their bounds (``PAIR`` sides).

Under a mixed policy (``mixed_bfloat16``) the sums still run in float32, but every layer
rounds its output to the half type on the way forward (a recurrent layer at every step)
and its gradient on the way back: each rounding adds the half type's u (2^-8 for
bfloat16), on top of the float32 bound."""

from __future__ import annotations

import math
from dataclasses import dataclass

UNIT_ROUNDOFF = {"float32": 2.0**-24, "float64": 2.0**-53}
HALF_ROUNDOFF = {"mixed_bfloat16": 2.0**-8, "mixed_float16": 2.0**-11}  # the policies' u
PAIR = 2  # a comparison of two computations, each within its own bound
LOGITS, LOSS = "#logits", "#loss"  # the outputs' entries beside the variables' paths


@dataclass(frozen=True)
class LayerReductions:
    """One layer, as its rounding errors see it: the lengths of its reductions."""

    name: str
    variables: tuple[str, ...]  # trainable variable paths
    forward: tuple[int, ...] = ()  # the forward pass's sums (a Dense layer: its fan-in)
    backward: tuple[int, ...] = ()  # the sums that carry the gradient to its input
    own: int = 0  # the sum that forms its variables' gradients (batch x positions)
    normalising: bool = False  # its output is centred and scaled by sums of its input
    roundings: int = 0  # times its forward rounds to the compute dtype (a mixed policy)


@dataclass(frozen=True)
class ChainTerms:
    """What a variable's gradient (or an output) sums on its way: the forward counted
    typically (sum of sqrt L) and at worst (sum of L), the backward at worst."""

    forward_typical: float
    forward_worst: float
    backward: float
    cancels: bool  # a normalisation at or after it: the forward counts at worst
    rounds_forward: float = 0.0  # a mixed policy's roundings: the whole forward
    rounds_backward: float = 0.0  # and the backward from the loss to it

    @property
    def length(self) -> float:
        forward = self.forward_worst if self.cancels else self.forward_typical
        return forward + self.backward

    def as_list(self) -> list[float]:
        return [
            self.forward_typical, self.forward_worst, self.backward, float(self.cancels),
            self.rounds_forward, self.rounds_backward,
        ]  # fmt: skip

    @classmethod
    def from_list(cls, values) -> ChainTerms:
        typical, worst, backward, cancels, *rounds = (float(v) for v in values)
        return cls(typical, worst, backward, bool(cancels), *rounds)


def chain_terms(layers: list[LayerReductions], batch: int, classes: int) -> dict[str, ChainTerms]:
    """Per trainable variable path, and for the logits (``LOGITS``) and the loss (``LOSS``:
    a softmax over the classes, averaged over the batch), the terms of its bound.
    ``layers`` in the model's order (a functional model's is topological)."""
    typical = sum(math.sqrt(n) for layer in layers for n in layer.forward)
    worst = float(sum(n for layer in layers for n in layer.forward))
    rounds = float(sum(layer.roundings for layer in layers))
    out = {LOGITS: ChainTerms(typical, worst, 0.0, False, rounds)}
    loss_typical = typical + math.sqrt(classes) + math.sqrt(batch)
    out[LOSS] = ChainTerms(loss_typical, worst + classes + batch, 0.0, False, rounds)
    for i, layer in enumerate(layers):
        after = layers[i + 1 :]
        backward = layer.own + sum(n for later in after for n in later.backward)
        cancels = layer.normalising or any(later.normalising for later in after)
        back_rounds = float(sum(later.roundings for later in layers[i:]))
        for path in layer.variables:
            out[path] = ChainTerms(typical, worst, float(backward), cancels, rounds, back_rounds)
    return out


def bound(terms: ChainTerms, dtype: str, sides: int = 1) -> float:
    """The largest max|a - b| / max|b| that rounding alone explains, for one computation
    against the exact value (``sides`` 1) or for two against each other (``PAIR``); a
    mixed policy adds its half type's u for every rounding on the chain."""
    one = UNIT_ROUNDOFF.get(dtype, UNIT_ROUNDOFF["float32"]) * max(terms.length, 1.0)
    if dtype in HALF_ROUNDOFF:
        one += HALF_ROUNDOFF[dtype] * max(terms.rounds_forward + terms.rounds_backward, 1.0)
    return sides * one


def judged_by_chain(dtype: str) -> bool:
    """Does the chain rule bound comparisons in ``dtype``?"""
    return dtype in UNIT_ROUNDOFF or dtype in HALF_ROUNDOFF
