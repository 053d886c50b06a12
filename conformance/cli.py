"""The ``heallog-conformance`` command (also ``python -m conformance``).

    heallog-conformance [PYTEST AND PLUGIN OPTIONS...]   run the suites (conformance/run/launch.py)
    heallog-conformance requirements [IDS...] [--json]   list the requirements: ID, level, title, text
    heallog-conformance explain ID                       one requirement: text, probes, needs, fix
    heallog-conformance standard                         the whole standard as Markdown (docs/standard.md)
    heallog-conformance compare OLD.json NEW.json        what changed between two reports (exit 1: a regression)
    heallog-conformance coverage [--json]                each clause and the probes that exercise it
    heallog-conformance init --base-url URL --output FILE  a profile from the service's OpenAPI document
    heallog-conformance check-profile --profile=FILE --base-url URL  one harmless request per operation

Only a first argument naming a subcommand is taken by this module; anything
else is a run, so every pytest option keeps its meaning
(``heallog-conformance --help`` is pytest's help, with the harness's options),
except ``--version`` (``-V``), which names the harness first, then pytest.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata

from conformance import requirements, standard

SUBCOMMANDS = ("requirements", "explain", "standard", "compare", "coverage", "init", "check-profile")
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
        "compare",
        help="what changed per requirement between two --conformance-report files: regressed, fixed, "
        "no longer judged (exit 1 on a regression, 0 on none, 4 when a report cannot be read)",
    )
    compare.add_argument("old", metavar="OLD.json", help="the earlier report (the base branch, the last release)")
    compare.add_argument("new", metavar="NEW.json", help="the later report (this change)")
    compare.add_argument("--markdown", action="store_true", help="a Markdown table, for a pull-request comment")
    coverage = commands.add_parser(
        "coverage",
        help="every clause and the probes (test node ids) that exercise it; "
        "collects the suites without running them, needs no target",
    )
    coverage.add_argument("--json", action="store_true", help="a list of {requirement, clause, probes}")
    init = commands.add_parser(
        "init",
        help="write a profile for a running service from its OpenAPI document and its answers (only what "
        "differs from the default; exit 4 when the service or its document cannot be read)",
    )
    init.add_argument("--base-url", required=True, help="the service's base URL")
    init.add_argument(
        "--openapi",
        metavar="URL",
        help="the document's URL (default: openapi.json and other usual places under the base URL)",
    )
    init.add_argument("--output", required=True, metavar="FILE", help="the profile to write (TOML)")
    init.add_argument("--name", help="the profile's name (default: from the document's title)")
    check = commands.add_parser(
        "check-profile",
        help="send one harmless request per operation of a profile and list what does not match "
        "(exit 1 when something does not, 4 when the profile cannot be read)",
    )
    check.add_argument("--profile", required=True, metavar="FILE")
    check.add_argument("--base-url", required=True, help="the service's base URL")
    return parser


def _subcommand(args: list[str]) -> int:
    parser = _parser()
    options = parser.parse_args(args)
    if options.command == "compare":
        return _compare(options.old, options.new, markdown=options.markdown)
    if options.command == "init":
        return _init(options.base_url, options.openapi, options.output, options.name)
    if options.command == "check-profile":
        return _check_profile(options.profile, options.base_url)
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


#: Seconds a request of init or check-profile may take (a service that is slow to answer is not one that is wrong).
PROBE_TIMEOUT = 15.0


def _probe_client():  # type: ignore[no-untyped-def]
    from conformance.wire import factory

    return factory.client(factory.Purpose.HEALTH, timeout=PROBE_TIMEOUT, recorder=None)


def _init(base_url: str, openapi_url: str | None, output: str, name: str | None) -> int:
    """Write a profile for the service at ``base_url``; say what was mapped and what was not."""
    from conformance.profile import init, loader

    with _probe_client() as client:
        try:
            surface = init.read_surface(client, base_url, openapi_url)
        except init.InitError as exc:
            sys.stderr.write(f"heallog-conformance init: {exc}\n")
            return BAD_INPUT
        init.read_rate_limits(client, surface)
    text = init.render(surface, name=name)
    try:
        init.write(output, text)
    except (OSError, loader.ProfileError) as exc:
        sys.stderr.write(f"heallog-conformance init: {exc}\n")
        return BAD_INPUT
    operations = [n for n in loader.default_data()["operations"] if n not in ("health", "openapi")]
    missing = [n for n in operations if n not in surface.matches]
    sys.stdout.write(
        f"profile written to {output}: {len(surface.matches)} of {len(operations)} operations found in "
        f"the document" + (f"; not found (the default kept): {', '.join(missing)}" if missing else "") + "\n"
    )
    if surface.health_problem:
        sys.stdout.write(f"health {surface.health_path}: {surface.health_problem}\n")
    sys.stdout.write(f"next: heallog-conformance check-profile --profile={output} --base-url {base_url}\n")
    return 0


def _check_profile(profile_path: str, base_url: str) -> int:
    """One harmless request per operation of the profile; exit 1 when an answer does not match it."""
    from conformance.profile import ProfileError, check, load

    try:
        profile = load(profile_path)
    except ProfileError as exc:
        sys.stderr.write(f"heallog-conformance check-profile: {exc}\n")
        return BAD_INPUT
    with _probe_client() as client:
        findings = check.check(profile, client, base_url)
    for finding in findings:
        sys.stdout.write(finding.line() + "\n")
    wrong = [f for f in findings if f.problem is not None]
    sys.stdout.write(
        f"{len(findings) - len(wrong)} of {len(findings)} operations match the profile"
        + (f"; {len(wrong)} do not: {', '.join(f.operation for f in wrong)}" if wrong else "")
        + "\n"
    )
    return 1 if wrong else 0
