"""The command that reruns one test: pasted into the user's shell, it works.

A failure one curl line cannot reproduce (a race, a restart, an outage)
prints ``Rerun: <command>``. The command is the run's own command line, read
as pytest parsed it (an option's value stays with its option: ``--rootdir
DIR`` is not a test path), with

- the same interpreter (``sys.executable``), through the launcher
  (``-m conformance``) when the run came through it, else ``-m pytest``;
- the run's test paths replaced by the one test;
- none of the run's report files (``--conformance-report`` and the other
  writers, ``--junitxml``) nor ``--baseline-update``, so that a rerun leaves the
  full run's reports and baseline alone; a report file the run took from the
  environment or an ini key is switched off on the line (``--conformance-html=``);
- every value the run masks (a registered secret: ``--jwt-secret``,
  ``--fixed-otp``) as ``"${VAR}"``, the option's own environment variable
  where it has one, and a note saying which variables to set.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import redaction

#: Options whose value is a file the run writes: a rerun must not overwrite the full run's.
REPORT_OPTIONS = (
    "--conformance-report",
    "--conformance-html",
    "--conformance-har",
    "--conformance-sarif",
    "--conformance-summary",
    "--junitxml",
    "--junit-xml",
    "--report-log",
    "--resultlog",
)
#: Flags a rerun of one test must not repeat.
DROPPED_FLAGS = ("--baseline-update",)
#: The RunOptions fields of the report options (to switch off one the environment or an ini key gave).
REPORT_FIELDS = {
    "--conformance-report": "conformance_report",
    "--conformance-html": "conformance_html",
    "--conformance-har": "conformance_har",
    "--conformance-sarif": "conformance_sarif",
}


@dataclass(frozen=True)
class Rerun:
    """The command, and the shell variables (name, what to set it to) it needs."""

    command: str
    variables: tuple[tuple[str, str], ...] = ()

    def render(self) -> str:
        if not self.variables:
            return self.command
        needs = "; ".join(f"{name}: {what}" for name, what in self.variables)
        return f"{self.command}\n    (set first: {needs}; the run's secrets are masked, never printed)"


def units(args: Sequence[str], takes_value: Any) -> list[tuple[str | None, list[str]]]:
    """The command line as (option name or None for a positional argument, its words), as argparse reads it.

    ``takes_value(name)`` says whether the option ``name`` consumes the next word.
    """
    found: list[tuple[str | None, list[str]]] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            found += [(None, [rest]) for rest in args[i + 1 :]]
            break
        if word.startswith("--"):
            name, eq, _ = word.partition("=")
            if not eq and takes_value(name) and i + 1 < len(args):
                found.append((name, [word, args[i + 1]]))
                i += 2
                continue
            found.append((name, [word]))
        elif word.startswith("-") and len(word) > 1:
            name = word[:2]
            if len(word) == 2 and takes_value(name) and i + 1 < len(args):
                found.append((name, [word, args[i + 1]]))
                i += 2
                continue
            found.append((name, [word]))
        else:
            found.append((None, [word]))
        i += 1
    return found


def command(config: Any, nodeid: str, path: Path, run_options: Any, extra: Sequence[str] = ()) -> Rerun:
    """The rerun of the test ``nodeid`` (its file at ``path``) of the run ``config``."""
    from conformance.run import launch, options

    actions = getattr(getattr(config, "_parser", None), "optparser", None)
    lookup = getattr(actions, "_option_string_actions", {})

    def takes_value(name: str) -> bool:
        action = lookup.get(name)
        return action is not None and action.nargs != 0

    args = [str(a) for a in config.invocation_params.args]
    pinned = ["-c", str(launch.CONFIG_FILE), "--rootdir", str(launch.ROOT_DIR)]
    launcher = args[: len(pinned)] == pinned
    if launcher:  # the launcher pins these itself (and the cache below)
        args = args[len(pinned) :]
        if args[:1] == ["-o"] and len(args) > 1 and args[1].startswith("cache_dir="):
            args = args[2:]
    kept: list[str] = []
    given: set[str] = set()
    for name, words in units(args, takes_value):
        if name is None:
            continue  # a test path: the one test replaces them all
        given.add(name)
        if name in REPORT_OPTIONS or name in DROPPED_FLAGS:
            continue
        kept += words
    for option, field in REPORT_FIELDS.items():
        if getattr(run_options, field, None) and option not in given:
            kept.append(f"{option}=")  # from the environment or an ini key: off for the rerun
    if launcher:
        target, runner = nodeid, ["-m", "conformance"]
    else:
        target, runner = _test_argument(config, nodeid, path), ["-m", "pytest"]
    return _with_variables([sys.executable, *runner, *kept, *extra, target], options.OPTIONS)


def _test_argument(config: Any, nodeid: str, path: Path) -> str:
    """The node id as a path from the invocation directory (pytest reads a test path from there)."""
    invocation = Path(config.invocation_params.dir)
    rootdir = Path(getattr(config, "rootpath", invocation))
    if rootdir.resolve() == invocation.resolve():
        return nodeid
    try:
        shown = str(Path(path).resolve().relative_to(invocation.resolve()))
    except ValueError:
        shown = str(Path(path).resolve())
    return shown + ("::" + nodeid.split("::", 1)[1] if "::" in nodeid else "")


def _with_variables(words: list[str], known: dict[str, tuple[str, str]]) -> Rerun:
    """Quote ``words`` for a POSIX shell; every masked span becomes ``"${VAR}"``."""
    variables: dict[str, tuple[str, str]] = {}  # value -> (name, what)
    shell: list[str] = []
    previous = ""
    for word in words:
        spans = redaction.secret_spans(word)
        if not spans:
            shell.append(shlex.quote(word))
            previous = word
            continue
        option = word.split("=", 1)[0] if word.startswith("--") and "=" in word else previous
        out, at = [], 0
        for start, end in spans:
            value = word[start:end]
            if value not in variables:
                env = known.get(option, (None, ""))[0] if option.startswith("--") else None
                name = (
                    env
                    if env and env not in {n for n, _ in variables.values()}
                    else f"RERUN_SECRET_{len(variables) + 1}"
                )
                what = (
                    f"the value given to {option}"
                    if option.startswith("--")
                    else "the masked value of the run's command line"
                )
                variables[value] = (name, what)
            if word[at:start]:
                out.append(shlex.quote(word[at:start]))
            out.append('"${' + variables[value][0] + '}"')
            at = end
        if word[at:]:
            out.append(shlex.quote(word[at:]))
        shell.append("".join(out))
        previous = word
    return Rerun(" ".join(shell), tuple(variables.values()))
