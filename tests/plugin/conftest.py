"""A fake target for the plugin's own tests: the plugin is exercised, not a SUT.

The inner pytest runs are in-process (``pytester.runpytest``), so patching
``conformance.sut.open_target`` with the outer ``monkeypatch`` reaches them
and is undone afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

import conformance.sut as targets
from conformance.sut.base import Target


@dataclass
class FakeTarget(Target):
    closed: int = 0

    def close(self) -> None:
        self.closed += 1


@dataclass
class Opened:
    """What the plugin asked of ``open_target``."""

    calls: list[tuple[Any, Target]] = field(default_factory=list)

    @property
    def settings(self) -> Any:
        return self.calls[-1][0]

    @property
    def target(self) -> FakeTarget:
        return self.calls[-1][1]


@pytest.fixture
def fake_target(monkeypatch: pytest.MonkeyPatch) -> Opened:
    opened = Opened()

    def open_target(settings: Any, profile: Any) -> Target:
        target = FakeTarget(base_url=settings.base_url or "http://127.0.0.1:9", profile=profile, mode="fake")
        opened.calls.append((settings, target))
        return target

    monkeypatch.setattr(targets, "open_target", open_target)
    return opened


@pytest.fixture
def run(pytester: pytest.Pytester, fake_target: Opened):
    """Run pytest on the given test source with a JSON report; returns (result, report dict or None)."""

    def run(source: str, *args: str) -> tuple[pytest.RunResult, dict[str, Any] | None]:
        pytester.makepyfile(test_suite=source)
        path = pytester.path / "report.json"
        result = pytester.runpytest("-p", "no:cacheprovider", "--conformance-report", str(path), *args)
        report = json.loads(path.read_text()) if path.exists() else None
        return result, report

    return run
