"""The report's sections after the per-device ones: scaling over devices, execution
modes (sweeps), gradient equivalence, weights across backends and notebook recipes."""

from __future__ import annotations

from suite.core.platform import BACKENDS
from suite.core.recipes import RECIPES
from suite.core.schemas import NA, transfers_pass
from suite.report.grads import VERDICT_NOTE, grads_notes, grads_tables
from suite.report.layout import Section, Table, ratio_text
from suite.report.tables import recipe_rows, transfer_table

GRADS_NOTE = (
    "Same weights, same batch: each backend's logits, loss and gradients with its own "
    "autodiff, every pair compared and each backend against float64 numpy references. "
    "*pass*: logits, loss and every gradient within max|a−b|/max|b| ≤ 1e-4, cosine ≥ "
    "1 − 1e-6 and, element by element, |a−b| ≤ 1e-3 (|b| + 0.01 max|b|) in float32 "
    "(1e-10, 1 − 1e-12, 1e-9 in float64). Under Keras' *mixed_bfloat16* policy (on "
    "request: `grads --dtypes mixed_bfloat16`, or `compare --dtype-policy mixed_bfloat16`) "
    "the bound comes from bfloat16's 8 significant bits, unit roundoff u = 2^−8 ≈ 3.9e-3: "
    "each of a model's L weighted layers rounds its output forward and its gradient "
    "backward, 2L roundings per side, so two backends must agree within max|a−b|/max|b| ≤ "
    "4Lu (softmax 1.6e-2, a 3-layer MLP 4.7e-2) and cosine ≥ 1 − (4Lu)²/2; elementwise "
    "it is not judged, and the count leaves out time steps and residual paths. "
    "*compiled step* rows check the code that is "
    "timed: one step of Keras' own compiled train function (what `fit()` runs; XLA on JAX "
    "and TensorFlow), SGD, dropout off, its applied gradient read back as (W0 − W1)/lr, "
    "compared across backends and, as *compiled vs eager*, with the same backend's "
    "autodiff above. The weight trajectories are information only: "
    "float32 rounding differences grow with training by design, so no bound is claimed. "
    + VERDICT_NOTE
)


def grads_summary(g: dict) -> str:
    """The gradient check in one line: every comparison passes, or which fail."""
    judged = [p for p in g["pairs"] + g["reference"] if p["status"] != NA]
    failed = [p for p in judged if not p["pass"]]
    if not failed:
        return (
            f"All {len(judged)} comparisons pass: same weights and batch give the same loss "
            "and gradients on every backend."
        )
    shown = ", ".join(
        f"{p['model']} {p.get('a', p.get('backend'))} vs {p.get('b', 'numpy')} {p['dtype']} "
        f"({p['overall']['rel']:.1e})"
        for p in sorted(failed, key=lambda p: -p["overall"]["rel"])[:4]
    )
    more = f" and {len(failed) - 4} more" if len(failed) > 4 else ""
    return f"{len(failed)} of {len(judged)} comparisons FAIL: {shown}{more}."


def grads_section(g: dict) -> Section:
    return Section(
        "Gradient equivalence",
        2,
        [GRADS_NOTE, *grads_notes(g)[:2]],
        tables=[Table(h, rows, title) for title, h, rows in grads_tables(g)],
        figures=["grads_heatmap", "trajectory"],
        summary=grads_summary(g),
    )


SCALING_NOTE = (
    "Data-parallel training with each backend's own engine (JAX `keras.distribution."
    "DataParallel`, TensorFlow `MirroredStrategy` with Keras `fit()`, torch "
    "`DistributedDataParallel` in a torch loop following Keras' guide: not `fit()`), the "
    "global batch split into equal shards. *Ratio* is N-device throughput over 1-device "
    "throughput with the same settings and loop (torch: its DDP loop on one rank), "
    "*efficiency* is ratio ÷ N; the 95% interval is paired by round where both trained "
    "in the same rounds (`compare --devices N` runs both), else a Welch interval over runs "
    "(seeds). These groups are never ranked against single-device ones. *Hosts* above 1 "
    "are `run --hosts H`: H processes on one machine over 127.0.0.1 with each backend's "
    "multi-host engine (JAX `jax.distributed` with gloo, TensorFlow "
    "`MultiWorkerMirroredStrategy` in the suite's loop, torch DDP over a tcp rendezvous), "
    "each on its own share of the cores; N counts every host's devices, and host groups "
    "are never ranked against single-host ones."
)

CPU_SCALING = (
    "On a CPU the N devices are virtual (XLA host devices, TensorFlow logical devices, N "
    "gloo processes) sharing the same cores: this measures the engines' overhead, not "
    "speed-up, and efficiency below 1 is expected."
)


def scaling_section(rows: list[dict], key: str) -> Section:
    body = [
        [
            r["model"],
            r["backend"],
            str(r["hosts"]),
            str(r["devices"]),
            r["engine"],
            f"{r['throughput_1']:,.0f}",
            f"{r['throughput_n']:,.0f}",
            ratio_text(r["ratio"]),
            ratio_text(r["efficiency"]),
            f"{r['runs'][0]} / {r['runs'][1]}",
        ]
        for r in rows
    ]
    headers = [
        "model",
        "backend",
        "hosts",
        "devices (all hosts)",
        "engine",
        "1 device, examples/s",
        "N devices, examples/s",
        "ratio N÷1",
        "efficiency",
        "runs (1 / N)",
    ]
    notes = [SCALING_NOTE] + ([CPU_SCALING] if key.startswith("cpu") else [])
    return Section("Scaling over devices", 3, notes, tables=[Table(headers, body)])


def sweeps_section(sweeps: list[dict]) -> Section:
    def ratio(o):
        if not o:
            return "-"
        if o["ci"][0] is None:
            return f"{o['ratio']:.2f} (no CI)"
        words = " (indistinguishable here)" if o["verdict"] == "indistinguishable" else ""
        return f"{o['ratio']:.2f} [{o['ci'][0]:.2f}, {o['ci'][1]:.2f}]{words}"

    return Section(
        "Keras vs native, and each backend's best mode",
        2,
        paragraphs=[
            "`sweep` trains every execution mode of one backend side by side in rounds, "
            "as `compare` trains backends, so each ratio here is a time ratio with a 95% "
            "CI paired by round. *Margin*: the runner-up Keras mode's time ÷ the winner's. "
            "*Keras ÷ native*: the best Keras mode's time ÷ the best native mode's (> 1: "
            "Keras is slower; < 1: the native baseline is the weaker program)."
        ],
        tables=[
            Table(
                [
                    "backend",
                    "model",
                    "best Keras mode",
                    "margin over runner-up",
                    "best native mode",
                    "Keras ÷ native",
                ],
                [
                    [
                        s["backend"],
                        s["model"],
                        s["best_keras"] or "-",
                        (f"{s['margin']['runner_up']}: " + ratio(s["margin"]))
                        if s.get("margin")
                        else "-",
                        s["best_native"] or "-",
                        ratio(s["overhead"]),
                    ]  # fmt: skip
                    for s in sweeps
                ],
            )
        ],
    )


PORTABILITY_NOTE = (
    "Keras 3 writes `.weights.h5` in one format on every backend. Each backend trained "
    "every model for one epoch on the first {n:,} training images from the shared initial "
    "weights and saved them; every other backend loaded the file into a fresh model and "
    "predicted the 10,000 test images. *pass*: every logit within {rtol:g} × max(1, "
    "max|logit|) of the saving backend's own prediction (float32 sums taken in another "
    "order differ by a few roundings; a label can then change only at a near tie)."
)

RECIPES_NOTE = (
    "The source notebooks' own recipes (model, task, initialisation, loss, SGD settings, "
    "batch order), trained with Keras `fit()` on each backend: `python -m suite recipes` "
    "lists them, `python -m suite recipes --compare` runs them. Final test (3-vs-7: "
    "validation) accuracy; in brackets the gap to the notebook's printed figure in points. "
    "Every backend starts from the same numpy-drawn weights."
)


def portability_section(blob: dict) -> Section:

    rows = blob["transfers"]
    failed = [r for r in rows if r.verdict != "pass"]
    verdict = (
        f"All {len(rows)} transfers pass: weights saved on any backend predict the same "
        "on the others."
        if transfers_pass(rows)
        else f"{len(failed)} of {len(rows)} transfers fail: "
        + ", ".join(f"{r.model} {r.source}→{r.target}" for r in failed)
        + "."
    )
    note = PORTABILITY_NOTE.format(n=blob["train_examples"], rtol=blob["logit_rtol"])
    return Section(
        "Weights across backends",
        2,
        [note],
        tables=[Table(*transfer_table(rows))],
        summary=verdict,
    )


def recipes_section(results: list) -> Section:

    backends = [b for b in BACKENDS if any(r.backend == b for r in results)]
    rows = recipe_rows(results, backends)
    notes = [
        f"`{name}` ({RECIPES[name].notebook[:3]}): {RECIPES[name].differences}."
        for name in dict.fromkeys(r[0] for r in rows)
        if RECIPES[name].differences
    ]
    table = Table(["recipe", "epochs", "notebook", *backends], rows)
    return Section("Notebook recipes", 2, [RECIPES_NOTE], bullets=notes, tables=[table])


STARTUP_NOTE = (
    "From a fresh process to the end of the first training step, and to the end of the "
    "first predict() of 1,024 test images ({repeats} fresh processes per backend, workload, "
    "call and cache, one at a time, alternating): importing Keras and the framework, "
    "building and compiling the model, and the first call (where tracing and compiling "
    "happen); MNIST is read outside it. Cold: an empty compilation cache; warm: "
    "each framework's persistent cache filled by an earlier process (JAX's "
    "jax_compilation_cache_dir; torch's inductor cache, used with jit=on only; TensorFlow "
    "has none for tf.function, so its warm start is a cold one). The steady step is the "
    "median of {steps} more calls, each waited for (the latency diagnostic's way, not "
    "fit()'s throughput). Catch-up: when the backend with the shortest step has done as "
    "many steps as the one that finished its first step first, cold, paired by repeat, "
    "geometric mean with a t-interval over repeats (open above where a repeat never "
    "caught up within one epoch, or, for predict(), within one pass over the test set). "
    "Medians over repeats."
)


WHAT_WORDS = {"train": "first train step", "predict": "first predict()"}


def startup_rows(blob: dict, what: str) -> list[list[str]]:
    """The start-up table's rows for ``what`` (train or predict)."""
    from suite.core.startup import startup_table
    from suite.report.layout import num

    return [
        [r["model"], r["backend"], num(r["cold_s"]),
         "-" if r["warm_s"] is None else num(r["warm_s"]), num(r["import_s"]),
         num(r["build_s"]), num(r["first_step_s"]), num(r["step_ms"])]
        for r in startup_table(blob, what)
    ]  # fmt: skip


STARTUP_HEADERS = ["workload", "backend", "cold, s", "warm, s", "import, s", "build, s",
                   "first call, s", "steady call, ms"]  # fmt: skip


def startup_section(blob: dict) -> Section:
    """Start-up, cold and warm, per workload and backend, for the first train step and the
    first predict() call, and each workload's verdict."""
    from suite.core.startup import startup_words

    whats = [w for w in WHAT_WORDS if any(r.get("what", "train") == w for r in blob["rows"])]
    tables = [Table(STARTUP_HEADERS, startup_rows(blob, w), WHAT_WORDS[w]) for w in whats]
    words = [
        f"{m}, {WHAT_WORDS[w]}: {startup_words(blob, m, w)}" for w in whats for m in blob["models"]
    ]
    note = STARTUP_NOTE.format(repeats=blob["repeats"], steps=blob["steady_steps"])
    return Section(
        "Start-up: from a fresh process to the first step and the first predict()",
        2,
        [note],
        bullets=words,
        tables=tables,
        summary="; ".join(w for w in words if WHAT_WORDS["train"] in w),
    )


FITS_NOTE = (
    "compare --batch-sizes ... --memory-limit SIZE: per backend and workload, batch sizes "
    "doubling from the largest swept one, each attempt a fresh process that builds the "
    "model and trains {steps} steps at that batch. It fits when it trains and its peak "
    "memory (the GPU's on a GPU, else the process's resident peak) stays within {limit}; "
    "it does not when the framework raises its own out-of-memory error, the kernel stops "
    "the process, or the peak passes the limit."
)


def fits_section(blob: dict) -> Section:
    """The largest batch that fits, per workload and backend."""
    from suite.core.memory import fits_words

    limit = blob.get("limit_bytes")
    where = f"{limit / 2**30:.3g} GiB" if limit else "the GPU's memory"
    rows = [
        [r["model"], r["backend"], fits_words(r),
         _mib(max((a["peak_bytes"] or 0 for a in r["attempts"] if a["status"] == "fits"),
                  default=0))]
        for r in blob["rows"]
    ]  # fmt: skip
    return Section(
        f"Largest batch that fits in {where}",
        2,
        [FITS_NOTE.format(steps=blob["steps"], limit=where)],
        tables=[
            Table(["workload", "backend", "largest batch that fits", "peak at it, MiB"], rows)
        ],  # fmt: skip
        summary="; ".join(f"{r[0]} on {r[1]}: {r[2]}" for r in rows),
    )


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f}" if n else "-"
