"""Every backend sees the same batch bytes in the same order (one child process each)."""

import json
import subprocess
import sys

import pytest

from suite.core.platform import BACKENDS, child_env

CHILD = """
import hashlib, json, sys
import numpy as np
from suite.frameworks import select_backend
select_backend(sys.argv[1])
import keras
from suite.core.data import epoch_batches, load_mnist, preprocess
m = load_mnist()
digests = []
for epoch in range(2):
    idx = epoch_batches(len(m.y_train), 128, seed=7, epoch=epoch)[:3]
    for b in idx:
        x = keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(preprocess(m.x_train[b])))
        y = keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(m.y_train[b]))
        digests.append(hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest())
print(json.dumps({"backend": keras.backend.backend(), "digests": digests}))
"""


@pytest.mark.cross
def test_batches_identical_across_backends(mnist):
    env = child_env()
    seen = {}
    for backend in BACKENDS:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, backend],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out["backend"] == backend
        seen[backend] = out["digests"]
    assert seen["torch"] == seen["jax"] == seen["tensorflow"]
    assert len(set(seen["jax"])) == 6
