"""A brought model (``--model MODULE:FUNCTION``) made ready before any cell trains: built
once on one backend, checked, and its initial weights saved, one ``.weights.h5`` per
seed, for every backend's worker to load (``RunConfig.init_dir``).

``prepare`` runs in a process whose backend is chosen (``run`` calls it in-process);
``python -m suite.training.brought --backend B --model REF --seeds S.. --into DIR`` is
the same as a child (``compare`` runs it before any worker starts). Every problem is one
line naming ``--model`` (exit 2 from the child), and nothing is written: the folder
appears, complete, only when every check passed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from models import brought, forward_flops, get_model
from suite.core.errors import SuiteError
from suite.frameworks import select_backend

MNIST_SHAPE, MNIST_CLASSES = (28, 28, 1), 10
CARD = "card.json"


@dataclass(frozen=True)
class Card:
    """What the suite knows of a brought model once built."""

    name: str  # reference#hash: the workload's name in results and reports
    reference: str
    source_hash: str
    params: int
    flops_per_example: int | None  # None: a layer the counter does not know
    input_shape: list
    classes: int
    built_on: str
    seeds: list


def _model_error(name: str, what: str) -> SuiteError:
    return SuiteError(f"--model {name}: {what}")


def build_checked(name: str, shape: tuple = MNIST_SHAPE, classes: int = MNIST_CLASSES):
    """FUNCTION(input_shape, num_classes) built and checked: a keras.Model whose input
    holds one example of ``shape`` and whose output is one logit per class."""
    import keras

    try:
        model = get_model(name).build(input_shape=tuple(shape), num_classes=classes)
    except ValueError as e:  # the reference itself: file, module, function, source hash
        raise _model_error(name, str(e)) from None
    except Exception as e:
        raise _model_error(name, f"the function raised {brought._one_line(e)}") from None
    if not isinstance(model, keras.Model):
        raise _model_error(
            name, f"the function returned a {type(model).__name__}, not a keras.Model"
        )
    try:
        inputs, outputs = model.input_shape, model.output_shape
    except (AttributeError, ValueError) as e:
        raise _model_error(name, f"the model has no single input and output ({e})") from None
    if not isinstance(inputs, tuple) or len(inputs) < 2 or None in inputs[1:]:
        raise _model_error(name, f"its input shape {inputs} is not one fixed image shape")
    size, want = 1, 1
    for d in inputs[1:]:
        size *= d
    for d in shape:
        want *= d
    if size != want:
        what = "a 28x28 MNIST image" if tuple(shape) == MNIST_SHAPE else f"an example of {shape}"
        raise _model_error(name, f"its input shape {inputs[1:]} cannot hold {what} ({want} values)")
    if not isinstance(outputs, tuple) or len(outputs) != 2 or outputs[-1] != classes:
        raise _model_error(
            name, f"its output shape {outputs} is not (batch, {classes}): one logit per class"
        )
    return model


def prepare(
    name: str, seeds: list[int], into: Path, backend: str, dataset: str | None = None
) -> Card:
    """Check the model (for MNIST, or for ``dataset``: its example shape and classes) and
    save its initial weights per seed into ``into`` (created whole or not at all; an
    existing folder of the same source hash and seeds is kept)."""
    from suite.core.datasets import load_dataset
    from suite.training.build import seed_everything

    shape, classes = MNIST_SHAPE, MNIST_CLASSES
    if dataset:
        data = load_dataset(dataset)
        shape, classes = data.example_shape, data.classes

    ref = brought.parse(name)
    try:
        pinned = brought.Reference(ref.target, ref.function, brought.current_hash(ref))
    except ValueError as e:
        raise _model_error(name, str(e)) from None
    card_path = into / CARD
    if card_path.is_file():
        card = Card(**json.loads(card_path.read_text()))
        if card.name == pinned.name and set(seeds) <= set(card.seeds):
            return card
        raise SuiteError(
            f"--model {name}: {into} holds another version or other seeds of it; "
            "use a new --out folder"
        )
    model = build_checked(pinned.name, shape, classes)
    tmp = Path(
        tempfile.mkdtemp(prefix=".brought-", dir=into.parent if into.parent.exists() else None)
    )
    try:
        for seed in seeds:
            seed_everything(seed)
            fresh = build_checked(pinned.name, shape, classes)
            fresh.save_weights(tmp / f"seed{seed}.weights.h5")
        card = Card(
            name=pinned.name,
            reference=pinned.text,
            source_hash=pinned.source_hash,
            params=int(model.count_params()),
            flops_per_example=forward_flops(model),
            input_shape=list(model.input_shape[1:]),
            classes=int(model.output_shape[-1]),
            built_on=backend,
            seeds=sorted(seeds),
        )
        (tmp / CARD).write_text(json.dumps(asdict(card), indent=1))
        into.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(tmp), str(into))  # the temporary folder may be on another disk
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return card


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m suite.training.brought")
    p.add_argument("--backend", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--seeds", type=int, nargs="+", required=True)
    p.add_argument("--into", required=True)
    p.add_argument("--dataset", help="a --data npz:/synthetic: value (default: MNIST)")
    args = p.parse_args(argv)
    select_backend(args.backend, device="cpu", threads=0)
    try:
        card = prepare(args.model, args.seeds, Path(args.into), args.backend, args.dataset)
    except SuiteError as e:
        print(e, file=sys.stderr)
        return 2
    print(json.dumps(asdict(card)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
