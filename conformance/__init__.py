"""The HealLog conformance harness: the pytest plugin, the black-box suites, the ``heallog-conformance`` command.

PYTEST_DONT_REWRITE applies to this file only: the command imports the package
before pytest starts, and pytest would otherwise warn on every run that it cannot
rewrite it (it holds no assertions). Its modules are rewritten as before.
"""
