"""The verdict a chooser reads first: per workload the backend to use, by how much it
is faster than the next, the accuracy in words and the time to target; and the one line
of conditions the verdict holds under. Pure functions over ``build_report``'s data."""

from __future__ import annotations

from dataclasses import dataclass

from suite.core.platform import traits
from suite.core.schemas import NA, past_bound
from suite.core.stats import SPEED_THRESHOLD
from suite.report.aa import NOT_RANKABLE
from suite.report.layout import (
    difference_kind,
    label,
    num,
    seeds_words,
    signed,
    variant_parts,
)
from suite.report.tables import ACCURACY_MARGIN


@dataclass(frozen=True)
class Verdict:
    workload: str
    use: str  # a backend, or "a or b" where the data cannot separate them
    speed: str
    accuracy: str
    time_to_target: str
    gradients: str
    inference: str = "not measured"
    tuned: str = ""  # with compare --tuned: the ranking with every backend at its best
    key: tuple[str, str] = ("", "")  # its (model, variant) group


def _times(q) -> str:
    """A time ratio as "N× [low, high]"."""
    if q.runs:
        return "runs disagree: " + ", ".join(f"{x:.2f}×" for x in q.runs)
    if q.low is None:
        return f"{q.ratio:.2f}× (no CI: {q.n} unit)"
    return f"{q.ratio:.2f}× [{q.low:.2f}, {q.high:.2f}]"


def speed_words(rows: list[dict]) -> tuple[str, str]:
    """(backend to use, how much faster it is than the next) from ``speed_rows``
    (fastest first). Backends the data cannot separate from the fastest are named
    together and called indistinguishable here."""
    if not rows:
        return "-", "no throughput measured"
    if len(rows) == 1:
        return rows[0]["backend"], "only backend measured"
    first = rows[0]["backend"]
    split = [r for r in rows[1:] if r["ratio"] is not None and r["ratio"].runs]
    held = [r for r in rows[1:] if r["verdict"] == NOT_RANKABLE]
    ties = [r for r in rows[1:] if r["verdict"] == "indistinguishable" and r not in split]
    slower = [r for r in rows[1:] if r["verdict"] == "slower"]
    parts = [f"indistinguishable here from {r['backend']} ({_times(r['ratio'])})" for r in ties]
    parts += [
        f"not ranked against {r['backend']}: {_times(r['ratio'])} in separate runs" for r in split
    ]
    parts += [
        f"not ranked against {r['backend']} ({_times(r['ratio'])}: within the A/A)" for r in held
    ]
    ties += split + held
    if slower:
        q, nxt = slower[0]["ratio"], slower[0]["backend"]
        ci = "(no CI)" if q.low is None else f"[{q.low:.2f}, {q.high:.2f}]"
        parts.append(f"{first + ' ' if ties else ''}{q.ratio:.2f}× faster than {nxt} {ci}")
    return " or ".join([first] + [r["backend"] for r in ties]), "; ".join(parts)


def accuracy_words(rows: list[dict], model: str, var: str) -> str:
    """The accuracy of every backend against the fastest's, in words: identical,
    equivalent within the margin, differs (the CI excludes 0), or not shown equivalent
    (and why: too few seeds for the margin)."""
    mine = [r for r in rows if r["model"] == model and r["variant"] == var]
    if mine and all(r["n"] == 0 for r in mine):
        return "no test accuracy (synthetic data)"
    state = learning_state(mine)
    if state:
        return state
    diffs = [r for r in mine if r["difference"] is not None]
    if not diffs:
        return "one backend: nothing to compare"
    margin = f"±{ACCURACY_MARGIN * 100:.1f} points"
    ds = [r["difference"] for r in diffs]
    kinds = [difference_kind(d) for d in ds]
    if "one seed" in kinds:
        return "1 seed: cannot tell (needs at least 2)"
    n = min(d.n for d in ds)
    if set(kinds) == {"identical"}:
        return f"identical on {seeds_words(n)}"
    differ = [r for r, kind in zip(diffs, kinds, strict=True) if kind == "differs"]
    if differ:
        return "differs: " + "; ".join(
            f"{r['backend']} {signed(r['difference'].mean * 100)} points vs {r['reference']} "
            f"[{signed(r['difference'].low * 100)}, {signed(r['difference'].high * 100)}]"
            for r in differ
        )
    if set(kinds) <= {"identical", "equivalent"}:
        return f"equivalent within {margin} ({n} seeds)"
    widest = max(ds, key=lambda d: d.high - d.low)
    return (
        f"no difference seen; {n} seeds too few to show equivalence within {margin} "
        f"(widest CI [{signed(widest.low * 100)}, {signed(widest.high * 100)}])"
    )


# below this mean test accuracy a cell learned nothing: twice chance on MNIST's ten
# classes (a constant predictor of its most frequent class scores 11.35%)
DID_NOT_LEARN = 0.2


def learning_state(rows: list[dict]) -> str | None:
    """Whether the accuracies compare anything: a backend at chance did not learn; every
    backend below its target is still learning (its accuracy shown, not judged). None
    when they are comparable (some or all at target: a miss beside a hit is judged)."""
    measured = [r for r in rows if r.get("mean") is not None]
    if not measured:
        return None
    low = min(measured, key=lambda r: r["mean"])
    if low["mean"] < DID_NOT_LEARN:
        return (
            f"did not learn ({low['backend']} {low['mean'] * 100:.1f}%): accuracy compares nothing"
        )
    targets = [r for r in measured if r["target"] is not None]
    if targets and len(targets) == len(measured) and not any(r["reached"] for r in targets):
        high = max(measured, key=lambda r: r["mean"])
        span = f"{low['mean'] * 100:.0f}%"
        if high["mean"] - low["mean"] >= 0.005:
            span += f"–{high['mean'] * 100:.0f}%"
        return f"still learning ({span}; target {targets[0]['target'] * 100:.1f}%): not judged"
    return None


def target_words(rows: list[dict], accuracy: list[dict], backend: str) -> str:
    """Time to the target test accuracy of ``backend`` (median over the seeds that
    reached it), or why there is none."""
    row = next((r for r in rows if r["backend"] == backend), None)
    acc = next((a for a in accuracy if a["backend"] == backend), None)
    if row is None:
        return "-"
    if acc is not None and acc["target"] is None:
        return "no target (not a registry model)"
    word = row.get("runs_word", "seeds")
    if not row["reached"]:
        return f"not reached (0/{row['seeds']} {word})"
    return f"{num(row['time_to_accuracy_s'])} s ({row['reached']}/{row['seeds']} {word})"


def _next_words(best: dict, other: dict | None, ratio: str, verdict: str, lower: str) -> str:
    """How ``best`` stands against the next backend ``other`` by one inference ratio."""
    if other is None:
        return ""
    if other[verdict] == "slower":
        return f", {_times(other[ratio])} {lower} than {other['backend']}"
    return f", indistinguishable here from {other['backend']} ({_times(other[ratio])})"


def inference_words(rows: list[dict]) -> str:
    """The backend with the fastest predict() and the one with the lowest single-example
    latency (median, p99), each against the next, from ``inference_rows``."""
    if not rows:
        return "not measured"
    first = rows[0]
    second = rows[1] if len(rows) > 1 else None
    by_latency = sorted(rows, key=lambda r: r["single_median_ms"])
    low, runner = by_latency[0], (by_latency[1] if len(by_latency) > 1 else None)
    return (
        f"predict() {first['backend']}"
        + _next_words(first, second, "predict_ratio", "predict_verdict", "faster")
        + f"; one example {low['backend']} {num(low['single_median_ms'])} ms "
        f"(p99 {num(low['single_p99_ms'])})"
        + _next_words(low, runner, "single_ratio", "single_verdict", "lower")
    )


def gradient_words(grads: dict | None, model: str, policy: str = "float32") -> str:
    """Do the backends compute the same loss and gradients for ``model``? A float32
    workload is answered by the float32 and float64 checks, a mixed one also by its
    policy's."""
    if not grads:
        return "not checked"
    pairs = [
        p
        for p in grads["pairs"]
        if p["model"] == model and (not p["dtype"].startswith("mixed_") or p["dtype"] == policy)
    ]
    if not pairs:
        return "not checked"
    failed = [p for p in pairs if p["status"] != NA and not p["pass"]]
    if not failed:
        return "agree"
    worst = max(failed, key=lambda p: p["overall"]["rel"])
    where = past_bound(worst) or f"{worst['overall']['rel']:.1e} relative"
    pair = f"{worst['a']} vs {worst['b']} in {worst['dtype']}"
    if worst["status"].startswith("differs: "):  # a named difference (name_half_sums)
        return f"{worst['status']} ({pair}, {where}; see Gradient equivalence)"
    return f"differ: {pair}, {where} (see Gradient equivalence)"


def tuned_words(default: list[dict], tuned: list[dict]) -> str:
    """With every backend in its best mode: who wins, by how much, and whether tuning
    changed the winner of the defaults' ranking."""
    if not tuned:
        return ""
    use, speed = speed_words(tuned)
    modes = ", ".join(f"{r['backend']} {r['mode']}" for r in tuned)
    before, _ = speed_words(default)
    change = (
        f"tuning changes the winner (defaults: {before})"
        if use != before
        else "same winner as at the defaults"
    )
    return f"{use}: {speed}; {change}. Modes: {modes}"


def verdict_rows(d: dict, grads: dict | None) -> list[Verdict]:
    """One verdict per workload (model and variant) of a device group; a tuned cell's
    group is not a workload of its own: it enters its defaults' verdict as ``tuned``. A
    workload whose A/A control failed (``suite.report.aa``), or whose rounds were
    mostly disturbed (``suite.report.noise.disturbed``), is not ranked: its speed says
    why."""
    out = []
    for (model, var), rows in d["speed"].items():
        if "tuned" in variant_parts(var):
            continue
        use, speed = speed_words(rows)
        if (model, var) in d.get("aa_reach", {}):
            reach = d["aa_reach"][(model, var)]["words"]
            if not any(r["verdict"] == "slower" for r in rows):
                use, speed = NOT_RANKABLE, f"{NOT_RANKABLE} here: {reach}"
            else:
                speed += f"; A/A failed ({reach}): only larger differences are ranked"
        if (model, var) in d.get("disturbed", {}):  # the cause, before its effect
            use, speed = "not ranked", d["disturbed"][(model, var)]
        accuracy = [a for a in d["accuracy"] if a["model"] == model and a["variant"] == var]
        out.append(
            Verdict(
                label(d, model, var),
                use,
                speed,
                accuracy_words(d["accuracy"], model, var),
                target_words(rows, accuracy, rows[0]["backend"]) if rows else "-",
                gradient_words(grads, model, variant_parts(var).get("dtype_policy", "float32")),
                inference_words(d.get("inference", {}).get((model, var), [])),
                tuned_words(rows, d.get("tuned", {}).get((model, var), [])),
                (model, var),
            )
        )
    return out


def _gib(n: int | None) -> str:
    return "RAM unknown" if not n else f"{n / 2**30:.0f} GiB RAM"


def mode_words(backend: str, jit: bool | None) -> str:
    """How Keras ran a backend's train step: XLA-compiled, a TensorFlow graph without
    XLA (Keras' "auto" on a CPU-only machine), or eager torch."""
    if jit is None:
        return "jit unknown"
    if jit:
        return "XLA-compiled"
    return traits(backend).jit_off


def conditions_text(c: dict, sweeps: list[dict]) -> str:
    """The one line a verdict holds under: machine, versions, each backend's Keras
    mode, the recipes' batch and optimizer, run dates, and how far a tuned mode moved
    a backend where a sweep measured it (``c`` from ``build.conditions``)."""
    flags = c["vector_flags"]
    vector = "vector units not recorded" if flags is None else " ".join(flags) or "no AVX"
    gpu = c["gpu"] or "no GPU"
    machine = f"{c['cpu']}, {c['cores']} logical cores, {_gib(c['memory_bytes'])}, {vector}; {gpu}"
    modes = "; ".join(
        f"{b} {v['version']} ({mode_words(b, v['jit'])}, steps_per_execution "
        f"{v['steps_per_execution']}, {v['threads']} threads)"
        for b, v in c["backends"].items()
    )
    recipes = "; ".join(
        f"{m}: {r['epochs']} epoch{'s' if r['epochs'] != 1 else ''}"
        + (f" on {r['train_examples']:,} images" if r.get("train_examples") else "")
        + f", batch {r['batch_size']}, {r['optimizer']} {r['learning_rate']:g}"
        for m, r in c["recipes"].items()
    )
    dates = c["dates"][0] if c["dates"][0] == c["dates"][1] else "–".join(c["dates"])
    return (
        f"Measured on {machine}. keras {c['keras']} at its defaults per backend: {modes}. "
        f"{recipes}. {policy_words(c.get('policies') or {})}Trained {dates}. "
        f"{disturbed_words(c.get('disturbed') or [])}{tuned_text(sweeps)}"
    )


def disturbed_words(models: list[str]) -> str:
    """The conditions line's word on a busy machine: which workloads it left unranked."""
    if not models:
        return ""
    names = ", ".join(dict.fromkeys(models))
    return (
        f"Disturbed: other work used the machine during most rounds of {names}, so "
        "those are not ranked (Machine noise has the figures). "
    )


def policy_words(policies: dict) -> str:
    """The dtype policies trained, and each one that ran without native units."""
    if list(policies) in ([], ["float32"]):
        return "Dtype policy float32. "
    parts = [p + (f" ({why})" if why else "") for p, why in policies.items()]
    return f"Dtype policies {', '.join(parts)}, never pooled. "


def tuned_text(sweeps: list[dict]) -> str:
    """How far each backend's best Keras mode moved it from its default, from sweeps."""
    moved = []
    for s in sweeps:
        modes = {m["mode"]: m for m in s["modes"] if m["impl"] == "keras"}
        best, base = modes.get(s.get("best_keras")), modes.get("default")
        gain = s.get("gain")
        if gain and gain["wins"] and gain["ci"][0] is not None:  # the sweep's paired figure
            moved.append(
                f"{s['backend']} {s['model']} with {gain['mode']} {gain['ratio']:.2f}× "
                f"[{gain['ci'][0]:.2f}, {gain['ci'][1]:.2f}] its default's throughput "
                f"(the sweep's paired rounds)"
            )
        elif not gain and best and base and best is not base and best["ms_per_step"]:
            moved.append(  # a sweep from before the paired gain was recorded
                f"{s['backend']} {s['model']} with {best['mode']} "
                f"{base['ms_per_step'] / best['ms_per_step']:.2f}× its default speed "
                "(the sweep's median step times)"
            )
    if not sweeps:
        return (
            "Rankings are at Keras' defaults; a tuned mode (jit, steps_per_execution) can move "
            "a backend, and no sweep in these folders measured how far "
            "(`python -m suite sweep`)."
        )
    if not moved:
        return (
            "Rankings are at Keras' defaults; the sweeps found no mode clearly faster than "
            f"the default (by {SPEED_THRESHOLD:.0%}, its paired interval above 1)."
        )
    return (
        "Rankings are at Keras' defaults; tuned modes measured by sweep: " + "; ".join(moved) + "."
    )


@dataclass(frozen=True)
class WorkloadVerdict:
    """One row per workload: the configuration to use and, each in a few words, why."""

    workload: str
    use: str  # backend, with the dtype policy when the mixed one pays for it
    speed: str  # the default variant's ranking: against the runner-up, with its CI
    inference: str
    mixed: str  # what mixed precision does here ("" when no mixed cells)
    mode: str  # each backend at its best (compare --tuned; "" when none)
    accuracy: str
    gradients: str


def _base(d: dict, model: str) -> str | None:
    """The model's float32 (default) variant that is not a tuned twin, if any; of a
    batch sweep's, the one at the recipe's batch size where there is one."""
    from suite.core.config import recipe_batch

    variants = [v for m, v in d["groups"] if m == model and "tuned" not in variant_parts(v)]
    plain = [v for v in variants if variant_parts(v).get("dtype_policy", "float32") == "float32"]
    recipe = str(recipe_batch(model))
    at_recipe = [v for v in plain if variant_parts(v).get("batch_size") == recipe]
    return (at_recipe or plain or variants or [None])[0]


def mixed_words(policies: list[dict]) -> str:
    """What the mixed policy does to each backend's training throughput, in a few words:
    the backends it makes faster (by how much), or that it is slower on all of them."""
    if not policies:
        return ""
    faster = [p for p in policies if p["verdict"] == "faster"]
    if faster:
        gains = ", ".join(f"{p['backend']} {num(p['throughput'].ratio)}×" for p in faster)
        return f"{faster[0]['policy']}: {gains} faster"
    if all(p["verdict"] == "slower" for p in policies):
        return f"{policies[0]['policy']} slower on every backend here"
    return f"{policies[0]['policy']}: no gain shown here"


def short_inference(rows: list[dict]) -> str:
    """Inference in a few words: the fastest predict() and the lowest one-example latency."""
    if not rows:
        return "not measured"
    low = min(rows, key=lambda r: r["single_median_ms"])
    if low["backend"] == rows[0]["backend"]:
        return f"{low['backend']} (predict() and one example)"
    return f"predict() {rows[0]['backend']}; one example {low['backend']}"


def short_speed(words: str) -> str:
    """``speed_words`` in fewer words: ties named without their ratios (the detail table
    has them), a failed A/A as the factor it differed by."""
    import re

    words = re.sub(r"(indistinguishable here from \S+) \([^()]*\)", r"\1", words)
    words = re.sub(r"; indistinguishable here from", ",", words)
    return re.sub(
        r"; A/A failed \(the same program differed by (\S+%).*: only larger differences are "
        r"ranked",
        r" (A/A off by \1: only larger gaps ranked)",
        words,
    )


def short_accuracy(words: str) -> str:
    """``accuracy_words`` without its figures, unless the backends differ."""
    if words.startswith("differs"):
        return words
    return words.split(";")[0].split(":")[0].split(" (")[0]


def short_mode(v: Verdict) -> str:
    """Each backend at its best: who wins then, and whether that changes the answer."""
    if not v.tuned:
        return ""
    use = v.tuned.split(":")[0]
    if "tuning changes the winner" in v.tuned:
        return f"{use} wins when tuned"
    return f"the same winner ({use})"


def workload_rows(d: dict) -> list[WorkloadVerdict]:
    """One row per model of a device group, from its per-variant ``verdict`` rows: the
    default (float32) variant's answer, unless a mixed policy's fastest backend is
    faster than float32's fastest (paired by round, ranked as any speed difference):
    then that backend with that policy, and by how much."""
    by_key = {v.key: v for v in d["verdict"]}
    out = []
    for model in d["models"]:
        base = _base(d, model)
        if base is None or (model, base) not in by_key:
            continue
        v = by_key[(model, base)]
        policies = [p for p in d.get("policies", []) if p["model"] == model]
        use, speed = v.use, short_speed(v.speed)
        best = d.get("policy_winners", {}).get(model)
        if best and best["wins"] and v.use not in (NOT_RANKABLE, "not ranked"):
            q, mixed = best["ratio"], by_key.get((model, best["variant"]))
            use = f"{best['backend']}, {best['policy']}"
            if best["against"] == best["backend"] and mixed is not None:
                speed = short_speed(mixed.speed)  # its ranking in that policy
            else:
                speed = (
                    f"{num(q.ratio)}× faster than {best['against']} in float32 "
                    f"[{num(q.low)}, {num(q.high)}]"
                )
        out.append(
            WorkloadVerdict(
                workload=model,
                use=use,
                speed=speed,
                inference=short_inference(d.get("inference", {}).get((model, base), [])),
                mixed=mixed_words(policies),
                mode=short_mode(v),
                accuracy=short_accuracy(v.accuracy),
                gradients=_gradients(v, [x for k, x in by_key.items() if k[0] == model]),
            )
        )
    return out


def _gradients(base: Verdict, variants: list[Verdict]) -> str:
    """The default variant's gradient verdict in a few words, and any other variant's
    (a mixed policy's) that differs, so a difference there is not hidden by the row."""

    def brief(v: Verdict) -> str:  # the verdict, without its figures and pointer
        return v.gradients.split(",")[0].split(" (")[0]

    words = brief(base)
    other = [v for v in variants if v is not base and not v.gradients.startswith(("agree", "not"))]
    for v in other:
        words += f"; {variant_parts(v.key[1]).get('dtype_policy', 'a variant')}: {brief(v)}"
    return words
