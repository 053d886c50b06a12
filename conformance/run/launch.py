"""Running the suites with the package's own pytest configuration, from any directory.

Plain ``pytest`` takes its root directory, configuration file, test paths,
cache and Hypothesis database from the directory it is started in; for a
harness installed into a backend team's environment that is the wrong one
(their checkout, their CI workspace). The launcher pins them instead:

- ``-c <package>/harness.ini`` and ``--rootdir <parent of the package>``:
  with both given pytest no longer derives the root from the command line's
  paths, so a path-valued option written with a space (``--profile
  /abs/p.toml``) cannot move it (see :mod:`conformance.run.spaced_options`),
  and node ids read ``conformance/test_auth.py::...`` as in the checkout;
- the configuration's ``testpaths`` (``conformance``, ``scenarios``) under
  that root when the command line names no test path: pytest itself uses
  ``testpaths`` only when started *in* the root directory;
- pytest's cache (``--lf`` works) and Hypothesis' example database under the
  user's cache directory, never in the working directory.

Every other argument goes to pytest unchanged, options of pytest and of every
plugin alike, and pytest parses them as usual.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import conformance
from conformance.run import interrupt

PACKAGE_DIR = Path(conformance.__file__).resolve().parent
#: The root of the suites' node ids: site-packages when installed, the checkout when editable.
ROOT_DIR = PACKAGE_DIR.parent
CONFIG_FILE = PACKAGE_DIR / "run" / "harness.ini"
CACHE_ENV = "HEALLOG_CONFORMANCE_CACHE"


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the harness keeps state between runs: ``$HEALLOG_CONFORMANCE_CACHE``, else the XDG cache directory.

    (The XDG rule is one line; platformdirs would be a dependency for it.)
    """
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV]).expanduser()
    base = Path(environ["XDG_CACHE_HOME"]).expanduser() if environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "heallog-conformance"


def environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Variables to set for the run: Hypothesis' database location, unless the user chose one."""
    if environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return {}
    return {"HYPOTHESIS_STORAGE_DIRECTORY": str(cache_dir(environ) / "hypothesis")}


def pytest_args(user_args: Sequence[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    """The pytest command line: the pinned configuration first, so that the user's own options win."""
    args = ["-c", str(CONFIG_FILE), "--rootdir", str(ROOT_DIR)]
    if "no:cacheprovider" not in user_args:  # an override of a disabled plugin's key would only warn
        args += ["-o", f"cache_dir={cache_dir(environ) / 'pytest-cache'}"]
    return args + list(user_args)


class SuitePaths:
    """A launcher-only plugin: the suites when the command line names no test path, node ids as test paths.

    It acts in ``pytest_load_initial_conftests``, the hook pytest documents for
    changing the arguments in place: all installed plugins' options are known by
    then, so ``file_or_dir`` holds only real positional arguments. A node id the
    launcher printed (``conformance/test_auth.py::test_x``) names a file under
    the root, not under the working directory: it is accepted back as such.
    """

    def __init__(self, root: Path = ROOT_DIR) -> None:
        self.root = root

    @pytest.hookimpl(tryfirst=True)
    def pytest_load_initial_conftests(self, early_config: pytest.Config, parser: Any, args: list[str]) -> None:
        namespace = early_config.known_args_namespace
        invocation_dir = early_config.invocation_params.dir
        if not namespace.file_or_dir:
            paths = [str(self.root / path) for path in early_config.getini("testpaths")]
            args.extend(paths)
            namespace.file_or_dir = list(paths)  # pytest's own initial-conftest loading reads it next
            return
        if namespace.pyargs:
            return
        for i, arg in enumerate(args):
            path = arg.split("::", 1)[0]
            if arg in namespace.file_or_dir and not (invocation_dir / path).exists() and (self.root / path).exists():
                args[i] = str(self.root / arg)
                namespace.file_or_dir = [str(self.root / a) if a == arg else a for a in namespace.file_or_dir]

    def pytest_configure(self, config: pytest.Config) -> None:
        # pytest shows node ids relative to the working directory ("../../usr/lib/.../conformance/test_x.py"),
        # which has nothing to do with where the suites are installed: show them as they are, rooted at
        # the package's parent, which is also how the launcher accepts them back.
        config.cwd_relative_nodeid = lambda nodeid: nodeid  # type: ignore[method-assign]


def run(user_args: Sequence[str]) -> int:
    """Run the suites; returns pytest's exit code (130 or 143 when SIGINT or SIGTERM stopped the run)."""
    os.environ.update(environment())
    code = int(pytest.main(pytest_args(user_args), plugins=[SuitePaths()]))
    return interrupt.exit_code() or code
