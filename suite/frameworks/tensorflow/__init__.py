"""tensorflow: its runtime, native baseline and data-parallel engine (see suite.frameworks)."""
