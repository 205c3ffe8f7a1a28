"""Measurements: the compare matrix, the sweep of execution modes, the timing check."""
