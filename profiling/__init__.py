"""Profiling: FLOP/param counts, accuracy metadata, timed runs, power sensors."""
