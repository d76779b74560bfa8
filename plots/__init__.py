"""Plots: fits, figures and the report, read-only over the marts."""
