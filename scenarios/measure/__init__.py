"""Measurement scripts (``python -m scenarios.measure.X``): how often a race shows, over many runs."""
