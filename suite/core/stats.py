"""Timing statistics: pure functions over lists of seconds (no I/O, no frameworks)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


def _sps():
    """scipy.stats, imported on first use: half a second that a command refusing its
    input (or printing --help) does not need to pay."""
    from scipy import stats

    return stats


@dataclass(frozen=True)
class TimingSummary:
    """Summary of per-step times, in milliseconds."""

    n: int
    median: float
    mean: float
    iqr: float
    p10: float
    p90: float
    ci_low: float  # bootstrap 95% confidence interval of the median
    ci_high: float
    cv: float  # coefficient of variation, std / mean


def summarize(
    seconds, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> TimingSummary:
    """Summarise step times given in seconds; percentiles use linear interpolation."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    if ms.size == 0:
        raise ValueError("no step times to summarise")
    q10, q25, q50, q75, q90 = np.percentile(ms, [10, 25, 50, 75, 90])
    low, high = median_ci(ms, confidence, resamples, seed)
    mean = float(ms.mean())
    return TimingSummary(
        n=int(ms.size),
        median=float(q50),
        mean=mean,
        iqr=float(q75 - q25),
        p10=float(q10),
        p90=float(q90),
        ci_low=low,
        ci_high=high,
        cv=float(ms.std(ddof=1) / mean) if ms.size > 1 and mean > 0 else 0.0,
    )


def median_ci(
    values, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median (seeded, so repeatable)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2 or np.all(v == v[0]):
        m = float(np.median(v))
        return m, m
    res = _sps().bootstrap(
        (v,),
        np.median,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def coefficient_of_variation(values) -> float:
    """Sample std / mean; used for the spread of repeated runs' medians."""
    v = np.asarray(values, dtype=np.float64)
    return float(v.std(ddof=1) / v.mean())


def time_to_target(epoch_seconds, accuracies, target: float) -> tuple[float | None, int | None]:
    """Cumulative training time and epoch count until accuracy first reaches ``target``."""
    elapsed = 0.0
    for epoch, (seconds, acc) in enumerate(zip(epoch_seconds, accuracies, strict=True), 1):
        elapsed += seconds
        if acc >= target:
            return elapsed, epoch
    return None, None


@dataclass(frozen=True)
class Ratio:
    """A ratio with its 95% confidence interval, from ``n`` independent units."""

    ratio: float
    low: float | None  # None when there are too few units for an interval
    high: float | None
    n: int
    method: str
    # where one more run (one more unit) would land, 95%: from runs as units, 3 or more
    pi_low: float | None = None
    pi_high: float | None = None
    # each invocation's own ratio, when they disagree (``disagreement``): then there is no
    # pooled interval (low and high are None) and nothing is ranked on it
    runs: tuple[float, ...] = ()


def paired_ratio(a, b, confidence: float = 0.95) -> Ratio:
    """Geometric mean of the per-round ratios a_i / b_i, with a Student-t interval on
    the log ratios. Rounds, not steps, are the units: each round's pair ran within
    seconds of each other, so machine drift is common to both and cancels in the
    ratio. A t-interval rather than a bootstrap because there are few rounds
    (8 and up); the percentile bootstrap is too narrow with so few."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.size == 0:
        raise ValueError("paired_ratio needs two samples of the same, non-zero length")
    logs = np.log(a / b)
    return t_interval(logs, confidence, "paired rounds, t-interval on log ratios")


def log_ratios(a: dict, b: dict) -> dict:
    """round key -> log(a / b) over the rounds both rate maps have, in one sorted order
    (one summation order: reproducible files)."""
    return {k: float(np.log(a[k] / b[k])) for k in sorted(set(a) & set(b), key=str)}


def paired_rates(a: dict, b: dict, confidence: float = 0.95) -> Ratio | None:
    """``paired_ratio`` of two per-round rate maps (round key -> rate) over the rounds
    both have; None when fewer than two rounds are shared."""
    common = sorted(set(a) & set(b), key=str)
    if len(common) < 2:
        return None
    return paired_ratio([a[k] for k in common], [b[k] for k in common], confidence)


WITHIN_ONE_RUN = "paired rounds within one run; between-run variation not included"
NO_PROCESS = "between-process variation not measured (one worker process per participant)"


@dataclass(frozen=True)
class ProcessVariance:
    """The variance σ_p² of a worker process's own effect on its log rate, the same
    program in another fresh process being another draw: estimated from A/A contrasts
    (each participant's first process ÷ its twin, paired by round, ``process_variance``)."""

    var: float  # σ_p², on the log scale
    contrasts: int  # A/A contrasts it was estimated from: its degrees of freedom


def process_variance(contrasts) -> ProcessVariance | None:
    """σ_p² from A/A contrasts, each an array of per-round log ratios (a participant's
    first process ÷ its twin, the same rounds). A contrast's mean is d = p₁ − p₂ plus
    the mean of its round noise, so E[d²] = 2σ_p² + s²/n (s: the rounds' spread, n:
    their number): the method of moments over m contrasts gives σ_p² = max(0, mean(d² −
    s²/n) / 2), with m degrees of freedom. None without a contrast of 2 rounds or more."""
    terms = []
    for c in contrasts:
        logs = np.asarray(c, np.float64)
        if logs.size >= 2:
            terms.append(logs.mean() ** 2 - logs.var(ddof=1) / logs.size)
    if not terms:
        return None
    return ProcessVariance(max(0.0, float(np.mean(terms)) / 2), len(terms))


def with_processes(
    logs, process: ProcessVariance | None, confidence: float = 0.95, processes: int = 1
) -> Ratio:
    """The paired rounds' interval of two participants' log ratios, with the worker
    processes inside it: each participant's rate carries its process's effect (variance
    σ_p² / ``processes`` when it is the mean over that many), so the mean log ratio has
    variance s²/n + 2σ_p²/processes, with Welch–Satterthwaite degrees of freedom (n − 1
    from the rounds, the contrasts' count from σ_p²). Without a ``process`` the rounds'
    interval alone, its method saying that the process is not in it."""
    logs = np.asarray(logs, np.float64)
    rounds = t_interval(logs, confidence, "paired rounds, t-interval on log ratios")
    if process is None:
        return replace(rounds, method=f"{rounds.method}; {NO_PROCESS}")
    if logs.size < 2:
        return rounds
    v_rounds = float(logs.var(ddof=1)) / logs.size
    v_proc = 2 * process.var / processes
    total = v_rounds + v_proc
    method = (
        f"paired rounds with the worker process inside (σ_p {np.sqrt(process.var):.1%} "
        f"from {process.contrasts} A/A contrasts), t-interval on log ratios"
    )
    if total == 0:
        return Ratio(rounds.ratio, rounds.ratio, rounds.ratio, rounds.n, method)
    df = total**2 / (v_rounds**2 / (logs.size - 1) + v_proc**2 / process.contrasts)
    half = float(_sps().t.ppf(0.5 + confidence / 2, df)) * float(np.sqrt(total))
    mean = float(logs.mean())
    return Ratio(
        float(np.exp(mean)), float(np.exp(mean - half)), float(np.exp(mean + half)),
        int(logs.size), method,
    )  # fmt: skip


def clustered_rates(
    a: dict, b: dict, confidence: float = 0.95, process: ProcessVariance | None = None
) -> Ratio | None:
    """Time ratio from per-round rates keyed ``(run, round)`` (run: a schedule, one
    (model, seed) trained side by side), paired by round. Rounds within one run are not
    independent of the run: this VM's speed drifts in phases that last many rounds and
    move backends unequally, so two runs minutes apart can disagree beyond either's
    rounds interval. With 3 or more runs the interval is also computed with runs as the
    units (a t-interval over each run's mean log ratio), and the wider of the two is
    returned, its method saying which. With fewer runs the rounds interval is all there
    is, and its method says that between-run variation is not in it. The rounds'
    interval has the worker processes inside it (``with_processes``) when ``process``
    is given. None when fewer than two rounds are shared."""
    logs = log_ratios(a, b)
    if len(logs) < 2:
        return None
    split = disagreement(logs, process)
    if split is not None and len(split.runs) == 2:
        return split
    rounds = with_processes(list(logs.values()), process, confidence)
    runs: dict = {}
    for key, x in logs.items():
        runs.setdefault(key[0], []).append(x)
    means = np.array([np.mean(v) for v in runs.values() if len(v) >= 2])
    if means.size < 3:
        return replace(rounds, method=f"{rounds.method}; {WITHIN_ONE_RUN}")
    by_run = t_interval(means, confidence, f"runs as units ({means.size} runs), t-interval")
    wider = by_run if _log_width(by_run) > _log_width(rounds) else rounds
    low, high = rerun_interval(means, confidence)
    note = f"; {split.method.replace('; not pooled', '')}" if split is not None else ""
    return replace(wider, pi_low=low, pi_high=high, method=wider.method + note)


AGREE_P = 0.05  # Cochran's Q below this p-value: the invocations disagree


def invocation(key) -> str:
    """The invocation (``compare``'s run folder) a round key ``(schedule, round)``
    belongs to: the schedule's first part."""
    return str(key[0]).split("/")[0]


def disagreement(logs: dict, process: ProcessVariance | None = None) -> Ratio | None:
    """Whether invocations pooled in one ratio disagree: Cochran's Q over each
    invocation's mean log ratio, weighted by the inverse of its variance (its rounds'
    s²/n, or its runs' when it has several and they spread more, plus 2σ_p² when the
    process variance is known), χ² with k − 1 degrees of freedom. When p < ``AGREE_P``:
    a Ratio with no interval, each invocation's ratio in ``runs`` and the test in its
    method; otherwise None (one invocation, or they agree). ``clustered_rates`` ranks
    nothing on two invocations that disagree (no pooled interval can carry their spread
    with one degree of freedom); with three or more it shows the runs-as-units interval,
    which has the invocations' spread inside it, and names the disagreement in its
    method."""
    groups: dict[str, dict] = {}
    for key, x in logs.items():
        groups.setdefault(invocation(key), {}).setdefault(key[0], []).append(x)
    means, variances = [], []
    for runs in groups.values():
        v = np.asarray([x for xs in runs.values() for x in xs], np.float64)
        if v.size < 2:
            continue
        spread = v.var(ddof=1) / v.size
        run_means = [np.mean(xs) for xs in runs.values()]
        if len(run_means) >= 2:
            spread = max(spread, float(np.var(run_means, ddof=1)) / len(run_means))
        means.append(float(v.mean()))
        variances.append(spread + (2 * process.var if process else 0.0))
    if len(means) < 2 or min(variances) <= 0:
        return None
    y, w = np.asarray(means), 1 / np.asarray(variances)
    pooled = float((w * y).sum() / w.sum())
    q = float((w * (y - pooled) ** 2).sum())
    p = float(_sps().chi2.sf(q, len(means) - 1))
    if p >= AGREE_P:
        return None
    ratios = tuple(float(np.exp(m)) for m in means)
    method = (
        f"runs disagree: {len(means)} invocations at {min(ratios):.2f}–{max(ratios):.2f} "
        f"(Cochran's Q = {q:.1f}, p = {p:.2g}); not pooled"
    )
    return Ratio(float(np.exp(pooled)), None, None, len(logs), method, runs=ratios)


def rerun_interval(unit_logs, confidence: float = 0.95) -> tuple[float, float]:
    """Where the ratio of one more independent run would land: the Student-t prediction
    interval exp(mean ± t(k−1) · s · √(1 + 1/k)) over k ≥ 2 runs' mean log ratios. Wider
    than the CI of the mean by √(k + 1): the CI says where the long-run ratio lies, this
    where the next run's will."""
    logs = np.asarray(unit_logs, np.float64)
    k = logs.size
    if k < 2:
        raise ValueError("a prediction interval needs at least 2 runs")
    half = float(_sps().t.ppf(0.5 + confidence / 2, k - 1) * logs.std(ddof=1) * np.sqrt(1 + 1 / k))
    mean = float(logs.mean())
    return float(np.exp(mean - half)), float(np.exp(mean + half))


def _log_width(r: Ratio) -> float:
    return float(np.log(r.high / r.low))


def unpaired_ratio(a, b, confidence: float = 0.95) -> Ratio:
    """Ratio of geometric means of two independent samples (e.g. per-run throughputs
    of runs not trained side by side), Welch t-interval on the logs."""
    la, lb = np.log(np.asarray(a, np.float64)), np.log(np.asarray(b, np.float64))
    ratio = float(np.exp(la.mean() - lb.mean()))
    if la.size < 2 or lb.size < 2:
        return Ratio(ratio, None, None, min(la.size, lb.size), "unpaired, too few runs")
    va, vb = la.var(ddof=1) / la.size, lb.var(ddof=1) / lb.size
    se = float(np.sqrt(va + vb))
    if se == 0:
        return Ratio(ratio, ratio, ratio, min(la.size, lb.size), "unpaired, Welch")
    df = (va + vb) ** 2 / (va**2 / (la.size - 1) + vb**2 / (lb.size - 1))
    h = float(_sps().t.ppf(0.5 + confidence / 2, df)) * se
    return Ratio(
        ratio, ratio * np.exp(-h), ratio * np.exp(h), min(la.size, lb.size), "unpaired, Welch"
    )


def t_interval(logs: np.ndarray, confidence: float, method: str) -> Ratio:
    mean = float(logs.mean())
    if logs.size < 2:
        return Ratio(float(np.exp(mean)), None, None, int(logs.size), method)
    half = float(_sps().t.ppf(0.5 + confidence / 2, logs.size - 1) * logs.std(ddof=1))
    half /= np.sqrt(logs.size)
    return Ratio(
        float(np.exp(mean)),
        float(np.exp(mean - half)),
        float(np.exp(mean + half)),
        int(logs.size),
        method,
    )


# the smallest speed difference the suite acts on: two backends are ranked, a mode wins
# over the default, and an A/A pair of processes passes only within this share
SPEED_THRESHOLD = 0.05


def speed_verdict(r: Ratio, threshold: float = SPEED_THRESHOLD) -> str:
    """``slower`` when the time ratio's CI lies wholly above 1 and the ratio exceeds
    1 + threshold; ``faster`` for the mirror case; otherwise ``indistinguishable``."""
    if r.low is None:
        return "indistinguishable"
    if r.low > 1 and r.ratio > 1 + threshold:
        return "slower"
    if r.high < 1 and r.ratio < 1 / (1 + threshold):
        return "faster"
    return "indistinguishable"


@dataclass(frozen=True)
class Difference:
    """Mean paired difference with its 95% CI and a two-one-sided-tests verdict."""

    mean: float
    low: float | None
    high: float | None
    n: int
    margin: float
    p_equivalence: float | None  # TOST p-value: small means equivalent within the margin
    equivalent: bool | None  # None: too few pairs to tell


def paired_difference(a, b, margin: float, alpha: float = 0.05) -> Difference:
    """a_i - b_i over pairs (seeds: same initial weights and batches for both), with a
    95% t-interval and TOST against ``±margin``. With one pair it cannot tell."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    mean, n = float(d.mean()), int(d.size)
    if n < 2:
        return Difference(mean, None, None, n, margin, None, None)
    se = float(d.std(ddof=1) / np.sqrt(n))
    if se == 0:
        inside = abs(mean) < margin
        return Difference(mean, mean, mean, n, margin, 0.0 if inside else 1.0, inside)
    half = float(_sps().t.ppf(1 - alpha / 2, n - 1)) * se
    p_low = float(_sps().t.sf((mean + margin) / se, n - 1))  # H0: difference <= -margin
    p_high = float(_sps().t.cdf((mean - margin) / se, n - 1))  # H0: difference >= +margin
    p = max(p_low, p_high)
    return Difference(mean, mean - half, mean + half, n, margin, p, p < alpha)


def drift(values) -> float:
    """max / min of one backend's per-round throughput: what the pairing cancelled."""
    v = np.asarray(values, np.float64)
    return float(v.max() / v.min()) if v.size and v.min() > 0 else float("nan")


def waiting_cpu_share(logs: list[dict]) -> float | None:
    """From compare's turn logs: the most CPU a waiting worker used during another's
    turn, as a share of that turn (0 means the waiting workers were really idle)."""
    shares = [
        c / t["wall_s"]
        for log in logs
        for sched in log["schedules"]
        for t in sched["turns"]
        if t["wall_s"] > 0
        for c in t["waiting_cpu_s"].values()
    ]
    return max(shares) if shares else None
