"""Mixed precision rows: per backend and model trained under a mixed dtype policy and in
float32 with otherwise the same settings (``compare --dtype-policy``), the mixed ÷
float32 throughput of training and of predict() with 95% CIs paired by round, the
accuracy difference paired by seed, and time to target of both. Pure functions."""

from __future__ import annotations

from suite.core.stats import paired_difference, speed_verdict
from suite.report.groups import (
    accuracy_by_seed,
    median_or_none,
    model_order,
    ok_runs,
    time_to_target_of,
    variant,
)
from suite.report.inference import predict_rates
from suite.report.layout import variant_parts
from suite.report.tables import ACCURACY_MARGIN, SPEED_THRESHOLD, speed_ratio


def _accuracy_difference(mixed: list, base: list):
    mine, theirs = accuracy_by_seed(mixed), accuracy_by_seed(base)
    seeds = sorted(set(mine) & set(theirs))
    if not seeds:
        return None
    return paired_difference([mine[s] for s in seeds], [theirs[s] for s in seeds], ACCURACY_MARGIN)


def _mean(values) -> float | None:
    v = list(values)
    return sum(v) / len(v) if v else None


def policy_rows(cells: dict) -> list[dict]:
    """One row per (backend, model, mixed variant) whose float32 twin is in ``cells``:
    ``throughput`` is the mixed ÷ float32 throughput ratio (> 1: the mixed policy is
    faster), training and predict(); ``half_support`` says when the device had no
    native units for the half type (None: it had)."""
    rows = []
    for (b, m, impl, var), runs in cells.items():
        mixed = ok_runs(runs)
        if impl != "keras" or not mixed:
            continue
        policy = mixed[0].config.get("dtype_policy", "float32")
        if policy == "float32":
            continue
        base_variant = variant({**mixed[0].config, "dtype_policy": "float32"})
        base = ok_runs(cells.get((b, m, impl, base_variant), []))
        if not base:
            continue
        train = speed_ratio(base, mixed)  # throughput mixed ÷ float32
        with_inference = [r for r in mixed if r.inference], [r for r in base if r.inference]
        predict = (
            speed_ratio(
                with_inference[1], with_inference[0], predict_rates, "predict_examples_per_s"
            )
            if all(with_inference)
            else None
        )
        rows.append(
            {
                "backend": b,
                "model": m,
                "variant": var,
                "base_variant": base_variant,
                "policy": policy,
                "throughput": train,
                "verdict": {"slower": "faster", "faster": "slower"}.get(
                    speed_verdict(train, SPEED_THRESHOLD), "indistinguishable"
                ),
                "predict": predict,
                "difference": _accuracy_difference(mixed, base),
                # means over seeds, as the paired difference beside them is a mean
                "accuracy_mixed": _mean(accuracy_by_seed(mixed).values()),
                "accuracy_base": _mean(accuracy_by_seed(base).values()),
                "tta_mixed": median_or_none([time_to_target_of(r) for r in mixed]),
                "tta_base": median_or_none([time_to_target_of(r) for r in base]),
                "seeds": len(mixed),
                "half_support": mixed[0].environment.get("half_support"),
                "epochs": mixed[0].config.get("epochs"),
            }
        )
    return sorted(rows, key=lambda r: (model_order(r["model"]), r["backend"], r["policy"]))


def policy_winners(cells: dict, speed: dict, process=None) -> dict[str, dict]:
    """Per model, a mixed policy's fastest backend against float32's fastest, paired by
    round: ``{"backend", "policy", "variant", "against", "ratio", "wins"}``, ``ratio``
    float32's winner's time ÷ the mixed winner's (> 1: the mixed configuration is
    faster), ``wins`` when that is ranked (CI above 1, beyond the threshold)."""
    out = {}
    for (model, var), rows in speed.items():
        if not rows:
            continue
        policy = variant_parts(var).get("dtype_policy")
        if policy in (None, "float32"):
            continue
        first = rows[0]["backend"]
        mixed = ok_runs(cells.get((first, model, "keras", var), []))
        base_var = variant({**mixed[0].config, "dtype_policy": "float32"}) if mixed else None
        base_rows = speed.get((model, base_var))
        if not mixed or not base_rows:
            continue
        other = base_rows[0]["backend"]
        base = ok_runs(cells.get((other, model, "keras", base_var), []))
        if not base:
            continue
        q = speed_ratio(base, mixed, process=process)
        best = out.get(model)
        if best is None or q.ratio > best["ratio"].ratio:
            wins = speed_verdict(q, SPEED_THRESHOLD) == "slower"
            out[model] = {
                "backend": first,
                "policy": policy,
                "variant": var,
                "against": other,
                "ratio": q,
                "wins": wins,
            }
    return out
