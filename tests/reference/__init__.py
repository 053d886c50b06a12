"""Tests of the reference server, through real HTTP against started `python -m reference serve` processes."""
