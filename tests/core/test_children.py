"""The one child runner: streams or keeps stderr, leaves framework noise out, and turns a
failure into one line naming what failed and the child's last words."""

import sys

import pytest

from suite.core.children import python_module, quiet, run_child
from suite.core.errors import SuiteError

NOISY = (
    "import sys\n"
    "print('I0000 00:00:1 cpu_feature_guard.cc] noise', file=sys.stderr)\n"
    "print('[jax] working', file=sys.stderr)\n"
    "print('WARNING: All log messages before absl::InitializeLog()', file=sys.stderr)\n"
    "print('the real reason', file=sys.stderr)\n"
    "sys.exit(int(sys.argv[1]))\n"
)


def test_quiet_keeps_progress_and_drops_framework_noise():
    lines = ["I0000 00:00 x.cc] startup\n", "\n", "[torch] step 3\n", "To enable the ...\n"]
    assert list(quiet(lines)) == ["[torch] step 3"]


def test_a_failing_child_is_one_line_with_its_last_words():
    with pytest.raises(SuiteError) as e:
        run_child([sys.executable, "-c", NOISY, "3"], "grads child for jax")
    assert str(e.value) == "grads child for jax failed: the real reason"


def test_streamed_lines_reach_the_log_with_a_prefix_and_no_noise():
    seen = []
    code = run_child([sys.executable, "-c", NOISY, "0"], "x", seen.append, "  [jax] ")
    assert code == 0
    assert seen == ["  [jax] [jax] working", "  [jax] the real reason"]


def test_show_picks_the_lines_worth_streaming():
    seen = []
    run_child([sys.executable, "-c", NOISY, "0"], "x", seen.append, show=lambda s: s[0] == "[")
    assert seen == ["[jax] working"]


def test_check_false_returns_the_exit_code():
    assert run_child([sys.executable, "-c", NOISY, "5"], "x", check=False) == 5


def test_python_module_runs_this_interpreter():
    assert python_module("suite.rounds.worker", "jax", 2) == [
        sys.executable, "-m", "suite.rounds.worker", "jax", "2",
    ]  # fmt: skip
