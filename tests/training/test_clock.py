"""The chunk clock: a chunk stops at its ``on_epoch_end``; the last chunk of a fit()
call keeps its turn until fit() has returned, so fit()'s wind-down runs inside this
worker's turn, never during another backend's chunk, and outside every clock (a cost
interleaving inflates: docs/measured.md, "TensorFlow's spent tf.data iterator")."""

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


def _compiled_trainer(small_config, mnist):
    """A softmax KerasTrainer and 8 batches, trained once in 2 chunks (compiled)."""
    from suite.core.data import preprocess
    from suite.training.trainers import KerasTrainer

    trainer = KerasTrainer(small_config(model="softmax"))
    b = trainer.cfg.batch_size
    x, y = preprocess(mnist.x_train[: 8 * b]), mnist.y_train[: 8 * b].astype(np.int32)
    trainer.train_chunks(x, y, 4, 2, _clock()[0])
    return trainer, x, y


def test_a_held_chunk_is_timed_to_its_end_and_keeps_its_turn_until_release():
    clock, baton = _clock()
    clock.begin()
    assert clock.end(5, 0.5, hold=True) is False
    (record,) = clock.records
    assert baton.given == []  # still our turn
    time.sleep(WIND_DOWN_S)  # fit()'s wind-down
    clock.release()
    assert record.steps == 5 and record.loss == 0.5 and record.seconds < WIND_DOWN_S
    assert len(baton.given) == 1 and baton.given[0]["seconds"] == record.seconds
    clock.release()  # nothing left: no second turn given
    assert len(baton.given) == 1


def test_a_chunk_not_held_gives_its_turn_at_once():
    clock, baton = _clock()
    clock.begin()
    assert clock.end(5, 0.5) is False
    assert len(clock.records) == 1 and len(baton.given) == 1


def test_a_diverged_chunk_keeps_its_turn_until_release():
    clock, baton = _clock()
    clock.begin()
    assert clock.end(5, float("nan")) is True
    assert clock.records[0].loss is None and baton.given == []
    clock.release()
    assert len(baton.given) == 1


def test_a_real_fit_winds_down_inside_its_turn_and_outside_its_clock(
    small_config, backend, mnist, monkeypatch
):
    """A slow wind-down planted in Keras' own History callback (on_train_end runs after
    the last epoch, inside fit()): no chunk pays it, and the turn comes back only after
    it, when fit() has returned."""
    import keras

    trainer, x, y = _compiled_trainer(small_config, mnist)
    clock, baton = _clock()
    given_at = []
    baton.done = lambda info: given_at.append(time.perf_counter())
    ended = []

    def slow_end(self, logs=None):
        time.sleep(WIND_DOWN_S)
        ended.append(time.perf_counter())

    monkeypatch.setattr(keras.callbacks.History, "on_train_end", slow_end)
    assert trainer.train_chunks(x, y, 4, 2, clock) is False
    assert all(r.seconds < WIND_DOWN_S for r in clock.records) and len(clock.records) == 2
    assert len(given_at) == 2 and given_at[1] > ended[0]  # the last turn after the wind-down


def test_fit_set_up_is_in_no_chunk(small_config, backend, mnist, monkeypatch):
    """The other side of the chunk: a slow set-up planted in Keras' History
    ``on_train_begin`` (before the first epoch begins) is in no chunk's clock."""
    import keras

    trainer, x, y = _compiled_trainer(small_config, mnist)
    begin = keras.callbacks.History.on_train_begin

    def slow_begin(self, logs=None):
        begin(self, logs)
        time.sleep(WIND_DOWN_S)

    monkeypatch.setattr(keras.callbacks.History, "on_train_begin", slow_begin)
    clock, _ = _clock()
    assert trainer.train_chunks(x, y, 4, 2, clock) is False
    assert len(clock.records) == 2 and all(r.seconds < WIND_DOWN_S for r in clock.records)
