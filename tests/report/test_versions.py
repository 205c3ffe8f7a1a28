"""The steps between releases: flagged only beyond the A/A control, on every metric."""

from dataclasses import replace

from report_fixtures import make_run

from suite.core.stats import Ratio
from suite.report.aa import aa_rows, process_of_cells
from suite.report.groups import group
from suite.report.versions import (
    aa_factor,
    chains,
    step_flag,
    step_rows,
    step_words,
    version_curves,
)


def _q(ratio, low, high):
    return Ratio(ratio, low, high, 12, "test")


def test_a_step_is_flagged_only_beyond_the_aa_factor():
    assert step_flag(_q(1.31, 1.22, 1.40), 1.05) == "slower"
    assert step_flag(_q(0.70, 0.65, 0.75), 1.05) == "faster"
    # must reject: an interval reaching into what two processes of one program differed by
    assert step_flag(_q(1.31, 1.10, 1.50), 1.12) == ""
    assert step_flag(_q(1.02, 0.99, 1.05), 1.05) == ""
    assert step_flag(_q(1.50, None, None), 1.05) == ""  # no interval: cannot tell
    # the A/A control's far end, never inside the 5% threshold
    assert aa_factor(_q(0.88, 0.82, 0.94)) == 1 / 0.82
    assert aa_factor(_q(1.0, 0.99, 1.01)) == 1.05 and aa_factor(None) == 1.05


def _cells(slow=1.3, bigger=1.0, acc_drop=0.0):
    """torch mlp in three sets: 3.14.1 and 3.14.1 again (identical) and 3.15.1, ``slow``
    times the step time; two processes each, seeds 0-2; 3.15.1's peak memory ×``bigger``."""
    runs = []
    sets = (("keras==3.14.1", 1.0, 0.0), ("keras==3.14.1~2", 1.0, 0.0),
            ("keras==3.15.1", slow, acc_drop))  # fmt: skip
    for label, ms, drop in sets:
        for seed in range(3):
            for process, twin in ((0, 1.0), (1, 1.004)):
                r = make_run("torch", "mlp", seed, ms * twin, 0.97 + 0.001 * seed - drop,
                             spread=0.01, versions=label, process=process)  # fmt: skip
                if label == "keras==3.15.1":
                    r = replace(r, peak_rss_bytes=int(2**30 * bigger * (1 + 0.01 * seed)))
                else:
                    r = replace(r, peak_rss_bytes=int(2**30 * (1 + 0.01 * seed)))
                runs.append(r)
    return next(iter(group(runs).values()))


def _steps(cells):
    return step_rows(chains(cells), aa_rows(cells), process_of_cells(cells))


def test_a_slower_release_is_flagged_and_the_same_release_twice_is_not():
    cells = _cells(slow=1.3)
    (chain,) = chains(cells).values()
    assert [label for label, *_ in chain] == ["keras==3.14.1", "keras==3.14.1~2", "keras==3.15.1"]
    steps = _steps(cells)
    flagged = [r for r in steps if r["flag"]]
    assert [(r["new"], r["metric"], r["flag"]) for r in flagged] == [
        ("keras==3.15.1", "training time", "slower")
    ]
    assert step_words(flagged[0]).startswith(
        "keras 3.14.1 (copy 2) → 3.15.1: torch mlp training time 1.3"
    )
    same = [r for r in steps if r["new"] == "keras==3.14.1~2"]
    assert {r["metric"] for r in same} >= {"training time", "first step", "peak memory",
                                          "test accuracy"}  # fmt: skip
    assert not any(r["flag"] for r in same)
    curve = version_curves(chains(cells))[("torch", "mlp", "keras")]
    assert [p[0] for p in curve] == ["keras==3.14.1", "keras==3.14.1~2", "keras==3.15.1"]
    assert curve[2][1] < curve[0][1] / 1.2 and curve[2][2] <= curve[2][1] <= curve[2][3]


def test_memory_and_accuracy_steps_are_flagged_too():
    steps = _steps(_cells(slow=1.0, bigger=1.5, acc_drop=0.01))
    flagged = {(r["metric"], r["flag"]) for r in steps if r["flag"]}
    assert flagged == {("peak memory", "slower"), ("test accuracy", "lower")}
    memory = next(r for r in steps if r["metric"] == "peak memory" and r["flag"])
    assert "1.50× more" in step_words(memory)
