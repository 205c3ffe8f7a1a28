"""Keras 3 multi-backend comparison suite: train, time and compare torch, JAX and TensorFlow."""

__version__ = "0.1.0"
