"""Activates the conformance plugin in this checkout (an installed copy registers it as a pytest11 entry point).

``pytester`` is here because plugins may only be requested from the root conftest;
the plugin's own tests (tests/plugin) need it.
"""

pytest_plugins = ["conformance.plugin", "pytester"]
