import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "suite", *args], capture_output=True, text=True, **kw
    )


def test_models_table():
    proc = run("models")
    assert proc.returncode == 0
    assert re.search(r"cnn\s+225,034\s+5,262,080\s+15,396,864\s+99.0%", proc.stdout)
    assert "softmax" in proc.stdout and "89,610" in proc.stdout


COMMAND_NAMES = [
    "compare", "models", "data", "run", "timing-check", "grads", "sweep", "startup", "recipes",
    "portability", "parallel-check", "report", "diff", "versions",
]  # fmt: skip


def test_help_lists_commands():
    """Every command is listed, each on a line of its own in the COMMAND list (a word
    inside another command's help text does not count)."""
    proc = run("--help")
    assert proc.returncode == 0
    listed = [
        line.split()[0]
        for line in proc.stdout.splitlines()
        if line.startswith("    ") and not line.startswith("     ")
    ]
    assert listed == COMMAND_NAMES


def test_every_command_help_states_defaults_and_renders_cleanly():
    from suite.cli import build_parser

    (sub,) = [a for a in build_parser()._actions if type(a).__name__ == "_SubParsersAction"]
    for name, parser in sub.choices.items():
        text = parser.format_help()
        assert "%%" not in text, name  # descriptions are not %-formatted; help strings are
        for action in parser._actions:
            # no hidden flags: a child process gets a typed request, not a command line
            assert action.help != argparse.SUPPRESS, f"{name} {action.option_strings}"
            if action.help and action.dest != "help" and action.option_strings:
                says = "default" in action.help or "required" in action.help
                assert says, f"{name} {action.option_strings[0]}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_line = re.search(r"^# run the tests\n(.+)$", readme, re.M).group(1).strip()
    assert test_line in ci.splitlines()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--steps", "0"], ["--steps must be at least 8", "--steps 0"]),
        (["--blocks", "0"], ["--blocks at least 2", "--blocks 0"]),
    ],
)
def test_timing_check_refuses_impossible_blocks(args, words):
    proc = run("timing-check", "--backend", "jax", *args)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    for word in words:
        assert word in proc.stderr


@pytest.mark.parametrize("epochs", ["0", "1001"])
def test_compare_refuses_impossible_epochs(tmp_path, epochs):
    proc = run("compare", "--epochs", epochs, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"--epochs {epochs}" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, words",
    [
        (["--dtype-policy", "float8"], ["--dtype-policy 'float8' is not one of"]),
        (
            ["--dtype-policy", "mixed_float16", "--native"],
            ["--dtype-policy mixed_float16", "--native"],
        ),
        (["--dtype-policy", "mixed_bfloat16", "--devices", "2"], ["--devices 2"]),
        (["--inference-rounds", "-1"], ["--inference-rounds"]),
        (["--tuned", "missing"], ["--tuned missing: no such folder"]),
        (["--tuned", "."], ["--tuned .: no sweep results (sweep-*.json) there"]),
    ],
)
def test_compare_refuses_impossible_policies(tmp_path, args, words):
    proc = run("compare", *args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    for word in words:
        assert word in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_run_refuses_a_policy_the_native_loop_cannot_train(tmp_path, backend):
    proc = run(
        "run", "--backend", backend, "--model", "mlp", "--impl", "native",
        "--dtype-policy", "mixed_float16", "--out", str(tmp_path / "out"), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "--dtype-policy mixed_float16 is not supported with --impl native" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_empty_out_refused_everywhere(tmp_path):
    for command in (["compare"], ["grads"], ["report", str(tmp_path)]):
        proc = run(*command, "--out", "", cwd=tmp_path)
        assert proc.returncode == 2 and "--out is empty" in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_closed_pipe_prints_no_traceback():
    proc = subprocess.Popen(
        [sys.executable, "-m", "suite", "models"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # like `| head -0`: the reader is gone before anything is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_version_and_program_name():
    from suite.cli import program_name

    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("python -m suite 0.")
    assert program_name("/usr/local/bin/keras-suite") == "keras-suite"
    assert program_name("/x/suite/__main__.py") == "python -m suite"
    assert run("--help").stdout.split("positional arguments:")[1].split()[1] == "compare"


@pytest.mark.parametrize(
    "args, words",
    [
        (["--batch-sizes", "32"], ["--batch-sizes 32: give at least 2 batch sizes"]),
        (["--batch-sizes", "32", "32"], ["--batch-sizes 32 32: give each batch size once"]),
        (["--batch-sizes", "0", "32"], ["--batch-sizes 0: give at least 1"]),
        (["--batch-sizes", "32", "4096", "--train-examples", "1000"], ["4096 exceeds"]),
        (["--batch-sizes", "32", "64", "--native"], ["--batch-sizes with --native"]),
        (["--batch-sizes", "32", "64", "--dtype-policy", "mixed_bfloat16"],
         ["--batch-sizes with --dtype-policy mixed_bfloat16"]),
        (["--memory-limit", "8GiB"], ["--memory-limit 8GiB: give --batch-sizes too"]),
        (["--batch-sizes", "32", "64", "--memory-limit", "lots"], ["--memory-limit 'lots'"]),
    ],
)  # fmt: skip
def test_compare_refuses_impossible_batch_sweeps(tmp_path, args, words):
    proc = run("compare", *args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    for word in words:
        assert word in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, words",
    [
        (["--repeat", "0"], ["--repeat 0: give at least 1 run"]),
        (["--gap", "-5"], ["--gap -5.0: must be 0 or more seconds"]),
        (["--precision", "1.5"], ["--precision 1.5: a half-width such as 0.05"]),
        (["--precision", "0"], ["--precision 0.0"]),
        (["--precision", "0.05", "--max-time", "soon"], ["--max-time 'soon'"]),
        (["--precision", "0.05", "--max-time", "0m"], ["--max-time '0m'"]),
        (["--max-time", "20m"], ["--max-time limits --precision's runs"]),
        (["--precision", "0.05", "--repeat", "3"], ["--precision with --repeat 3"]),
    ],
)
def test_compare_refuses_impossible_repeats(tmp_path, args, words):
    proc = run("compare", *args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    for word in words:
        assert word in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, words",
    [
        (["--hosts", "0"], "--hosts 0: give at least 1 host"),
        (["--hosts", "2", "--devices", "64"], "--hosts 2 --devices 64: the check needs 2.."),
        (["--port", "29500"], "--port 29500: only with --hosts 2 or more"),
        (["--hosts", "2", "--port", "0"], "--port 0: a port is 1..65535"),
    ],
)
def test_parallel_check_refuses_impossible_hosts(tmp_path, args, words):
    proc = run("parallel-check", *args, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert words in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_parallel_check_refuses_a_port_in_use(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run("parallel-check", "--hosts", "2", "--port", str(port), cwd=tmp_path)
    assert proc.returncode == 2 and f"--port {port}: in use" in proc.stderr, proc.stderr


def test_compare_refuses_hosts_naming_the_way_that_works(tmp_path):
    proc = run("compare", "--hosts", "2", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "--hosts 2: compare's backends take turns" in proc.stderr
    assert "run --backend B --hosts H" in proc.stderr
    assert list(tmp_path.iterdir()) == []


# Every command that takes the flag, with the arguments it needs to get that far.
TAKES = {
    "--devices": [["compare"], ["run", "--backend", "jax"], ["parallel-check"]],
    "--hosts": [["run", "--backend", "jax"], ["parallel-check"]],
    "--processes": [["compare"]],
    "--data": [
        ["compare"], ["run", "--backend", "jax"], ["grads"], ["portability"], ["data"],
        ["sweep", "--backend", "jax"], ["recipes"], ["timing-check", "--backend", "jax"],
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--devices", "0", "--devices 0: give at least 1 device"),
        ("--devices", "two", "--devices two: not a whole number"),
        ("--hosts", "0", "--hosts 0: give at least 1 host"),
        ("--processes", "0", "--processes 0: give at least 1 process"),
        ("--data", "s3://bucket/mnist.npz", "--data s3://bucket/mnist.npz: no such file"),
        ("--data", "npz:/nowhere.npz", "--data npz:/nowhere.npz: no such file"),
    ],
)
def test_the_same_bad_value_gets_the_same_answer_in_every_command(
    tmp_path, monkeypatch, capsys, flag, value, words
):
    from suite.cli import main

    monkeypatch.chdir(tmp_path)  # in this process: refused at the door, before any import
    for command in TAKES[flag]:
        code = main([*command, flag, value, "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, (command, err)
        assert f"error: {words}" in err, (command, err)
        assert list(tmp_path.iterdir()) == [], command


def test_a_brought_model_with_bad_data_builds_and_writes_nothing(tmp_path):
    source = ROOT / "examples" / "rowgru.py"
    out = tmp_path / "out"
    proc = run(
        "run", "--backend", "jax", "--model", f"{source}:build", "--data", "s3://bucket/mnist.npz",
        "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2 and "--data s3://bucket/mnist.npz" in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
