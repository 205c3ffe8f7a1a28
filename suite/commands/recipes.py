"""``recipes``: the source notebooks' recipes; ``--compare`` runs them on every backend."""

from __future__ import annotations

from suite.commands import args as shared
from suite.commands.args import log
from suite.core.data import TRAIN_IMAGES
from suite.core.errors import SuiteError
from suite.core.platform import BACKENDS

NAME = "recipes"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="list the source notebooks' recipes; --compare runs them on every backend",
        description="Lists each notebook recipe with the notebook's own printed figure. "
        "With --compare, runs each recipe on every installed backend (one process "
        "each) and prints the notebook's figure beside each backend's accuracy; "
        "`recipes --compare NAME --backends B` runs one recipe on one backend. Exit codes: "
        "0 every run finished; 1 one failed (the last line says which); 2 bad input.",
    )
    p.add_argument(
        "names", nargs="*", metavar="NAME", help="recipes to compare (default: all of them)"
    )
    p.add_argument(
        "--compare", action="store_true", help="run them on every backend (default: off)"
    )
    p.add_argument(
        "--epochs", type=int, help="override every recipe's epochs, for smoke runs (default: none)"
    )
    shared.add(p, "seeds")
    p.add_argument(
        "--train-examples",
        type=int,
        default=TRAIN_IMAGES,
        metavar="N",
        help="train on the first N of the recipe's images, for smoke runs (default: all)",
    )
    shared.add(p, "backends", "device")
    shared.add_out(p, "results/recipes")
    shared.add(p, "data")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from suite.core.recipes import RECIPES
    from suite.report.terminal import format_table

    if args.compare:
        return _compare(args)
    rows = [
        [
            r.name,
            r.notebook.split("_")[0],
            r.summary,
            f"{r.init}, {r.loss}, SGD lr={r.learning_rate:g}, batch {r.batch_size}, "
            f"{r.epochs} epochs{'' if r.shuffle else ', no shuffling'}",
            f"{r.published:.2%} ({r.published_what})" if r.published else r.published_what,
        ]
        for r in RECIPES.values()
    ]
    print(format_table(["recipe", "notebook", "what", "settings", "notebook's figure"], rows))
    return 0


def _compare(args) -> int:
    """Each recipe on each backend, one child process per backend, then the table."""
    from suite.core.config import DEVICES
    from suite.core.files import check_writable
    from suite.core.platform import installed_backends
    from suite.core.recipes import RECIPES
    from suite.measure.recipes import run_recipes
    from suite.report.collect import load_recipe_results
    from suite.report.tables import recipe_rows
    from suite.report.terminal import format_table

    names = args.names or list(RECIPES)
    shared.check_names("recipe", names, RECIPES)
    if args.epochs is not None and args.epochs <= 0:
        raise SuiteError(f"--epochs must be positive, got {args.epochs}")
    shared.check_names("backend", args.backends, BACKENDS)
    shared.check_names("device", [args.device], DEVICES)
    shared.check_seeds(args.seeds)
    shared.check_train_examples(args.train_examples)
    out = check_writable(args.out)
    shared.load_data(args.data)  # once here: the children read the cache
    backends = [b for b in args.backends if b in installed_backends()]
    code = run_recipes(names, backends, out, args.data, args.epochs, args.seeds,
                       args.train_examples, args.device, log)  # fmt: skip
    results = load_recipe_results([out])
    print(format_table(["recipe", "epochs", "notebook", *backends], recipe_rows(results, backends)))
    return code
