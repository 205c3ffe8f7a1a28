"""A brought model (``--model MODULE:FUNCTION``) made ready before any cell trains: built
once on one backend, checked, and its initial weights saved, one ``.weights.h5`` per
seed, for every backend's worker to load (``RunConfig.init_dir``).

``prepare`` runs in a process whose backend is chosen (``run`` calls it in-process);
``python -m suite.training.brought REQUEST`` (a ``BroughtRequest``) is the same as a
child (``compare`` runs it before any worker starts); ``brought_models``
does either for every brought model of a command, ``pinned_models`` for the checks.
Every problem is one line naming ``--model`` (exit 2 from the child), and nothing is
written: the folder appears, complete, only when every check passed.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from models import brought, forward_flops, get_model
from suite.core.children import child_args, python_module, run_child
from suite.core.config import RunConfig, validate
from suite.core.errors import SuiteError
from suite.core.files import read_request, write_request
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


def brought_models(
    names: list[str],
    seeds: list[int],
    backend: str,
    out: Path,
    in_process: bool = False,
    dataset: str | None = None,
    log=print,
) -> dict[str, tuple[str, str]]:
    """For each brought model among ``names``: built once on ``backend`` and checked, its
    initial weights saved per seed under OUT/brought (``suite.training.brought``), before
    any cell trains. Returns name given -> (workload name with its source hash, folder of
    its weights). A model that fails a check is one line (SuiteError); nothing is written."""
    prepared = {}
    for name in names:
        if not brought.is_reference(name):
            continue
        ref = brought.parse(name)
        pinned = brought.Reference(ref.target, ref.function, brought.current_hash(ref))
        data = f"-{brought.slug(dataset)}" if dataset else ""
        into = out / "brought" / f"{brought.slug(ref.text)}-{pinned.source_hash}{data}"
        if in_process:
            prepare(name, seeds, into, backend, dataset)
        else:
            request = BroughtRequest(backend, name, list(seeds), str(into), dataset)
            lines: list[str] = []
            with tempfile.TemporaryDirectory(prefix="suite-brought-") as tmp:
                path = write_request(Path(tmp) / "brought.json", request)
                cmd = python_module("suite.training.brought", path)
                if run_child(cmd, f"--model {name}", log=lines.append, check=False):
                    raise SuiteError(lines[-1] if lines else f"--model {name}: could not be built")
        log(f"{name}: built on {backend} and checked; initial weights in {into}")
        prepared[name] = (pinned.name, str(into))
    return prepared


def pinned_models(
    models: list[str], prepared: dict | None, seed: int, backend: str, out: Path, log=print
) -> tuple[list[str], dict[str, str]]:
    """For the checks (grads, portability): every model's name, a brought one pinned to
    its source hash, and each brought model's weights folder. Those ``prepared`` already
    (by ``compare``) are reused; the rest are prepared into ``out``."""
    prepared = prepared or {}
    todo = [m for m in models if m not in prepared]
    prepared = {**prepared, **brought_models(todo, [seed], backend, out, log=log)}
    names = [prepared[m][0] if m in prepared else m for m in models]
    init_dirs = {prepared[m][0]: prepared[m][1] for m in models if m in prepared}
    return names, init_dirs


def with_brought(cfgs: list[RunConfig], prepared: dict[str, tuple[str, str]]) -> list[RunConfig]:
    """The cells of brought models under their pinned names, with their weights folder."""
    out = []
    for cfg in cfgs:
        if cfg.model in prepared:
            name, folder = prepared[cfg.model]
            cfg = validate(replace(cfg, model=name, init_dir=folder), check_install=False)
        out.append(cfg)
    return out


@dataclass(frozen=True)
class BroughtRequest:
    backend: str
    model: str  # the reference as the user gave it
    seeds: list[int]
    into: str  # the folder its checked initial weights go to
    dataset: str | None = None  # a --data npz:/synthetic: value (None: MNIST)


def main(argv=None) -> int:
    (path,) = child_args("suite.training.brought", argv, "REQUEST")
    r = read_request(BroughtRequest, path)
    select_backend(r.backend, device="cpu", threads=0)
    try:
        card = prepare(r.model, r.seeds, Path(r.into), r.backend, r.dataset)
    except SuiteError as e:
        print(e, file=sys.stderr)
        return 2
    print(json.dumps(asdict(card)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
