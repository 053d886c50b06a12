"""The ``heallog-conformance`` command (also ``python -m conformance``).

    heallog-conformance [PYTEST AND PLUGIN OPTIONS...]   run the suites (conformance/run/launch.py)
    heallog-conformance requirements [IDS...] [--json]   list the requirements: ID, level, title, text
    heallog-conformance explain ID                       one requirement: text, probes, needs, fix
    heallog-conformance standard                         the whole standard as Markdown (docs/standard.md)
    heallog-conformance compare OLD.json NEW.json        what changed between two reports (exit 1: a regression)
    heallog-conformance coverage [--json]                each clause and the probes that exercise it

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

SUBCOMMANDS = ("requirements", "explain", "standard", "compare", "coverage")
#: ``compare``: a report that cannot be read, like a run's bad input (docs/options.md, exit codes).
BAD_INPUT = 4


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
    compare = commands.add_parser(
        "compare", help="what changed per requirement between two --conformance-report files: regressed, fixed, "
        "no longer judged (exit 1 on a regression, 0 on none, 4 when a report cannot be read)")
    compare.add_argument("old", metavar="OLD.json", help="the earlier report (the base branch, the last release)")
    compare.add_argument("new", metavar="NEW.json", help="the later report (this change)")
    compare.add_argument("--markdown", action="store_true", help="a Markdown table, for a pull-request comment")
    coverage = commands.add_parser("coverage", help="every clause and the probes (test node ids) that exercise it; "
                                   "collects the suites without running them, needs no target")  # fmt: skip
    coverage.add_argument("--json", action="store_true", help="a list of {requirement, clause, probes}")
    return parser


def _subcommand(args: list[str]) -> int:
    parser = _parser()
    options = parser.parse_args(args)
    if options.command == "compare":
        return _compare(options.old, options.new, markdown=options.markdown)
    try:
        if options.command == "requirements":
            ids = requirements.select(",".join(options.ids)) if options.ids else None
            sys.stdout.write(standard.listing_json(ids) if options.json else standard.listing(ids))
        elif options.command == "explain":
            sys.stdout.write(standard.explain(options.id.upper()))
        elif options.command == "coverage":
            return _coverage(options.json)
        else:
            sys.stdout.write(standard.markdown())
    except (KeyError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        parser.exit(2, f"heallog-conformance: {str(message).removeprefix('--requirements: ')}\n")
    return 0


def _compare(old_path: str, new_path: str, *, markdown: bool) -> int:
    from conformance.render.comparison import render_markdown, render_text
    from conformance.verdicts import compare

    try:
        old, new = compare.load(old_path), compare.load(new_path)
    except compare.ReportError as exc:
        sys.stderr.write(f"heallog-conformance compare: {exc}\n")
        return BAD_INPUT
    comparison = compare.compare(old, new)
    sys.stdout.write(render_markdown(comparison) if markdown else render_text(comparison))
    return comparison.exit_status


def _coverage(as_json: bool) -> int:
    """Print the clause matrix; exit 1 when a clause has no probe or a probe declares no clause of one of its
    requirements, 2 when the suites cannot be collected."""
    from conformance.verdicts import coverage

    try:
        probes = coverage.declared()
    except coverage.CoverageError as exc:
        sys.stderr.write(f"heallog-conformance: {exc}\n")
        return 2
    rows = coverage.matrix(probes)
    sys.stdout.write(coverage.as_json(rows) if as_json else coverage.table(rows))
    quiet = coverage.silent(probes)
    for line in quiet:
        sys.stderr.write(f"heallog-conformance: a probe declares no clause of its requirement: {line}\n")
    return 1 if coverage.uncovered(rows) or quiet else 0
