"""The chunk clock: the last chunk of a fit() call ends when fit() returns, and its turn
is given back only then."""

import time

import numpy as np

from suite.training.clock import Baton, ChunkClock, Turns

WIND_DOWN_S = 0.2  # planted: far longer than a few small steps


class CountingBaton(Baton):
    def __init__(self):
        self.given = []

    def done(self, info):
        self.given.append(info)


def _clock():
    baton = CountingBaton()
    return ChunkClock(Turns(baton), drain=lambda: None), baton


def test_a_held_chunk_is_timed_until_release_and_keeps_its_turn():
    clock, baton = _clock()
    clock.begin()
    assert clock.end(5, 0.5, hold=True) is False
    assert clock.records == [] and baton.given == []  # still open, still our turn
    time.sleep(WIND_DOWN_S)  # fit()'s wind-down
    clock.release()
    (record,) = clock.records
    assert record.steps == 5 and record.loss == 0.5 and record.seconds >= WIND_DOWN_S
    assert len(baton.given) == 1 and baton.given[0]["seconds"] == record.seconds
    clock.release()  # nothing left: no second turn given
    assert len(baton.given) == 1


def test_a_chunk_not_held_stops_at_its_end():
    clock, baton = _clock()
    clock.begin()
    assert clock.end(5, 0.5) is False
    time.sleep(WIND_DOWN_S)
    clock.release()
    (record,) = clock.records
    assert record.seconds < WIND_DOWN_S and len(baton.given) == 1


def test_a_diverged_chunk_is_recorded_at_once_and_keeps_its_turn():
    clock, baton = _clock()
    clock.begin()
    assert clock.end(5, float("nan"), hold=True) is True
    assert clock.records[0].loss is None and baton.given == []
    clock.release()
    assert len(clock.records) == 1 and len(baton.given) == 1


def test_the_last_chunk_of_a_real_fit_includes_fit_winding_down(
    small_config, backend, mnist, monkeypatch
):
    """A slow wind-down planted in Keras' own History callback (on_train_end runs after
    the last epoch, inside fit()): the last chunk pays it, the one before does not."""
    import keras

    from suite.core.data import preprocess
    from suite.training.trainers import KerasTrainer

    trainer = KerasTrainer(small_config(model="softmax"))
    b = trainer.cfg.batch_size
    x, y = preprocess(mnist.x_train[: 8 * b]), mnist.y_train[: 8 * b].astype(np.int32)
    trainer.train_chunks(x, y, 4, 2, _clock()[0])  # compiles
    monkeypatch.setattr(
        keras.callbacks.History, "on_train_end", lambda self, logs=None: time.sleep(WIND_DOWN_S)
    )
    clock, baton = _clock()
    assert trainer.train_chunks(x, y, 4, 2, clock) is False
    first, last = clock.records
    assert last.seconds >= WIND_DOWN_S > first.seconds
    assert len(baton.given) == 2
