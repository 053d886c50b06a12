"""CONF-1 check on start-up results."""

from __future__ import annotations

import pytest

from conformance.checks import configuration
from conformance.outcomes import Inconclusive, Violation
from conformance.sut.base import StartResult

REFUSED = StartResult(exit_code=1, output='{"event": "invalid configuration", "setting": "SECRET_KEY"}\n', seconds=1.2)


def test_refusal_naming_the_setting_passes():
    configuration.refused_to_start(REFUSED, setting="SECRET_KEY", bound=10, situation="a weak secret")
    lower = StartResult(exit_code=3, output="secret_key: too short", seconds=0.5)
    configuration.refused_to_start(lower, setting="SECRET_KEY", bound=10, situation="a weak secret")


@pytest.mark.parametrize(
    "result, text",
    [
        (StartResult(None, "started", 10.0), "still running after 10.0 s"),
        (StartResult(0, "SECRET_KEY weak, continuing", 1.0), "exit code 0"),
        (StartResult(1, "SECRET_KEY is weak", 12.5), "exit code 1 after 12.5 s"),
        (StartResult(1, "bad configuration", 1.0), "does not name SECRET_KEY"),
    ],
)
def test_anything_but_a_prompt_named_refusal_fails(result, text):
    with pytest.raises(Violation, match=text) as failure:
        configuration.refused_to_start(result, setting="SECRET_KEY", bound=10, situation="a weak secret")
    assert failure.value.requirement == "CONF-1"
    assert "a weak secret" in str(failure.value)


def test_positive_control():
    configuration.started(StartResult(None, "ready", 2.0), situation="a strong production configuration", bound=10)
    with pytest.raises(Inconclusive, match=r"did not start .*\(exit code 1"):
        configuration.started(REFUSED, situation="a strong production configuration", bound=10)


def test_positive_control_too_slow_for_the_bound():
    with pytest.raises(Inconclusive, match="took 15.0 s to start"):
        configuration.started(StartResult(None, "", 15.0), situation="a strong production configuration", bound=10)
