"""Production start-up validation of contract §6 (CONF-1).

The input is a :class:`~conformance.sut.base.StartResult`: how a SUT process
started with a given configuration ended (exit code, or ``None`` when it was
still running at the bound and was stopped), what it printed, and how long it
took. Setting names come from the profile's ``[config]`` table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.outcomes import Inconclusive, Violation

if TYPE_CHECKING:
    from conformance.sut.base import StartResult

OUTPUT_EXCERPT = 400


def refused_to_start(result: StartResult, *, setting: str, bound: float, situation: str) -> None:
    """CONF-1: the SUT exits non-zero within ``bound`` seconds and its output names ``setting``.

    ``situation`` says what was wrong with the configuration, for the message.
    The setting name is matched case-insensitively (``SECRET_KEY`` or ``secret_key``).
    """
    __tracebackhide__ = True
    expected = f"a non-zero exit within {bound:g} s naming {setting} ({situation})"
    if result.exit_code is None:
        actual = f"still running after {result.seconds:.1f} s (it started with this configuration)"
    elif result.exit_code == 0:
        actual = "exit code 0"
    elif result.seconds > bound:
        actual = f"exit code {result.exit_code} after {result.seconds:.1f} s"
    elif setting.lower() not in result.output.lower():
        actual = f"exit code {result.exit_code}, but the output does not name {setting}"
    else:
        return
    raise Violation(
        "CONF-1",
        expected=expected,
        actual=f"{actual}; output: {_tail(result.output)}",
        hint=f"validate {setting} at start-up when the environment is production and exit with a message naming it",
    )


def started(result: StartResult, *, situation: str, bound: float) -> None:
    """Positive control: a sound production configuration must start, else no CONF-1 verdict holds.

    Started means still running, and ready within ``bound`` seconds: a SUT
    that needs longer to start (a slow machine) cannot be judged against a
    bound on refusing to start either.
    """
    __tracebackhide__ = True
    if result.exit_code is not None:
        raise Inconclusive(
            f"positive control failed: the SUT did not start with {situation} "
            f"(exit code {result.exit_code} after {result.seconds:.1f} s; output: {_tail(result.output)})"
        )
    if result.seconds > bound:
        raise Inconclusive(
            f"positive control failed: the SUT took {result.seconds:.1f} s to start with {situation}, "
            f"more than the {bound:g} s bound it is judged by"
        )


def _tail(output: str) -> str:
    text = " | ".join(line.strip() for line in output.strip().splitlines() if line.strip())
    return repr(text[-OUTPUT_EXCERPT:]) if text else "(none)"
