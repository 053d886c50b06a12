"""Targets: what the suites talk to, and how the harness gets hold of it.

``open_target(settings, profile)`` is the only entry point: with a base URL it
opens an :class:`~conformance.sut.external.ExternalTarget` after a 5 s
health preflight; without one it starts the SUT itself
(:class:`~conformance.sut.managed.ManagedTarget`). Bad input raises
:class:`TargetError` with one clear first line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.sut.base import PrivilegedAccount, StartResult, Target
from conformance.sut.errors import TargetError
from conformance.sut.settings import TargetSettings

if TYPE_CHECKING:
    from conformance.profile import Profile

__all__ = ["PrivilegedAccount", "StartResult", "Target", "TargetError", "TargetSettings", "open_target"]


def open_target(settings: TargetSettings, profile: Profile) -> Target:
    """The external target when ``settings.base_url`` is set, else a started managed target."""
    if settings.base_url:
        from conformance.sut.external import ExternalTarget

        if not settings.base_url.startswith(("http://", "https://")):
            raise TargetError(f"--base-url {settings.base_url!r} must start with http:// or https://")
        return ExternalTarget.open(settings, profile)
    from conformance.sut.managed import ManagedTarget

    return ManagedTarget.open(settings, profile)
