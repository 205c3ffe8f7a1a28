"""The figures: every one legible (no raw TeX, nothing cut off), checked before saving by
``figure_problems``, which must reject the trajectory figure as it was drawn before."""

from pathlib import Path

import matplotlib
import pytest

from suite.report.build import build_report
from suite.report.figures import STYLE, figure_problems, figures, plain

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OLD = Path(__file__).resolve().parents[1] / "data" / "results-v0.1"

STEPS = (0, 1, 2, 5, 10, 20, 50, 100)
TRAJECTORY = {
    str(s): v for s, v in zip(STEPS, (0, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5), strict=True)
}


def test_the_trajectory_figure_as_it_was_is_rejected():
    """The figure the verdict-first issue found broken: math text off for result names,
    so the log axis printed raw $\\mathdefault{10^{-4}}$, in panels too narrow for the
    legend below them."""
    with matplotlib.rc_context({"text.parse_math": False}):
        fig, axes = plt.subplots(1, 3, figsize=(10.8, 3.2), squeeze=False)
        for ax, model in zip(axes[0], ("softmax", "mlp", "cnn"), strict=True):
            for pair in ("jax-tensorflow", "jax-torch", "tensorflow-torch"):
                for opt in ("sgd", "adam"):
                    ax.semilogy([int(s) for s in TRAJECTORY], list(TRAJECTORY.values()),
                                label=f"{pair} {opt}")  # fmt: skip
            ax.set_title(f"{model}: weights apart")
            ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(0, -0.25), ncol=2)
        fig.tight_layout()
        problems = figure_problems(fig)
    plt.close(fig)
    assert any(p.startswith("raw math text") and "mathdefault{10^{" in p for p in problems)
    assert any(p.startswith("legend cut off") for p in problems), problems


def test_a_cut_off_title_is_rejected():
    fig, ax = plt.subplots(figsize=(2, 2), layout="constrained")
    ax.set_title("a title far too long for a panel two inches wide, cut at both ends")
    assert figure_problems(fig) == [
        "title cut off: 'a title far too long for a panel two inches wide, cut at both ends'"
    ]
    plt.close(fig)


def test_big_tick_numbers_without_separators_are_rejected():
    """400000 reads as 40,000 or 4,000,000 at a glance: five or more digits need commas."""
    from suite.report.figures import _thousands

    fig, ax = plt.subplots(figsize=(3, 3), layout="constrained")
    ax.plot([0, 1], [0, 400_000])
    ax.set_title("throughput")
    assert any("without thousands separators" in p for p in figure_problems(fig))
    _thousands(ax)
    assert figure_problems(fig) == []
    plt.close(fig)


def test_every_figure_of_a_report_is_legible(results_dir):
    problems: list[str] = []
    made = figures(build_report([OLD, results_dir]), problems)
    assert {"grads_heatmap", "trajectory.softmax", "misclassified"} <= set(made)
    assert {"throughput_0.mlp", "throughput_1.softmax", "accuracy_time_0.mlp"} <= set(made)
    assert problems == []


def test_a_name_from_a_file_is_text_not_tex():
    assert plain("a$b$c") == "a\\$b\\$c"
    traj = [
        {"model": "my$model$", "a": "jax", "b": "torch", "optimizer": o, "weight_rel": TRAJECTORY}
        for o in ("sgd", "adam")
    ]
    report = {"devices": [], "grads": {"pairs": [], "trajectory": traj}}
    problems: list[str] = []
    assert figures(report, problems) == {}  # no pairs: no gradient figures at all
    report["grads"]["pairs"] = [
        {"model": "my$model$", "a": "jax", "b": "torch", "dtype": "float32", "status": "pass",
         "pass": True, "judged_as": "float32", "overall": {"rel": 1e-7}},
    ]  # fmt: skip
    made = figures(report, problems)
    assert "trajectory.my$model$" in made and problems == []


@pytest.mark.parametrize("what", ["color", "marker", "ls"])
def test_each_backend_has_its_own_colour_marker_and_line_style(what):
    assert len({s[what] for s in STYLE.values()}) == len(STYLE)


def test_one_evaluation_per_cell_draws_no_accuracy_curve_and_no_time_to_target(results_dir):
    from suite.report.render import markdown

    report = build_report([results_dir])
    for d in report["devices"]:  # as a one-epoch run: one evaluation per cell
        d["histories"] = {k: pts[-1:] for k, pts in d["histories"].items()}
    made = figures(report)
    assert not any(k.startswith("accuracy_time") for k in made)
    assert any(k.startswith("throughput") for k in made)
    assert "time to target" not in markdown(report).split("## ", 2)[1]  # the verdict


def test_the_heatmap_colours_by_the_bound_each_comparison_was_judged_by():
    from suite.report.figures import _judged_ratio

    # per-variable bounds: the worst variable over its own bound, not the overall
    # difference over the largest bound (which hid a failing variable as a pass colour)
    row = {"worst": {"variable": "b", "rel": 2e-3, "bound": 1e-3}, "overall": {"rel": 2e-3},
           "tolerance": {"rel": 5e-2}, "dtype": "float32"}  # fmt: skip
    assert _judged_ratio(row) == 2.0
    old = {"overall": {"rel": 5e-5}, "tolerance": {"rel": 1e-4}, "dtype": "float32"}
    assert _judged_ratio(old) == 0.5
