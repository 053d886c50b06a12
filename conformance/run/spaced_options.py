"""Refuse a path-valued option written with a space when pytest let its value choose the root directory.

Why this happens (pytest 8 and 9, pytest-dev/pytest#1435, #8846): pytest
determines the root directory and the configuration file in ``Config.parse``
*before* it loads the installed plugins, parsing the command line with its own
options only. ``--profile /abs/p.toml`` is then an unknown option followed by
a positional argument; an existing path among the positional arguments is a
test path, so the root becomes ``/abs`` (or its ancestor with a configuration
file), the project's configuration (testpaths, addopts, markers, timeout) is
dropped, and the later full parse, which does know ``--profile``, leaves no
test path at all: pytest collects the whole working directory. With
``--profile=/abs/p.toml`` the value stays attached to its option. Plugin
hooks run too late to change the root (``pytest_cmdline_preparse`` is gone in
pytest 8; ``pytest_load_initial_conftests`` runs after the root is chosen),
so a plugin can only refuse, and it does so here, in that hook, with one line.

It refuses only when it matters: when the root directory or configuration
file pytest chose differs from the one it chooses for the same command line
with those values attached to their options (pytest's own
``determine_setup``), so ``--profile my.toml`` in the project keeps working.
``heallog-conformance`` passes ``-c`` and ``--rootdir``, which pins both, so
there every spelling works.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

#: The harness's options whose values are paths (the ones users write with a space most).
PATH_OPTIONS = (
    "--profile",
    "--accounts",
    "--sut-log-file",
    "--conformance-report",
    "--baseline",
    "--conformance-html",
    "--conformance-summary",
    "--conformance-har",
    "--conformance-sarif",
)


def spaced_values(args: list[str], positional: list[str], invocation_dir: Path) -> list[tuple[str, str]]:
    """``(option, value)`` pairs written ``--option value`` whose value exists as a path but is no positional.

    Those are exactly the arguments that the early parse (pytest's options only)
    took for test paths and the full parse gave to their option.
    """
    found = []
    for option, value in zip(args, args[1:]):
        if (
            option.startswith("--")
            and "=" not in option
            and not value.startswith("-")
            and value not in positional
            and (invocation_dir / value.split("::", 1)[0]).exists()
        ):
            found.append((option, value))
    return found


def intended_setup(early_config: pytest.Config) -> tuple[Path, Path | None]:
    """The root directory and configuration file pytest picks from the real positional arguments."""
    from _pytest.config.findpaths import determine_setup  # private, hence tests/core/test_spaced_options.py

    namespace = early_config.known_args_namespace
    kwargs: dict[str, Any] = {
        "inifile": namespace.inifilename,
        "args": list(namespace.file_or_dir),
        "rootdir_cmd_arg": namespace.rootdir or None,
        "invocation_dir": early_config.invocation_params.dir,
    }
    if "override_ini" in inspect.signature(determine_setup).parameters:  # pytest >= 9
        kwargs["override_ini"] = namespace.override_ini
    rootpath, inipath, *_ = determine_setup(**kwargs)
    return rootpath, inipath


def refusal(early_config: pytest.Config, args: list[str]) -> str | None:
    """The one-line refusal, or None when the command line is fine."""
    namespace = early_config.known_args_namespace
    invocation_dir = early_config.invocation_params.dir
    culprits = spaced_values(args, list(namespace.file_or_dir), invocation_dir)
    if not culprits:
        return None
    intended_root, intended_ini = intended_setup(early_config)
    if (intended_root, intended_ini) == (early_config.rootpath, early_config.inipath):
        return None
    ours = [pair for pair in culprits if pair[0] in PATH_OPTIONS] or culprits
    written = ", ".join(f"{option}={value}" for option, value in ours)
    spaced = ", ".join(f"'{option} {value}'" for option, value in ours)
    instead = f"{intended_root} ({intended_ini.name})" if intended_ini else str(intended_root)
    return (
        f"conformance: write {written} (with '='), not {spaced}: after a space pytest takes the path for a "
        f"test path and roots the run at {early_config.rootpath} instead of {instead}"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: Any, args: list[str]) -> None:
    message = refusal(early_config, args)
    if message:
        raise pytest.UsageError(message)
