"""Memory sizes in words and back: ``--memory-limit``'s argument, and the largest batch
that fits (``suite.measure.fits``) as the report and the console say it."""

from __future__ import annotations

import re

from suite.core.errors import SuiteError

UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str, flag: str = "--memory-limit") -> int:
    """Bytes from "8GiB", "512MiB", "8G", "1.5g" or a plain byte count; SuiteError naming
    the flag."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
    if not m or float(m.group(1)) <= 0:
        raise SuiteError(f"{flag} {text!r}: give a size such as 8GiB or 512MiB")
    return int(float(m.group(1)) * UNITS[m.group(2)])


def fits_words(row: dict) -> str:
    """ "16,384 (out of memory at 32,768)", or why not even the first fit."""
    failed = (f"{row['failed_as']} at {row['failed_at']:,}" if row["failed_at"]
              else f"still fits at {max(a['batch'] for a in row['attempts']):,}")  # fmt: skip
    if row["largest"] is None:
        return f"none: {failed}"
    return f"{row['largest']:,} ({failed})"
