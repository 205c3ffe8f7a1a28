"""How far apart two arrays, or two sets of gradients, are, and whether that is within
the tolerance of their dtype (``suite.core.schemas.TOLERANCE``): pure numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.core.schemas import ELEM_FLOOR, TOLERANCE


@dataclass(frozen=True)
class Diff:
    max_abs: float
    rel: float  # max|a-b| / max|b|
    cosine: float
    elem: float = 0.0  # max_i |a_i-b_i| / (|b_i| + ELEM_FLOOR max|b|)


def compare_arrays(a, b, scale: float | None = None) -> Diff:
    """Max absolute difference, difference relative to b's max magnitude (or to
    ``scale``, where a caller judges b on a larger scale), cosine."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        return Diff(float("inf"), float("inf"), 0.0)
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    if scale is None:
        scale = float(np.max(np.abs(b))) if b.size else 0.0
    rel = diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    cosine = float(a @ b / norms) if norms > 0 else (1.0 if diff == 0 else 0.0)
    if scale > 0:
        elem = float(np.max(np.abs(a - b) / (np.abs(b) + ELEM_FLOOR * scale)))
    else:
        elem = rel
    return Diff(diff, rel, cosine, elem)


def _peak(a) -> float:
    return float(np.max(np.abs(a))) if np.size(a) else 0.0


def vanishing(ga, gb, overall_scale: float, rel: float) -> bool:
    """A variable whose gradient is zero in exact arithmetic comes out as rounding noise
    on each side (an attention key bias: softmax ignores a constant added to all of a
    query's scores, so the key bias gets no gradient), and its own max|b| is no scale to
    judge by. Such a variable, below ``rel`` x the whole gradient's max on both sides,
    is judged on the whole gradient's scale: at that size it cannot move a step."""
    limit = rel * overall_scale
    return overall_scale > 0 and _peak(ga) <= limit and _peak(gb) <= limit


def compare_gradients(
    ga: dict, gb: dict, vanishing_rel: float | dict = 0.0
) -> tuple[dict[str, Diff], Diff, list[str]]:
    """Per-variable and overall (all gradients concatenated) diffs, and structural
    problems. With ``vanishing_rel`` (the dtype's relative tolerance), a variable whose
    gradient is below it times the whole gradient's max on both sides is judged on
    that scale (``vanishing``); a dict gives each variable its own bound."""
    problems = [f"variable {k} missing on one side" for k in sorted(set(ga) ^ set(gb))]
    common = sorted(set(ga) & set(gb))
    same = [k for k in common if np.shape(ga[k]) == np.shape(gb[k])]
    overall = compare_arrays(
        np.concatenate([np.ravel(ga[k]) for k in same] or [[]]),
        np.concatenate([np.ravel(gb[k]) for k in same] or [[]]),
    )
    whole = max((_peak(gb[k]) for k in same), default=0.0)
    per_var = {}
    for k in common:
        if np.shape(ga[k]) != np.shape(gb[k]):
            problems.append(f"{k}: shape {np.shape(ga[k])} vs {np.shape(gb[k])}")
        rel = vanishing_rel.get(k, 0.0) if isinstance(vanishing_rel, dict) else vanishing_rel
        if rel and vanishing(ga[k], gb[k], whole, rel):
            # the direction of rounding noise means nothing: its size alone is judged
            d = compare_arrays(ga[k], gb[k], scale=whole)
            per_var[k] = Diff(d.max_abs, d.rel, 1.0, d.elem)
        else:
            per_var[k] = compare_arrays(ga[k], gb[k])
    return per_var, overall, problems


def verdict(diffs: list[Diff], problems: list[str], dtype: str | dict) -> bool:
    """True when every diff is within the tolerance (a dtype's ``TOLERANCE``, or the
    bounds themselves) and nothing is missing; a bound that is None is not judged."""
    tol = TOLERANCE[dtype] if isinstance(dtype, str) else dtype
    return not problems and all(
        d.rel <= tol["rel"]
        and (tol["cosine"] is None or d.cosine >= tol["cosine"])
        and (tol["elem"] is None or d.elem <= tol["elem"])
        for d in diffs
    )
