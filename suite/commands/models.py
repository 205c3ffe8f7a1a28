"""``models``: the registry, one line per model."""

from __future__ import annotations

NAME = "models"


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help="list the models, their size, FLOPs, target and recipe")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from models import MODELS
    from suite.report.terminal import format_table

    rows = [
        [
            s.name,
            f"{s.params:,}",
            f"{s.flops_per_example:,}",
            f"{s.train_flops_per_example:,}",
            f"{s.target_accuracy:.1%}",
            f"{s.recipe.optimizer} lr={s.recipe.learning_rate:g} batch={s.recipe.batch_size} "
            f"epochs={s.recipe.epochs}",
        ]
        for s in MODELS.values()
    ]
    headers = ["model", "parameters", "forward FLOPs/example", "training FLOPs/example"]
    print(format_table([*headers, "target", "recipe"], rows))
    return 0
