"""API-1: the extreme-value pass, schemathesis, and the budget that bounds both."""
