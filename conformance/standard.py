"""The standard for people: the requirement list, one requirement explained, and docs/standard.md.

Pure functions of the catalogue (``requirements.toml``): the command line
prints them, ``scripts/render_standard.py`` writes docs/standard.md with
``markdown()``, and a test checks that the file is up to date, so the
standard's text exists once, in the catalogue.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable

from conformance import requirements
from conformance.requirements import Requirement

WIDTH = 100
INDENT = "    "


def needs_text(requirement: Requirement) -> str:
    """The capabilities it needs, in words ("none" when it runs anywhere)."""
    names = [requirements.capabilities()[key].name for key in requirement.needs]
    return ", ".join(names) or "none"


def listing(ids: Iterable[str] | None = None) -> str:
    """``heallog-conformance requirements``: ID, level, title, then the text, for each requirement."""
    chosen = [requirements.get(rid) for rid in ids] if ids is not None else list(requirements.catalogue().values())
    lines = []
    for req in chosen:
        lines.append(f"{req.id:<8} {req.level:<6} {req.title}")
        lines += textwrap.wrap(req.text, WIDTH, initial_indent=" " * 16, subsequent_indent=" " * 16)
    return "\n".join(lines) + "\n"


def listing_json(ids: Iterable[str] | None = None) -> str:
    """The same as JSON, for scripts: one object per requirement with every catalogue field."""
    chosen = [requirements.get(rid) for rid in ids] if ids is not None else list(requirements.catalogue().values())
    rows = [
        {
            "id": r.id,
            "level": r.level,
            "area": r.area,
            "title": r.title,
            "text": r.text,
            "rules": list(r.rules),
            "probes": r.probes,
            "needs": list(r.needs),
            "more_with": list(r.more_with),
            "fix": r.fix,
            "clauses": [{"id": c.id, "text": c.text} for c in r.clauses],
            "dimensions": dict(r.dimensions),
        }
        for r in chosen
    ]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def _paragraph(text: str) -> list[str]:
    # Tables and the envelope's JSON keep their lines; prose is wrapped.
    if "\n" in text or text.startswith(("|", "{")):
        return [INDENT + line for line in text.splitlines()]
    return textwrap.wrap(text, WIDTH, initial_indent=INDENT, subsequent_indent=INDENT)


def _capability_lines(keys: tuple[str, ...]) -> list[str]:
    lines = []
    for key in keys:
        capability = requirements.capabilities()[key]
        lines += textwrap.wrap(
            f"{capability.name}: {capability.enable}", WIDTH, initial_indent=INDENT, subsequent_indent=INDENT + "  "
        )
    return lines


def explain(requirement_id: str) -> str:
    """``heallog-conformance explain ID``: the normative text, what is probed, what it needs, how to fix."""
    req = requirements.get(requirement_id)
    lines = [f"{req.id}  {req.title}  ({req.level}, {req.area})", "", "The standard:"]
    for passage in (req.text, *req.rules):
        lines += _paragraph(passage)
        lines.append("")
    lines.append("What the harness probes:")
    lines += _paragraph(req.probes)
    lines += ["", "Its clauses (heallog-conformance coverage lists the probes of each):"]
    width = max(len(c.id) for c in req.clauses)
    for clause in req.clauses:
        lines += textwrap.wrap(
            f"{clause.id:<{width}}  {clause.text}",
            WIDTH,
            initial_indent=INDENT,
            subsequent_indent=INDENT + " " * (width + 2),
        )
    lines += ["", "How far the harness explores it:"]
    for key, how_far in req.dimensions:
        lines += textwrap.wrap(
            f"{requirements.DIMENSIONS[key]}: {how_far}", WIDTH, initial_indent=INDENT, subsequent_indent=INDENT + "  "
        )
    lines += ["", "What it needs:"]
    lines += (
        _capability_lines(req.needs) if req.needs else [INDENT + "nothing beyond a reachable SUT and an OTP source"]
    )
    if req.more_with:
        lines += ["", "More tests with (without them a pass is partial):"]
        lines += _capability_lines(req.more_with)
    lines += ["", "How a backend fixes a failure:"]
    lines += _paragraph(req.fix)
    lines += ["", "Run only this requirement:", f"{INDENT}heallog-conformance --requirements {req.id}"]
    return "\n".join(lines) + "\n"


# -- docs/standard.md ---------------------------------------------------------------------------

INTRO = """\
# The HealLog backend standard, requirement by requirement

<!-- Generated from conformance/requirements.toml by scripts/render_standard.py: edit the catalogue, not this file. -->

This is the standard the harness enforces, one section per requirement: its level, the
normative text (the requirement and the passages of the standard it relies on, word for
word), what the harness sends to judge it, its clauses, how far the harness explores it,
what the run needs for that, and how a backend usually fixes a failure. The same text is in
the installed package:
`heallog-conformance requirements` lists the requirements, `heallog-conformance explain ID`
prints one, `heallog-conformance standard` prints this page.

**Levels.** A MUST that fails makes the run fail. A SHOULD that fails is a warning; it fails
the run only under `--conformance-strict` (or pytest's `--strict`).

**Capabilities.** The harness only talks HTTP, reads logs and starts or stops processes.
Some requirements need more than a URL: a requirement whose capability the run lacks is
reported *not run*, naming the option that gives it, never *pass*. In managed mode (no
`--base-url`: the harness starts the SUT, a Redis and an SMTP sink itself) every capability
but `--load` is there. Nearly every requirement uses throwaway accounts of the run, so a run
against `--base-url` also needs an OTP source (`--otp-cmd CMD` or `--fixed-otp CODE`).

**Clauses.** Each requirement is split into clauses, one for each thing its text quantifies
or bounds: each item of a list, guard class, role, limit, time rule, instance property. Every
clause has probes of its own; `heallog-conformance coverage` lists them, and a clause the
suites do not probe yet is named there (and in the project's own tests) rather than hidden.

**How far the harness explores it.** Per requirement, the dimensions of test design it
explores and how far: quantifiers exhausted (every member of the set the text ranges over),
boundary values, equivalence classes, state and history, duration, channels, instances, and
coverage of the published surface. What is not listed there is not explored. A run that
cannot carry out some probes of a requirement (no second instance, no restart, no time) says
so: its pass reads `partial: ...`, naming what was not judged, never a plain pass.
"""


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_passage(text: str) -> list[str]:
    if text.lstrip().startswith("{"):
        return ["```json", *text.splitlines(), "```"]
    if text.lstrip().startswith("|"):
        return text.splitlines()
    return [f"> {text}"]


def _md_requirement(req: Requirement) -> list[str]:
    lines = [f"### {req.id}: {req.title}", "", f"**{req.level}.** {req.text}", ""]
    if req.rules:
        lines += ["It relies on these passages of the standard:", ""]
        for passage in req.rules:
            lines += [*_md_passage(passage), ""]
    lines += [f"**What the harness probes.** {req.probes}", ""]
    lines += [
        "**Clauses.** `heallog-conformance coverage` lists the probes of each.",
        "",
        "| clause | what must hold |",
        "|---|---|",
    ]
    lines += [f"| `{c.id}` | {_md_cell(c.text)} |" for c in req.clauses]
    lines += ["", "**How far the harness explores it.**", ""]
    lines += [f"- *{requirements.DIMENSIONS[key]}*: {how_far}" for key, how_far in req.dimensions]
    lines.append("")
    needs = ", ".join(requirements.capabilities()[k].name for k in req.needs) or "none"
    more = ", ".join(requirements.capabilities()[k].name for k in req.more_with)
    lines += [f"**Needs.** {needs}." + (f" More tests with: {more}." if more else ""), ""]
    lines += [f"**How a backend fixes a failure.** {req.fix}", ""]
    return lines


def markdown() -> str:
    """docs/standard.md."""
    catalogue = requirements.catalogue()
    lines = [INTRO, "## Capabilities", "", "| capability | how a run gets it |", "|---|---|"]
    lines += [f"| {c.name} | {_md_cell(c.enable)} |" for c in requirements.capabilities().values()]
    lines += ["", "## Requirements at a glance", "", "| ID | level | title | needs |", "|---|---|---|---|"]
    lines += [
        f"| [{r.id}](#{_anchor(r)}) | {r.level} | {_md_cell(r.title)} | {needs_text(r)} |" for r in catalogue.values()
    ]
    lines.append("")
    area = None
    for req in catalogue.values():
        if req.area != area:
            area = req.area
            lines += [f"## {area}", ""]
        lines += _md_requirement(req)
    return "\n".join(lines).rstrip("\n") + "\n"


def _anchor(req: Requirement) -> str:
    """GitHub's anchor of the requirement's heading ("### ENV-1: Every error in the envelope")."""
    heading = f"{req.id}: {req.title}".lower()
    return "".join(ch for ch in heading.replace(" ", "-") if ch.isalnum() or ch in "-_")
