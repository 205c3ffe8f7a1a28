"""What each host feeds of a global batch (``Feed``), without a framework."""

import numpy as np
import pytest

from suite.training.trainers import Feed


def test_each_host_feeds_its_own_rows_and_together_they_are_every_row():
    x = np.arange(3 * 8 * 2).reshape(3 * 8, 2)  # 3 global batches of 8 rows
    parts = [Feed(8, 2, i).rows(x) for i in range(2)]
    assert Feed(8, 2, 0).size == 4 and all(len(p) == 12 for p in parts)
    assert parts[0][:4].tolist() == x[0:4].tolist() and parts[1][:4].tolist() == x[4:8].tolist()
    assert parts[1][4:8].tolist() == x[12:16].tolist()  # batch 2's second half
    together = np.concatenate([np.stack([p[i * 4 : i * 4 + 4] for p in parts]) for i in range(3)])
    assert sorted(together.reshape(-1, 2)[:, 0].tolist()) == x[:, 0].tolist()


def test_one_host_feeds_everything_and_a_partial_batch_is_never_fed():
    x = np.arange(20)
    assert Feed(8).rows(x) is x
    assert Feed(8, 2, 1).rows(x).tolist() == [4, 5, 6, 7, 12, 13, 14, 15]


@pytest.mark.parametrize("index", [0, 1])
def test_two_hosts_never_feed_the_same_row(index):
    x = np.arange(64)
    mine, other = Feed(16, 2, index).rows(x), Feed(16, 2, 1 - index).rows(x)
    assert not set(mine.tolist()) & set(other.tolist())
