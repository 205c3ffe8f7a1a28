"""The one error type the CLI turns into a single line and exit code 2."""


class SuiteError(Exception):
    """Bad input or an impossible setting: the message names the problem and the fix."""
