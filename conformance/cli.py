"""The ``heallog-conformance`` command (also ``python -m conformance``).

    heallog-conformance [PYTEST AND PLUGIN OPTIONS...]   run the suites (conformance/run/launch.py)
    heallog-conformance requirements [IDS...] [--json]   list the requirements: ID, level, title, text
    heallog-conformance explain ID                       one requirement: text, probes, needs, fix
    heallog-conformance standard                         the whole standard as Markdown (docs/standard.md)

Only a first argument naming a subcommand is taken by this module; anything
else is a run, so every pytest option keeps its meaning
(``heallog-conformance --help`` is pytest's help, with the harness's options),
except ``--version`` (``-V``), which names the harness first, then pytest.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from collections.abc import Sequence

from conformance import requirements, standard

SUBCOMMANDS = ("requirements", "explain", "standard")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        return _subcommand(args)
    if "--version" in args or "-V" in args:
        sys.stdout.write(version_text())
        return 0
    from conformance.run import launch  # imports pytest: only for runs

    return launch.run(args)


def version_text() -> str:
    """``heallog-conformance X.Y.Z`` and the pytest it runs on (pytest's own --version names only pytest)."""
    return f"heallog-conformance {_version('heallog-conformance')}\npytest {_version('pytest')}\n"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:  # a checkout on sys.path without an install
        return "(not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heallog-conformance",
        description="The HealLog conformance harness. Without a subcommand: run the suites "
        "(every pytest option applies; see heallog-conformance --help).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("requirements", help="list the requirements (ID, level, title, text)")
    listing.add_argument("ids", nargs="*", metavar="ID", help="IDs or globs (ENV-1 AUTH-*); default: all")
    listing.add_argument("--json", action="store_true", help="every catalogue field, as JSON")
    explain = commands.add_parser("explain", help="one requirement: its text, what is probed, what it needs, the fix")
    explain.add_argument("id", metavar="ID")
    commands.add_parser("standard", help="the whole standard as Markdown (the text of docs/standard.md)")
    return parser


def _subcommand(args: list[str]) -> int:
    parser = _parser()
    options = parser.parse_args(args)
    try:
        if options.command == "requirements":
            ids = requirements.select(",".join(options.ids)) if options.ids else None
            sys.stdout.write(standard.listing_json(ids) if options.json else standard.listing(ids))
        elif options.command == "explain":
            sys.stdout.write(standard.explain(options.id.upper()))
        else:
            sys.stdout.write(standard.markdown())
    except (KeyError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        parser.exit(2, f"heallog-conformance: {str(message).removeprefix('--requirements: ')}\n")
    return 0
