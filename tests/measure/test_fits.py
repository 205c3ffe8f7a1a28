"""The largest batch that fits: sizes in words and back, and a planted out-of-memory (the
framework's own error, raised in the attempt's fresh process) recorded as a result, the
search stopped there, nothing crashed."""

import pytest

from suite.core.errors import SuiteError
from suite.core.memory import fits_words, parse_size


@pytest.mark.parametrize(
    "text, size", [("8GiB", 8 * 2**30), ("512MiB", 512 * 2**20), ("1.5g", int(1.5 * 2**30)),
                   ("2T", 2 * 2**40), ("4096", 4096)]
)  # fmt: skip
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "0", "8 GB of it"])
def test_bad_sizes_name_the_flag(text):
    with pytest.raises(SuiteError, match="--memory-limit"):
        parse_size(text)


def test_fits_words():
    row = {"largest": 16384, "failed_at": 32768, "failed_as": "out of memory",
           "attempts": [{"batch": 16384}, {"batch": 32768}]}  # fmt: skip
    assert fits_words(row) == "16,384 (out of memory at 32,768)"
    none = {**row, "largest": None, "failed_at": 64, "failed_as": "over the limit"}
    assert fits_words(none) == "none: over the limit at 64"
    room = {**row, "failed_at": None, "failed_as": None}
    assert fits_words(room) == "16,384 (still fits at 32,768)"


def test_a_planted_out_of_memory_is_recorded_and_the_search_stops(backend):
    from suite.measure.fits import largest_batch

    said = []
    row = largest_batch(backend, "softmax", "cpu", 64, 2**40, said.append, fault_at=256)
    assert [a["batch"] for a in row["attempts"]] == [64, 128, 256]
    assert [a["status"] for a in row["attempts"]] == ["fits", "fits", "out of memory"]
    assert row["largest"] == 128 and fits_words(row) == "128 (out of memory at 256)"
    assert all(a["peak_bytes"] > 0 for a in row["attempts"][:2])
    # the same attempts under a limit they pass: over the limit, recorded the same way
    tight = largest_batch(backend, "softmax", "cpu", 64, 2**20, said.append)
    assert tight["largest"] is None and tight["failed_as"] == "over the limit"
