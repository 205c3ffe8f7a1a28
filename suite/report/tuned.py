"""Each backend at its best beside its defaults (``compare --tuned``): per model, the
ranking when every backend trains in its best Keras mode, and how far that mode moved
each backend from its default. Pure functions over grouped results."""

from __future__ import annotations

from suite.core.config import RunConfig
from suite.core.stats import speed_verdict
from suite.report.groups import geomean, model_order, ok_runs, variant
from suite.report.layout import variant_parts
from suite.report.tables import SPEED_THRESHOLD, speed_ratio


def base_variant(config: dict) -> str:
    """The variant of the default cell a tuned cell is the twin of: its mode's settings
    back at RunConfig's defaults."""
    mode = variant_parts(config["tuned"])  # a sweep mode label: "jit=on"
    defaults = {k: RunConfig.__dataclass_fields__[k].default for k in mode}
    return variant({**config, **defaults, "tuned": None})


def tuned_rows(cells: dict) -> dict[tuple[str, str], list[dict]]:
    """(model, default variant) -> per backend, fastest first: its best mode ("default"
    where no mode beat it), examples/s, time ratio to the fastest tuned backend and the
    mode's gain over its own default (throughput tuned ÷ default), each paired by round.
    Only for (model, variant) groups with at least one tuned cell."""
    tuned: dict[tuple, dict[str, list]] = {}
    for (b, m, impl, _), runs in cells.items():
        ok = ok_runs(runs)
        if impl == "keras" and ok and ok[0].config.get("tuned"):
            tuned.setdefault((m, base_variant(ok[0].config)), {})[b] = ok
    out = {}
    for (m, base), per in sorted(tuned.items(), key=lambda kv: model_order(kv[0][0])):
        best = {}
        for (b, mm, impl, var), runs in cells.items():
            if mm == m and var == base and impl == "keras" and ok_runs(runs):
                best[b] = ("default", ok_runs(runs), ok_runs(runs))
        for b, runs in per.items():
            default = best.get(b, (None, [], []))[2]
            best[b] = (runs[0].config["tuned"], runs, default)
        geo = {
            b: geomean([r.throughput_examples_per_s for r in runs])
            for b, (_, runs, _) in best.items()
        }
        fastest = max(geo, key=geo.get)
        rows = []
        for b in sorted(geo, key=lambda b: -geo[b]):
            mode, runs, default = best[b]
            ratio = None if b == fastest else speed_ratio(runs, best[fastest][1])
            gain = speed_ratio(default, runs) if mode != "default" and default else None
            rows.append(
                {
                    "backend": b,
                    "model": m,
                    "variant": base,
                    "mode": mode,
                    "examples_per_s": geo[b],
                    "ratio": ratio,
                    "verdict": "fastest"
                    if ratio is None
                    else speed_verdict(ratio, SPEED_THRESHOLD),
                    "gain": gain,
                    "seeds": len(runs),
                }
            )
        out[(m, base)] = rows
    return out
