"""The one wire: every request the harness sends leaves through this package."""
