"""Speed across batch sizes in the report: the winner per batch size as ranges, the flip's
margin, a tie as a winner of its own, and the figure's bands."""

from suite.core.stats import Ratio
from suite.report.batches import batch_curves, batch_groups, batch_words
from suite.report.verdict import Verdict

BASE = "epochs=1, batch_size={b}, learning_rate=0.001, optimizer=adam"


def device(winners: dict[int, str], speed: str = "1.31× faster than jax [1.20, 1.43]") -> dict:
    groups = [("cnn", BASE.format(b=b)) for b in winners]
    groups.append(("cnn", BASE.format(b=128) + ", dtype_policy=mixed_bfloat16"))  # not swept
    verdict = [Verdict("cnn", use, speed, "", "", "", key=("cnn", BASE.format(b=b)))
               for b, use in winners.items()]  # fmt: skip
    ratio = Ratio(1.31, 1.20, 1.43, 12, "paired rounds")
    speed_rows = {
        ("cnn", BASE.format(b=b)): [
            {"backend": use, "examples_per_s": 1000.0 * b ** 0.5, "ratio": None,
             "ms_per_step": 1.0, "peak_rss_mb": 500.0},
            {"backend": "torch", "examples_per_s": 1000.0 * b ** 0.5 / 1.31, "ratio": ratio,
             "ms_per_step": 1.3, "peak_rss_mb": 600.0},
        ]
        for b, use in winners.items()
    }  # fmt: skip
    return {"groups": groups, "verdict": verdict, "speed": speed_rows, "models": ["cnn"]}


def test_the_winner_per_batch_size_as_ranges_with_the_flips_margin():
    d = device({32: "jax", 128: "jax", 512: "tensorflow", 2048: "tensorflow"})
    assert [b for b, _ in batch_groups(d, "cnn")] == [32, 128, 512, 2048]
    words = batch_words(d, "cnn")
    assert words == "jax up to 128; tensorflow from 512: 1.31× faster than jax [1.20, 1.43]"
    middle = batch_words(device({32: "jax", 256: "jax or torch", 2048: "tensorflow"}), "cnn")
    assert middle.startswith("jax up to 32; jax or torch at 256: ")
    assert " tensorflow from 2048: " in middle
    same = batch_words(device({32: "jax", 2048: "jax"}), "cnn")
    assert same == "jax at every batch size (32–2048)"
    assert batch_words(device({128: "jax"}), "cnn") == ""  # one batch size: no sweep


def test_the_figures_band_is_the_ratios_interval_around_the_fastest():
    curves = batch_curves(device({32: "jax", 512: "jax"}), "cnn")
    (b, y, low, high) = curves["torch"][0]
    fastest = curves["jax"][0][1]
    assert b == 32 and low == fastest / 1.43 and high == fastest / 1.20 and low < y < high
    assert curves["jax"][0][2] == curves["jax"][0][1] == curves["jax"][0][3]  # no band
