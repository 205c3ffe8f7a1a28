"""``recipes --compare``: each source notebook's recipe on every backend, one child
process per (recipe, backend) (``python -m suite.training.recipe REQUEST``), its
results in one new run folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

from suite.core.children import python_module, run_child
from suite.core.files import new_run_dir, write_request
from suite.core.recipes import get_recipe
from suite.training.recipe import RecipeRequest


def run_recipes(
    names, backends, out: Path, data, epochs, seeds, train_examples: int, device: str, log
) -> int:
    """Every recipe of ``names`` on every backend; 0, or 1 when one failed (said)."""
    run_dir = new_run_dir(out)
    code = 0
    with tempfile.TemporaryDirectory(prefix="suite-recipes-") as tmp:
        for name in names:
            recipe = get_recipe(name)
            for backend in backends:
                log(f"recipe {name} on {backend} ...")
                request = RecipeRequest(name, backend, device, list(seeds),
                                        epochs or recipe.epochs, train_examples, str(run_dir),
                                        data)  # fmt: skip
                path = write_request(Path(tmp) / f"{name}-{backend}.json", request)
                cmd = python_module("suite.training.recipe", path)
                what = f"recipe {name} on {backend}"
                if run_child(cmd, what, log, f"  [{backend}] ", check=False):
                    code = 1
                    log(f"{what} failed")
    return code
