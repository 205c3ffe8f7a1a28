"""Every result file's schema: its name, its version, its shape check and, for the small
records, its frozen dataclass. Readers (the report, compare's resume, diff) import
this module alone, never the modules that write the files (pyperf keeps one result
model the same way). Run results, the largest, have their dataclasses in
``suite.core.results``.

Versions: run 2; grads 2 (float64 judged per model from its own computation);
sweep 2 (modes trained in rounds, paired CIs, the winner's margin); rounds 1;
portability 1; recipe 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from suite.core.errors import SuiteError
from suite.core.recipes import RECIPES

RUN = "keras-backend-suite/run"
RUN_VERSION = 2
GRADS = "keras-backend-suite/grads"
GRADS_VERSION = 2
SWEEP = "keras-backend-suite/sweep"
SWEEP_VERSION = 2
ROUNDS = "keras-backend-suite/rounds"
ROUNDS_VERSION = 1
PORTABILITY = "keras-backend-suite/portability"
PORTABILITY_VERSION = 1
RECIPE = "keras-backend-suite/recipe"
RECIPE_VERSION = 1
PRECISION = "keras-backend-suite/precision"  # compare --precision P --max-time T
PRECISION_VERSION = 1
STARTUP = "keras-backend-suite/startup"  # python -m suite startup
STARTUP_VERSION = 1
FITS = "keras-backend-suite/fits"  # compare --batch-sizes ... --memory-limit SIZE
FITS_VERSION = 1
VERSION_SETS = "keras-backend-suite/versions"  # python -m suite versions: its environments
VERSION_SETS_VERSION = 1


def finite(value) -> bool:
    """A JSON number the report can compute with (not bool, not NaN, not 10**400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _text(v) -> bool:
    return isinstance(v, str)


def _numbers(v) -> bool:
    """An object of finite numbers."""
    return isinstance(v, dict) and all(finite(x) for x in v.values())


def _diff(v) -> bool:
    """A grads Diff: max_abs, rel (may be infinite for a shape mismatch) and cosine."""
    return isinstance(v, dict) and all(
        finite(v.get(k)) or v.get(k) == float("inf") for k in ("max_abs", "rel", "cosine")
    )


def _objects(data: dict, key: str, fields: dict) -> str | None:
    """``data[key]`` must be a list of objects whose ``fields`` pass their checks."""
    items = data.get(key)
    if not isinstance(items, list):
        return f"{key} must be a list"
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"{key}[{i}] must be an object"
        for name, ok in fields.items():
            if not ok(item.get(name)):
                return f"{key}[{i}].{name} is missing or of the wrong type"
    return None


GRADS_ROW = {
    "model": _text,
    "dtype": _text,
    "status": _text,
    "judged_as": _text,
    "loss": _diff,
    "logits": _diff,
    "overall": _diff,
    "worst_variable_rel": finite,
}

TRAJECTORY_ROW = {
    "model": _text,
    "optimizer": _text,
    "a": _text,
    "b": _text,
    "weight_rel": _numbers,
    "loss_abs_diff_max": finite,
}


def grads_problem(data: dict) -> str | None:
    """What makes a grads file unusable for the report, or None."""
    for key in ("settings", "weights_identical", "float64_precision"):
        if not isinstance(data.get(key), dict):
            return f"{key} must be an object"
    return (
        _objects(data, "pairs", {**GRADS_ROW, "a": _text, "b": _text})
        or _objects(data, "reference", {**GRADS_ROW, "backend": _text})
        or _objects(data, "trajectory", TRAJECTORY_ROW)
    )


def sweep_problem(data: dict) -> str | None:
    """What makes a sweep file unusable for the report, or None."""
    for key in ("overhead", "margin"):
        o = data.get(key)
        if o is not None and not (isinstance(o, dict) and finite(o.get("ratio"))):
            return f"{key} must be null or an object with a finite ratio"
    if not (_text(data.get("backend")) and _text(data.get("model"))):
        return "backend and model must be names"
    return _objects(data, "modes", {"mode": _text, "status": _text})


def rounds_problem(data: dict) -> str | None:
    """What makes a rounds log unusable for the report, or None."""
    schedules = data.get("schedules")
    if not isinstance(schedules, list) or not all(isinstance(s, dict) for s in schedules):
        return "schedules must be a list of objects"
    turn = {"wall_s": finite, "waiting_cpu_s": _numbers}
    return next((p for s in schedules if (p := _objects(s, "turns", turn))), None)


def precision_problem(data: dict) -> str | None:
    """What makes a precision record unusable for the report, or None: the target
    half-width (a fraction), the time limit, the runs made and why they stopped."""
    target, limit, runs = data.get("target"), data.get("max_time_s"), data.get("runs")
    if not (finite(target) and 0 < target < 1):
        return "target must be a fraction between 0 and 1"
    if not (finite(limit) and limit > 0):
        return "max_time_s must be a positive number"
    if not (isinstance(runs, int) and runs >= 1 and finite(data.get("wall_s"))):
        return "runs must be a positive count and wall_s a number"
    if not _text(data.get("stopped")):
        return "stopped must say why the runs stopped"
    return None


STARTUP_TIMES = ("import_s", "build_s", "first_step_s", "step_s", "total_s")


def startup_problem(data: dict) -> str | None:
    """What makes a start-up record unusable for the report, or None: every row names its
    backend, model, cache (cold or warm) and repeat, and carries positive timings."""
    rows = data.get("rows")
    if not isinstance(rows, list) or not rows:
        return "rows must be a non-empty list"
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or row.get("cache") not in ("cold", "warm"):
            return f"row {i}: cache must be cold or warm"
        if not (_text(row.get("backend")) and _text(row.get("model"))):
            return f"row {i}: backend and model must be named"
        if not isinstance(row.get("repeat"), int):
            return f"row {i}: repeat must be a count"
        bad = [k for k in STARTUP_TIMES if not (finite(row.get(k)) and row[k] > 0)]
        if bad:
            return f"row {i}: {bad[0]} must be a positive number of seconds"
    return None


def fits_problem(data: dict) -> str | None:
    """What makes a largest-batch record unusable for the report, or None."""
    rows = data.get("rows")
    if not isinstance(rows, list) or not rows:
        return "rows must be a non-empty list"
    if not (isinstance(data.get("steps"), int) and data["steps"] > 0):
        return "steps must be a positive count"
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("attempts"), list):
            return f"row {i}: attempts must be a list"
        if not (_text(row.get("backend")) and _text(row.get("model"))):
            return f"row {i}: backend and model must be named"
        if row.get("largest") is not None and not isinstance(row["largest"], int):
            return f"row {i}: largest must be a batch size or null"
    return None


def version_sets_problem(data: dict) -> str | None:
    """What makes a versions record unusable for the report, or None: every set has its
    label, and either an interpreter or the reason it has none."""
    sets = data.get("sets")
    if not isinstance(sets, list) or not sets:
        return "sets must be a non-empty list"
    for i, row in enumerate(sets):
        if not isinstance(row, dict) or not _text(row.get("label")):
            return f"set {i}: label must be named"
        if not (_text(row.get("python")) or _text(row.get("error"))):
            return f"set {i}: needs an interpreter or an error"
    return None


VERSIONS = {
    VERSION_SETS: VERSION_SETS_VERSION,
    GRADS: GRADS_VERSION,
    SWEEP: SWEEP_VERSION,
    ROUNDS: ROUNDS_VERSION,
    PRECISION: PRECISION_VERSION,
    STARTUP: STARTUP_VERSION,
    FITS: FITS_VERSION,
}
SHAPES = {
    VERSION_SETS: version_sets_problem,
    GRADS: grads_problem,
    SWEEP: sweep_problem,
    ROUNDS: rounds_problem,
    PRECISION: precision_problem,
    STARTUP: startup_problem,
    FITS: fits_problem,
}


def check_shape(path, data: dict) -> dict:
    """A grads, sweep, rounds, precision or start-up file's content, after its version and
    shape checks;
    SuiteError naming the file and the first problem."""
    schema = data.get("schema")
    if data.get("schema_version") != VERSIONS[schema]:
        raise SuiteError(f"{path}: unknown schema version {data.get('schema_version')!r}")
    problem = SHAPES[schema](data)
    if problem:
        raise SuiteError(f"{path}: malformed {schema} file ({problem})")
    return data


# -- gradient equivalence: what a reader needs to judge a grads file's rows ----------
# Largest allowed max|a-b| / max|b| for logits, loss and every gradient tensor, and
# smallest allowed cosine similarity. float32: the largest spread measured between
# backends on this suite's models was ~2e-6 relative (see README); 1e-4 leaves
# ~50x headroom and still flags a 1e-3 relative perturbation of one element.
# float64: agreement to ~1e-12 is expected; 1e-10 leaves headroom for reductions
# that sum in a different order.
# "elem" is element-wise, so a small element cannot hide under a large one: every
# |a_i - b_i| <= elem * (|b_i| + ELEM_FLOOR * max|b|), i.e. allclose with rtol = elem and
# atol = elem * ELEM_FLOOR * max|b| (float32: rtol 1e-3, atol 1e-5 max|b|). The worst
# element measured between backends was 1.8e-6 max|b| (cnn), 5x inside; an element
# 20,000x smaller than the largest and wrong by 100% passes max|a-b|/max|b| (5e-5) but
# scores 5e-3 here, 5x outside. Elements under ~1e-5 max|b| are below what float32 can
# tell apart from rounding of the sums that made the large ones.
BF16_U = 2.0**-8  # bfloat16's unit roundoff: 8 significant bits (float32: 2**-24)


def storage_dtype(dtype: str) -> str:
    """The dtype of a gradient check's variables and inputs: float32 under a mixed
    policy (its layers compute in the half type), else the dtype itself."""
    return "float32" if dtype.startswith("mixed_") else dtype


TOLERANCE = {
    "float32": {"rel": 1e-4, "cosine": 1 - 1e-6, "elem": 1e-3},
    "float64": {"rel": 1e-10, "cosine": 1 - 1e-12, "elem": 1e-9},
    # per weighted layer (see ``tolerance``); elementwise not judged
    "mixed_bfloat16": {"rel": 4 * BF16_U, "cosine": None, "elem": None},
}


def tolerance(dtype: str, layers: int = 1) -> dict:
    """The bounds a comparison in ``dtype`` is judged by. Under Keras' mixed_bfloat16
    every weighted layer rounds its output to bfloat16 on the way forward and its
    gradient on the way back (u = 2**-8 each, accumulation in float32): 2L roundings
    per side for L weighted layers, whose relative errors add to first order, so two
    backends agree within 4 L u (max|a-b|/max|b|), and the cosine within the
    1 - (4 L u)^2 / 2 such a difference gives. Elementwise it is not judged: a rounding
    error is relative to the terms an element sums, not to the element. The bound counts
    layers, not time steps (an LSTM rounds at every step) nor residual paths."""
    if dtype == "mixed_bfloat16":
        rel = TOLERANCE[dtype]["rel"] * max(layers, 1)
        return {"rel": rel, "cosine": 1 - rel**2 / 2, "elem": None}
    return TOLERANCE[dtype]


def weighted_layers(weights: dict) -> int:
    """Layers with a kernel (Dense, convolution, recurrent, attention projections) in a
    model's weights, keyed by variable path."""
    return len({p.rsplit("/", 1)[0] for p in weights if p.rsplit("/", 1)[-1].endswith("kernel")})


ELEM_FLOOR = 1e-2

NA = "n/a"  # float64 row that Keras computed in float32: measured, not judged

COMPILED = "compiled step"  # float32, one step of Keras' compiled train function


def grads_failures(report: dict) -> list[str]:
    """One line per failed comparison: the model, dtype, sides and the variable furthest
    past its bound (n/a rows excluded)."""
    out = []
    for r in report["pairs"] + report["reference"]:
        if r["status"] == NA or r["pass"]:
            continue
        if "a" in r:
            sides = f"{r['a']} vs {r['b']}"
        else:
            sides = f"{r.get('backend', '?')} vs {r.get('reference', 'numpy float64')}"
        past = past_bound(r)
        where = f": {past}" if past else ""
        out.append(f"{r.get('model', '?')} {r.get('dtype', '?')} {sides}{where}")
    return out


def past_bound(row: dict) -> str | None:
    """A comparison's worst variable in words, where it is past its own bound (rows
    written before per-variable bounds have none)."""
    worst = row.get("worst")
    if not worst or worst["rel"] <= worst["bound"]:
        return None
    return f"{worst['variable']} {worst['rel']:.1e} > bound {worst['bound']:.1e}"


# -- weights across backends ---------------------------------------------------------
@dataclass(frozen=True)
class Transfer:
    """One model's weights saved on ``source`` and loaded on ``target``."""

    model: str
    source: str
    target: str
    images: int
    max_abs_logit_diff: float
    max_abs_logit: float
    tolerance: float
    # test images whose predicted label differs: within tolerance this can only happen
    # where the top two logits are within 2 x tolerance of each other (a near tie)
    labels_differ: int
    verdict: str  # "pass" or "FAIL"
    # every variable as loaded equal, bit for bit, to the saving backend's (BatchNorm's
    # moving statistics too); None in files written before it was checked
    weights_identical: bool | None = None


def transfer_from_dict(data: dict) -> Transfer:
    try:
        row = Transfer(**data)
    except TypeError as e:
        raise SuiteError(f"malformed {PORTABILITY} row ({e})") from None
    numbers = [row.max_abs_logit_diff, row.max_abs_logit, row.tolerance]
    if row.verdict not in ("pass", "FAIL") or not all(finite(n) for n in numbers):
        raise SuiteError(f"malformed {PORTABILITY} row (verdict or numbers)")
    return row


def transfers_pass(rows: list[Transfer]) -> bool:
    return bool(rows) and all(r.verdict == "pass" for r in rows)


def portability_from_dict(data: dict) -> dict:
    """A portability file with its transfers read back as ``Transfer`` rows."""
    if data.get("schema_version") != PORTABILITY_VERSION or not isinstance(
        data.get("transfers"), list
    ):
        raise SuiteError(f"malformed {PORTABILITY} file (version or transfers)")
    try:
        return {**data, "transfers": [transfer_from_dict(t) for t in data["transfers"]]}
    except AttributeError as e:
        raise SuiteError(f"malformed {PORTABILITY} file ({e})") from None


# -- notebook recipes ----------------------------------------------------------------
@dataclass(frozen=True)
class RecipeResult:
    recipe: str
    backend: str
    device: str
    seed: int
    epochs: int
    train_examples: int  # images trained on per epoch
    test_examples: int
    accuracy: dict  # epoch -> test (or validation) accuracy, fraction
    final_accuracy: float
    published: float | None
    wall_seconds: float  # information only: includes compilation and evaluation
    environment: dict
    schema: str = RECIPE
    schema_version: int = RECIPE_VERSION


def recipe_result_from_dict(data: dict) -> RecipeResult:
    """A read-back recipe result; SuiteError naming the first problem if malformed."""
    try:
        accuracy = {int(k): float(v) for k, v in data["accuracy"].items()}
        result = RecipeResult(**{**data, "accuracy": accuracy})
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise SuiteError(f"malformed {RECIPE} file ({type(e).__name__}: {e})") from None
    numbers = [result.final_accuracy, *accuracy.values()]
    if result.recipe not in RECIPES or not all(0 <= a <= 1 for a in numbers):
        raise SuiteError(f"malformed {RECIPE} file (unknown recipe or accuracy outside 0..1)")
    return result


def newest_recipes(results: list[RecipeResult]) -> list[RecipeResult]:
    """Of results with the same recipe, backend, device, seed, epochs and data size, the
    newest (by its environment's timestamp) counts."""
    newest: dict[tuple, RecipeResult] = {}
    for r in results:
        key = (r.recipe, r.backend, r.device, r.seed, r.epochs, r.train_examples)
        stamp = str(r.environment.get("timestamp", ""))
        if key not in newest or stamp >= str(newest[key].environment.get("timestamp", "")):
            newest[key] = r
    return list(newest.values())
