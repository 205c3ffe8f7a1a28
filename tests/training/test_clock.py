"""The chunk clock: a chunk of Keras' fit() is one fit() call of one epoch, timed from
its ``on_epoch_begin`` until fit() has returned, so it pays fit()'s wind-down (on
TensorFlow, freeing the spent tf.data iterator, as a user's next epoch pays it:
docs/measured.md) and not fit()'s set-up; its turn is given back only after it."""

import time

import numpy as np

from suite.training.clock import Baton, ChunkClock, Turns

PLANTED_S = 0.2  # far longer than a few small steps


class CountingBaton(Baton):
    def __init__(self):
        self.given = []

    def done(self, info):
        self.given.append(info)


def _clock():
    baton = CountingBaton()
    return ChunkClock(Turns(baton), drain=lambda: None), baton


def test_a_chunk_is_timed_to_its_end_and_gives_its_turn_back():
    clock, baton = _clock()
    clock.begin()
    time.sleep(PLANTED_S)
    assert clock.end(5, 0.5) is False
    (record,) = clock.records
    assert record.steps == 5 and record.loss == 0.5 and record.seconds >= PLANTED_S
    assert len(baton.given) == 1 and baton.given[0]["seconds"] == record.seconds


def test_a_diverged_chunk_says_stop_and_records_no_loss():
    clock, baton = _clock()
    clock.begin()
    assert clock.end(5, float("nan")) is True
    assert clock.records[0].loss is None and len(baton.given) == 1


def _trainer_and_batches(small_config, mnist):
    from suite.core.data import preprocess
    from suite.training.trainers import KerasTrainer

    trainer = KerasTrainer(small_config(model="softmax"))
    b = trainer.cfg.batch_size
    x, y = preprocess(mnist.x_train[: 8 * b]), mnist.y_train[: 8 * b].astype(np.int32)
    trainer.train_chunks(x, y, 4, 2, _clock()[0])  # compiles
    return trainer, x, y


def test_every_chunk_of_a_real_fit_pays_its_wind_down_inside_its_turn(
    small_config, backend, mnist, monkeypatch
):
    """A slow wind-down planted in Keras' own History callback (``on_train_end`` runs
    after the epoch, inside fit()): each chunk is its own fit() call and pays it, and
    its turn comes back only after it."""
    import keras

    trainer, x, y = _trainer_and_batches(small_config, mnist)
    ended, given_at = [], []

    def slow_end(self, logs=None):
        time.sleep(PLANTED_S)
        ended.append(time.perf_counter())

    monkeypatch.setattr(keras.callbacks.History, "on_train_end", slow_end)
    clock, baton = _clock()
    baton.done = lambda info: given_at.append(time.perf_counter())
    assert trainer.train_chunks(x, y, 4, 2, clock) is False
    assert len(ended) == 2  # one fit() per chunk
    assert len(clock.records) == 2 and all(r.seconds >= PLANTED_S for r in clock.records)
    assert given_at[0] > ended[0] and given_at[1] > ended[1]


def test_fit_set_up_is_in_no_chunk(small_config, backend, mnist, monkeypatch):
    """The must-reject side: a slow set-up planted in ``on_train_begin`` (before the
    epoch starts) is in no chunk's clock."""
    import keras

    trainer, x, y = _trainer_and_batches(small_config, mnist)
    begin = keras.callbacks.History.on_train_begin

    def slow_begin(self, logs=None):
        begin(self, logs)
        time.sleep(PLANTED_S)

    monkeypatch.setattr(keras.callbacks.History, "on_train_begin", slow_begin)
    clock, _ = _clock()
    assert trainer.train_chunks(x, y, 4, 2, clock) is False
    assert len(clock.records) == 2 and all(r.seconds < PLANTED_S for r in clock.records)
