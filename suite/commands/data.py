"""``data``: fetch or verify MNIST and say where it came from."""

from __future__ import annotations

from suite.commands import args as shared

NAME = "data"


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help="fetch or verify MNIST and print where it came from")
    shared.add(p, "data")
    p.set_defaults(func=handle)


def handle(args) -> int:
    import numpy as np

    from suite.core.data import sha256

    mnist = shared.load_data(args.data)
    print(f"source:  {mnist.source}")
    print(f"cache:   {mnist.cache_path}")
    for key, a in mnist.arrays().items():
        print(f"{key:8} {a.dtype}{list(a.shape)}  sha256 {sha256(a)}")
    for key in ("y_train", "y_test"):
        counts = " ".join(str(int(c)) for c in np.bincount(getattr(mnist, key)))
        print(f"{key} label counts: {counts}")
    print("verified: shapes, dtypes, label counts and SHA-256 match MNIST")
    return 0
