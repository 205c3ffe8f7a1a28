"""``diff``: what changed between two result sets, in the manner of ``asv compare``."""

from __future__ import annotations

import numpy as np

from suite.core.stats import unpaired_ratio
from suite.report.groups import geomean, variant

STEP_CHANGE = 0.10  # diff flags throughput changes larger than this, CI excluding 1 ...

UNPAIRED_DRIFT = 0.30  # ... or, with one run a side (no CI), larger than the VM drift seen

ACC_FLOOR = 0.003  # with fewer than 2 seeds, accuracy changes beyond 0.3 points are flagged


def diff_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """Cells present in both sets (same backend, device kind, model, impl and settings), in
    the manner of ``asv compare``: the time ratio new/old of training throughput with a
    Welch interval over runs (seeds) -- the two sets did not train side by side, so no
    pairing -- and the accuracy change against seed noise."""

    def index(runs):
        out: dict[tuple, list[dict]] = {}
        for r in runs:
            if r.status == "ok" and r.throughput_examples_per_s:
                c = r.config
                key = (c["backend"], c["device"], c["model"], c.get("impl", "keras"), variant(c))
                out.setdefault(key, []).append(r)
        return out

    a, b = index(old), index(new)
    rows = []
    for key in sorted(set(a) & set(b)):
        ta = [r.throughput_examples_per_s for r in a[key]]
        tb = [r.throughput_examples_per_s for r in b[key]]
        q = unpaired_ratio(ta, tb)  # old/new throughput = new/old time
        if q.low is not None:
            changed = (q.low > 1 or q.high < 1) and abs(q.ratio - 1) > STEP_CHANGE
        else:
            changed = abs(q.ratio - 1) > UNPAIRED_DRIFT
        acc_a = [r.final_test_accuracy for r in a[key]]
        acc_b = [r.final_test_accuracy for r in b[key]]
        delta = float(np.mean(acc_b) - np.mean(acc_a))
        noise = max([np.std(x, ddof=1) for x in (acc_a, acc_b) if len(x) > 1] or [0.0])
        acc_flag = abs(delta) > (2 * noise if noise > 0 else ACC_FLOOR)
        rows.append(
            {
                "backend": key[0],
                "device": key[1],
                "model": key[2],
                "impl": key[3],
                "old_examples_per_s": geomean(ta),
                "new_examples_per_s": geomean(tb),
                "time_ratio": q,
                "step_flag": ("slower" if q.ratio > 1 else "faster") if changed else "",
                "old_acc": float(np.mean(acc_a)),
                "new_acc": float(np.mean(acc_b)),
                "acc_delta": delta,
                "acc_flag": acc_flag,
            }
        )
    return rows
