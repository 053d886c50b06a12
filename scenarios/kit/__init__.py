"""The scenarios' helpers: bursts, races, ledgers, strategies (the suites are the test_*.py beside)."""
