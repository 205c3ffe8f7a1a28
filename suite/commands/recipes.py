"""``recipes``: the source notebooks' recipes; ``--compare`` runs them on every backend."""

from __future__ import annotations

from suite.commands import args as shared
from suite.commands.args import log
from suite.core.errors import SuiteError
from suite.core.platform import BACKENDS

NAME = "recipes"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="list the source notebooks' recipes; --compare runs them on every backend",
        description="Lists each notebook recipe with the notebook's own printed figure. "
        "With --compare, runs each recipe on every installed backend (one process "
        "each, `run --recipe NAME`) and prints the notebook's figure beside each "
        "backend's accuracy.",
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
    shared.add(p, "backends")
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
    from suite.core.children import python_module, run_child
    from suite.core.files import check_writable
    from suite.core.platform import installed_backends
    from suite.core.recipes import RECIPES
    from suite.report.collect import load_recipe_results
    from suite.report.tables import recipe_rows
    from suite.report.terminal import format_table

    names = args.names or list(RECIPES)
    shared.check_names("recipe", names, RECIPES)
    if args.epochs is not None and args.epochs <= 0:
        raise SuiteError(f"--epochs must be positive, got {args.epochs}")
    shared.check_names("backend", args.backends, BACKENDS)
    out = check_writable(args.out)
    backends = [b for b in args.backends if b in installed_backends()]
    code = 0
    for name in names:
        for backend in backends:
            log(f"recipe {name} on {backend} ...")
            cmd = python_module("suite", "run", "--recipe", name, "--backend", backend)
            cmd += ["--out", str(out)] + (["--data", args.data] if args.data else [])
            cmd += ["--epochs", str(args.epochs)] if args.epochs else []
            if run_child(cmd, f"recipe {name} on {backend}", log, f"  [{backend}] ", check=False):
                code = 1
                log(f"recipe {name} on {backend} failed")
    results = load_recipe_results([out])
    print(format_table(["recipe", "epochs", "notebook", *backends], recipe_rows(results, backends)))
    return code
