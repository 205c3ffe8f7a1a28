"""The CSVs let anyone recompute the report: every time ratio and CI in report.csv is
recomputed here from report-rounds.csv alone, with numpy and scipy, by the method the
report states (per-round log ratios paired by run and round; a t-interval over rounds,
and with 3 or more runs also over the runs' mean log ratios, the wider shown)."""

import csv
from collections import defaultdict
from dataclasses import replace

import numpy as np
import pytest
import scipy.stats as sps
from report_fixtures import make_run

from suite.core.results import write_result
from suite.report.render import write_report


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _t(logs, process_var=None, contrasts=0):
    """t-interval of the mean log ratio; with the process variance σ_p² (from
    ``contrasts`` A/A contrasts) added as 2σ_p², Welch–Satterthwaite df."""
    logs = np.asarray(logs)
    v, df = logs.var(ddof=1) / logs.size, logs.size - 1
    if process_var is not None:
        total = v + 2 * process_var
        df = total**2 / (v**2 / df + (2 * process_var) ** 2 / contrasts)
        v = total
    half = sps.t.ppf(0.975, df) * np.sqrt(v)
    m = logs.mean()
    return np.exp(m), np.exp(m - half), np.exp(m + half), logs.size


def process_variance(rate) -> tuple[float | None, int]:
    """σ_p² from every A/A contrast (first process ÷ twin, per run, over shared rounds):
    max(0, mean(d² − s²/n)) / 2, and the contrasts' count."""
    terms = []
    for (dev, m, v, impl, b, p), twin in rate.items():
        if p == 0:
            continue
        first = rate[(dev, m, v, impl, b, 0)]
        runs = defaultdict(list)
        for k in sorted(set(first) & set(twin)):
            runs[k[0]].append(np.log(first[k] / twin[k]))
        for logs in runs.values():
            x = np.asarray(logs)
            if x.size >= 2:
                terms.append(x.mean() ** 2 - x.var(ddof=1) / x.size)
    if not terms:
        return None, 0
    return max(0.0, float(np.mean(terms)) / 2), len(terms)


def recompute(rounds: list[dict], cells: list[dict]) -> dict:
    """(device, model, variant, backend) -> (ratio, low, high, n, units) from the rounds
    CSV; the fastest of each group is the backend with the highest geometric mean of
    its runs' throughput (report.csv)."""
    rate = defaultdict(dict)
    for r in rounds:
        if r["superseded"] == "1":
            continue
        key = (r["device"], r["model"], r["variant"], r["impl"], r["backend"], int(r["process"]))
        rate[key][(r["run"], int(r["round"]))] = (
            int(r["steps"]) * int(r["batch_size"]) / float(r["seconds"])
        )
    process_var, contrasts = process_variance(rate)
    speed = defaultdict(list)
    for c in cells:
        if (
            c["status"] == "ok"
            and c["impl"] == "keras"
            and (c["process"], c["superseded"])
            == (
                "0",
                "0",
            )
        ):
            speed[(c["device"], c["model"], c["variant"], c["backend"])].append(
                np.log(float(c["throughput_examples_per_s"]))
            )
    groups = defaultdict(dict)
    for (dev, m, v, b), logs in speed.items():
        groups[(dev, m, v)][b] = np.mean(logs)
    out = {}
    for (dev, m, v), per in groups.items():
        fastest = max(per, key=per.get)
        fast = rate[(dev, m, v, "keras", fastest, 0)]
        for b in per:
            if b == fastest:
                continue
            mine = rate[(dev, m, v, "keras", b, 0)]
            common = sorted(set(fast) & set(mine))
            logs = [np.log(fast[k] / mine[k]) for k in common]
            if disagree(common, logs, process_var or 0.0):
                out[(dev, m, v, b)] = None
                continue
            by_round = (*_t(logs, process_var, contrasts), "rounds")
            runs = defaultdict(list)
            for k, x in zip(common, logs, strict=True):
                runs[k[0]].append(x)
            means = [np.mean(x) for x in runs.values() if len(x) >= 2]
            best = by_round
            if len(means) >= 3:
                by_run = (*_t(means), "runs")
                if np.log(by_run[2] / by_run[1]) > np.log(by_round[2] / by_round[1]):
                    best = by_run
            out[(dev, m, v, b)] = best
    return out


def disagree(keys, logs, process_var: float) -> bool:
    """Cochran's Q over the invocations (the run's first part), each weighted by the
    inverse of its variance (rounds' s²/n or its runs' spread, plus 2σ_p²): p < 0.05."""
    inv = defaultdict(lambda: defaultdict(list))
    for k, x in zip(keys, logs, strict=True):
        inv[k[0].split("/")[0]][k[0]].append(x)
    means, variances = [], []
    for runs in inv.values():
        xs = np.array([x for v in runs.values() for x in v])
        if xs.size < 2:
            continue
        spread = xs.var(ddof=1) / xs.size
        if len(runs) >= 2:
            run_means = [np.mean(v) for v in runs.values()]
            spread = max(spread, np.var(run_means, ddof=1) / len(run_means))
        means.append(xs.mean())
        variances.append(spread + 2 * process_var)
    if len(means) < 2:
        return False
    y, w = np.array(means), 1 / np.array(variances)
    q = float((w * (y - (w * y).sum() / w.sum()) ** 2).sum())
    return sps.chi2.sf(q, len(means) - 1) < 0.05


def _folder(tmp_path, seeds, processes=1, extra=""):
    """Runs of three backends on two models, each seed its own invocation; each with
    ``processes`` - 1 A/A twins, the second process of torch 6% slower. ``extra``:
    "superseded" adds an older, 3× slower result of torch's first seed that a newer one
    replaced; "disagree" makes torch 3.0× slower in the second invocation (2.1× in the
    first)."""
    d = tmp_path / "results"
    for seed in seeds:
        for model, ms in (("softmax", 0.4), ("mlp", 1.0)):
            for backend, f in (("jax", 1.0), ("tensorflow", 1.3), ("torch", 2.1)):
                if extra == "disagree" and backend == "torch" and seed == 1:
                    f = 3.0
                for p in range(processes):
                    slow = 1.06 if p and backend == "torch" else 1 + 1e-9 * p
                    r = make_run(
                        backend, model, seed, ms * f * slow, 0.95, schedule=f"run{seed}",
                        spread=0.05, process=p,
                    )  # fmt: skip
                    write_result(d / f"{r.cell}.json", r)
                if extra == "superseded" and backend == "torch" and seed == seeds[0]:
                    old = make_run(backend, model, seed, ms * f * 3, 0.95, schedule=f"run{seed}")
                    env = {**old.environment, "timestamp": "2026-11-30T10:00:00+00:00"}
                    old = replace(old, run_id="r0", environment=env)
                    write_result(d / "older" / f"{old.cell}.json", old)
    return d


@pytest.mark.parametrize(
    "seeds, units, processes, extra",
    [
        ((0, 1, 2), "runs", 1, ""),
        ((0,), "rounds", 1, ""),
        ((0, 1, 2), None, 2, ""),
        ((0,), "rounds", 2, ""),
        ((0, 1, 2), "runs", 1, "superseded"),
        ((0, 1), None, 1, "disagree"),
    ],
)
def test_every_ratio_and_ci_is_recomputed_from_the_rounds_csv(
    tmp_path, seeds, units, processes, extra
):
    write_report([_folder(tmp_path, seeds, processes, extra)], tmp_path / "report")
    cells = _read(tmp_path / "report" / "report.csv")
    rounds = _read(tmp_path / "report" / "report-rounds.csv")
    mine = recompute(rounds, cells)
    checked = 0
    for c in cells:
        key = (c["device"], c["model"], c["variant"], c["backend"])
        if c["process"] != "0":  # a twin: the A/A control's, no ratio of its own
            assert c["time_ratio_to_fastest"] == ""
            continue
        if c["superseded"] == "1":  # replaced by a newer result: no ratio
            assert c["time_ratio_to_fastest"] == ""
            continue
        if key not in mine:
            assert float(c["time_ratio_to_fastest"]) == 1.0 and c["ci_units"] == ""
            continue
        if mine[key] is None:  # the invocations disagree: no pooled interval
            assert c["time_ratio_ci_low"] == "" and "runs disagree" in c["ci_method"]
            checked += 1
            continue
        ratio, low, high, n, u = mine[key]
        got = [
            float(c[k])
            for k in ("time_ratio_to_fastest", "time_ratio_ci_low", "time_ratio_ci_high")
        ]
        assert got == pytest.approx([ratio, low, high], rel=1e-9)
        assert (c["ci_units"], int(c["ci_n"])) == (u, n) and u == (units or u)
        checked += 1
    assert checked == 2 * 2 * len(seeds)  # two slower backends, two models, a row per seed
    assert ("1" in {c["superseded"] for c in cells}) == (extra == "superseded")
    split = [c for c in cells if "runs disagree" in (c["ci_method"] or "")]
    assert bool(split) == (extra == "disagree")
    assert {c["run_timestamp"] for c in cells} != {""} and "git_commit" in cells[0]


def test_the_recomputation_notices_a_missing_round(tmp_path):
    """The check can fail: drop one chunk from the rounds CSV and a ratio moves."""
    write_report([_folder(tmp_path, (0, 1, 2))], tmp_path / "report")
    cells = _read(tmp_path / "report" / "report.csv")
    rounds = _read(tmp_path / "report" / "report-rounds.csv")
    full = recompute(rounds, cells)
    fewer = recompute(rounds[1:], cells)
    moved = [k for k in full if full[k][:3] != pytest.approx(fewer[k][:3], rel=1e-9)]
    assert moved


def test_recipes_and_portability_have_their_own_csvs(tmp_path):
    from test_render import _portability_blob, _recipe_result

    from suite.training.recipe import write_recipe_result

    write_recipe_result(tmp_path / "r", _recipe_result("jax", 0.98))
    (tmp_path / "r" / "portability-1.json").write_text(
        __import__("json").dumps(_portability_blob(0))
    )
    write_report([tmp_path / "r"], tmp_path / "out")
    recipes = _read(tmp_path / "out" / "report-recipes.csv")
    transfers = _read(tmp_path / "out" / "report-portability.csv")
    assert recipes[0]["recipe"] == "fastai-3v7" and recipes[0]["final_accuracy_fraction"] == "0.98"
    assert [(t["source"], t["target"], t["verdict"]) for t in transfers] == [
        ("jax", "torch", "pass"),
        ("torch", "jax", "pass"),
    ]


def test_results_readme_names_every_csv_column(tmp_path):
    """results/README.md documents report.csv and report-inference.csv column by column;
    a column added without its line there fails here."""
    import re
    from pathlib import Path

    from report_fixtures import make_run, with_inference

    from suite.report.export import csv_rows, inference_csv_rows

    text = Path(__file__).parents[2].joinpath("results", "README.md").read_text()
    documented = set(re.findall(r"`([a-z0-9_]+)`", text))
    run = with_inference(make_run("jax", "mlp", 0, 1.0, 0.97), 2.0, 0.5)
    for rows in (csv_rows([run]), inference_csv_rows([run])):
        columns = set(rows[0])
        for prefix in [c for c in columns if c.endswith("_ci_method")]:
            # documented as "`name` (with `_ci_low`, `_ci_high`, `_ci_method`)"
            columns -= {prefix, prefix.replace("_ci_method", "_ci_low"),
                        prefix.replace("_ci_method", "_ci_high")}  # fmt: skip
        assert columns - documented == set()
