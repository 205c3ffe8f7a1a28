"""The one way the suite runs a child process that chooses its own backend.

Keras picks its backend once per process, so every cross-backend job (the checks'
children, recipes on each backend, the rounds workers) runs Python children. Their
stderr carries progress and errors mixed with framework start-up noise; the noise is
left out the same way everywhere (``quiet``), and a failure becomes one line naming
what failed and the child's last words.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterable

from suite.core.errors import SuiteError
from suite.core.platform import FRAMEWORK_LOG, child_env


def quiet(lines: Iterable[str]):
    """The lines worth showing: not blank, not a framework's import-time log line."""
    for line in lines:
        if line.strip() and not FRAMEWORK_LOG.match(line):
            yield line.rstrip("\n")


def forward(stream, write: Callable[[str], None] | None = None) -> None:
    """Copy a child's stream to ``write`` (default: our stderr), noise left out."""
    for line in quiet(stream):
        if write is None:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        else:
            write(line)


def child_args(module: str, argv, *names: str, optional: int = 0) -> list[str]:
    """A child module's positional arguments (``names``, the last ``optional`` of them may
    be left out), as its parent wrote them; SystemExit with the usage line otherwise.
    A child's command line is the parent's doing: everything else is in its request."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not len(names) - optional <= len(args) <= len(names):
        raise SystemExit(f"usage: python -m {module} {' '.join(names)}")
    return args


def python_module(module: str, *args: str) -> list[str]:
    """The command line that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *map(str, args)]


def run_child(
    cmd: list[str],
    what: str,
    log: Callable[[str], None] | None = None,
    prefix: str = "",
    env: dict | None = None,
    check: bool = True,
    show: Callable[[str], bool] | None = None,
) -> int:
    """Run ``cmd`` to its end. Its stderr, noise left out, streams to ``log`` (with
    ``prefix``) as it comes, only the lines ``show`` accepts when given, or is kept back
    when ``log`` is None. A non-zero exit is SuiteError("``what`` failed: <the child's
    last line>") when ``check``; else its exit code is returned."""
    proc = subprocess.Popen(
        cmd, env=child_env() if env is None else env, stderr=subprocess.PIPE, text=True
    )
    last = "?"
    for line in quiet(proc.stderr):
        last = line
        if log is not None and (show is None or show(line)):
            log(prefix + line)
    code = proc.wait()
    if code and check:
        raise SuiteError(f"{what} failed: {last}")
    return code
