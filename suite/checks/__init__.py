"""Checks that the backends compute the same thing: gradients (``grads``), weights
across backends (``portability``) and data-parallel training (``parallel``). Each has a
``judge`` (pure numpy, with cases it must reject), a ``run`` (one child process per
backend, a typed request, one result file) and a ``child`` (the backend's side)."""
