"""Gradient equivalence across backends and against float64 numpy references."""
