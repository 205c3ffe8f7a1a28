"""Check results of several folders made one: a report of folders that each checked other
models (``report A B``: one compare of softmax and mlp, another of the workloads) shows
every model's gradient and portability rows, not one folder's.

The first result (grads: of the highest seed; portability: the newest) is kept whole;
each other result adds the rows of the models it alone has, when it was made with the
same settings (grads: steps, batch size, seed; portability: its training images and
tolerance). A result with other settings is left out, as before: its rows would be read
under the first one's notes."""

from __future__ import annotations

GRADS_ROWS = ("pairs", "reference", "trajectory")
GRADS_SAME = ("steps", "batch_size", "seed")


def _models(rows: list[dict]) -> set[str]:
    return {r["model"] for r in rows}


def merge_grads(results: list[dict]) -> dict | None:
    """One gradient-check result from several (see the module's note)."""
    if not results:
        return None
    ordered = sorted(results, key=lambda g: g.get("settings", {}).get("seed", 0), reverse=True)
    base = {**ordered[0], "settings": dict(ordered[0].get("settings", {}))}
    for k in GRADS_ROWS:
        base[k] = list(base.get(k, []))
    base["float64_precision"] = {
        b: dict(m) for b, m in ordered[0].get("float64_precision", {}).items()
    }
    base["weights_identical"] = dict(ordered[0].get("weights_identical", {}))
    settings = base["settings"]
    for other in ordered[1:]:
        theirs = other.get("settings", {})
        if any(theirs.get(k) != settings.get(k) for k in GRADS_SAME):
            continue
        new = _models(other.get("pairs", []) + other.get("reference", [])) - set(
            settings.get("models", [])
        )
        if not new:
            continue
        for k in GRADS_ROWS:
            base[k] += [r for r in other.get(k, []) if r["model"] in new]
        settings["models"] = [*settings.get("models", []), *sorted(new)]
        settings["dtypes"] = list(dict.fromkeys([*settings.get("dtypes", []),
                                                 *theirs.get("dtypes", [])]))  # fmt: skip
        for b, per_model in other.get("float64_precision", {}).items():
            base["float64_precision"].setdefault(b, {}).update(
                {m: v for m, v in per_model.items() if m in new}
            )
        for b, ok in other.get("weights_identical", {}).items():
            base["weights_identical"][b] = base["weights_identical"].get(b, True) and ok
    return base


def _model(transfer) -> str:
    """A transfer's model (a ``suite.core.schemas.Transfer``, or its dict)."""
    return transfer["model"] if isinstance(transfer, dict) else transfer.model


def _models_of(result: dict) -> list[str]:
    """A portability result's models: as recorded, else in the order of its transfers."""
    return list(result.get("models") or dict.fromkeys(_model(t) for t in result["transfers"]))


def merge_portability(results: list[dict]) -> dict | None:
    """One portability result from several (see the module's note)."""
    if not results:
        return None
    ordered = sorted(results, key=lambda p: str(p.get("created")), reverse=True)
    if len(ordered) == 1:  # one result: as it was written
        return ordered[0]
    base = {**ordered[0], "models": _models_of(ordered[0])}
    base["transfers"] = list(ordered[0]["transfers"])
    merged = False
    for other in ordered[1:]:
        same = all(other.get(k) == base.get(k) for k in ("train_examples", "logit_rtol"))
        new = [m for m in _models_of(other) if m not in base["models"]]
        if same and new:
            base["transfers"] += [t for t in other["transfers"] if _model(t) in new]
            base["models"] += new
            merged = True
    if not merged:  # one result: as it was written
        return base
    # in the order the models were checked, oldest result first (the registry's, for a
    # compare of softmax and mlp and a later one of the workloads)
    first_seen = [m for r in reversed(ordered) for m in _models_of(r) if m in base["models"]]
    order = list(dict.fromkeys(first_seen))
    base["models"] = order
    base["transfers"] = sorted(base["transfers"], key=lambda t: order.index(_model(t)))
    return base
