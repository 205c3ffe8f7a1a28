"""The rounds coordinator: worker environments and the messages."""


def test_workers_sharing_a_gpu_do_not_claim_it_whole():
    from suite.rounds.coordinator import worker_env

    gpu = worker_env({"PATH": "/bin"}, "gpu")
    assert gpu["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert gpu["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and gpu["PATH"] == "/bin"
    assert worker_env({"PATH": "/bin"}, "cpu") == {"PATH": "/bin"}


class FakeWorker:
    """A worker that answers like suite.rounds.worker: a set-up, ``chunks`` chunks, the
    cell's end; it records every message it was sent."""

    def __init__(self, name, chunks=3, step_seconds=0.01, die_at=None):
        self.name, self.chunks, self.step_seconds, self.die_at = name, chunks, step_seconds, die_at
        self.sent, self.replies = [], 0

    def send(self, message):
        self.sent.append(message)

    def recv(self):
        from suite.rounds import protocol
        from suite.rounds.coordinator import WorkerDied

        self.replies += 1
        if self.die_at == self.replies:
            raise WorkerDied(self.name)
        if self.replies == 1:
            return {"kind": protocol.SETUP, "step_seconds": self.step_seconds}
        if self.replies <= 1 + self.chunks:
            return {"kind": protocol.CHUNK, "steps": 20, "seconds": 0.2, "before_clock_s": 0.0}
        return {"kind": protocol.CELL_DONE, "status": "ok", "test_accuracy": 0.9}

    def cpu_seconds(self):
        return 0.0


def _cells():
    from suite.core.config import RunConfig, validate

    return {
        b: validate(RunConfig(b, "softmax", epochs=1, train_examples=8192), check_install=False)
        for b in ("jax", "torch")
    }


def test_rounds_alternate_order_and_hand_out_one_chunk_size():
    from suite.rounds import protocol
    from suite.rounds.coordinator import train_in_rounds

    workers = {"jax": FakeWorker("jax"), "torch": FakeWorker("torch", step_seconds=0.05)}
    turns = train_in_rounds(workers, _cells(), "s/softmax/seed0", 0.0, lambda m: None)
    assert [t.kind for t in turns if t.backend == "jax"] == ["setup", *["chunk"] * 3, "cell_done"]
    firsts = [next(t.backend for t in turns if t.round == r) for r in range(4)]
    assert firsts == ["jax", "torch", "torch", "jax"]  # ABBA: no one always goes first
    assert workers["jax"].sent[0] == protocol.start_cell(
        workers["jax"].sent[0]["config"], "s/softmax/seed0"
    )
    sizes = {m.get("chunk_steps") for w in workers.values() for m in w.sent[1:]}
    assert len(sizes) == 1 and sizes.pop() > 0  # the same chunk size for both


def test_a_worker_that_dies_fails_its_cell_and_the_others_go_on():
    from suite.rounds.coordinator import train_in_rounds

    workers = {"jax": FakeWorker("jax"), "torch": FakeWorker("torch", die_at=2)}
    logged = []
    turns = train_in_rounds(workers, _cells(), "s", 0.0, logged.append)
    assert workers["torch"] is None
    assert any("torch: worker died" in m for m in logged)
    assert [t.kind for t in turns if t.backend == "jax"][-1] == "cell_done"


def test_messages_round_trip_and_a_closed_pipe_ends_the_worker():
    import io

    import pytest

    from suite.rounds import protocol
    from suite.rounds.worker import PipeBaton

    message = protocol.next_turn(3, 40)
    assert protocol.decode(protocol.encode(message)) == {"round": 3, "chunk_steps": 40}
    assert protocol.next_turn(1, None) == {"round": 1}
    out = io.StringIO()
    baton = PipeBaton(io.StringIO(protocol.encode(message)), out)
    assert baton.wait() == message
    baton.done({"kind": protocol.CHUNK})
    assert protocol.decode(out.getvalue()) == {"kind": "chunk"}
    with pytest.raises(SystemExit):
        baton.wait()  # end of input: the coordinator is gone
    exiting = PipeBaton(io.StringIO(protocol.encode(protocol.EXIT)), io.StringIO())
    with pytest.raises(SystemExit):
        exiting.wait()  # EXIT ends the worker wherever it waits, also mid-cell
