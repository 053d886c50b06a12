"""What the suites may ask of a system under test, managed or external.

A target is the SUT's base URL plus capabilities. Every capability that a run
was not given raises :class:`~conformance.outcomes.NotRun` naming the option
that enables it, so a requirement that needs it is reported *not run*, never
passed. The managed target (the harness starts the SUT and its stores) has
them all; the external target has those its options provide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.outcomes import NotRun

if TYPE_CHECKING:
    from conformance.profile import Profile


@dataclass(frozen=True)
class PrivilegedAccount:
    email: str
    password: str
    plan: str
    role: str


@dataclass(frozen=True)
class StartResult:
    """The outcome of starting the SUT with a given configuration (CONF-1)."""

    exit_code: int | None  # None: still running when the bound expired (it was then stopped)
    output: str
    seconds: float


@dataclass
class Target:
    """Base class: the external target with no optional capability."""

    base_url: str
    profile: Profile
    mode: str = "external"  # "external" or "managed"
    #: The HS256 signing secret, when known (--jwt-secret, or managed mode).
    jwt_secret: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # -- capabilities, asked before any traffic ------------------------------------
    def require(self, capability: str) -> None:
        """``NotRun`` (naming the option) unless the run can ``capability``: "restart", "peer", "logs",
        "store:<name>" or "configuration". Tests ask first, so that a test that cannot finish sends nothing."""
        options = {
            "restart": "--restart-cmd",
            "peer": "--peer-url",
            "logs": "--sut-log-file or --sut-log-cmd",
            "configuration": "managed mode: run without --base-url",
        }
        if capability.startswith("store:"):
            raise NotRun(
                f"cannot stop the {capability.split(':', 1)[1]} store",
                option="managed mode: run without --base-url (or --redis-url with a store the harness may stop)",
            )
        raise NotRun(f"the run has no {capability} capability", option=options.get(capability, capability))

    # -- accounts -------------------------------------------------------
    def otp_code(self, email: str, *, timeout: float = 10.0) -> str:
        """The one-time code sent to ``email`` (mailbox, --otp-cmd or --fixed-otp)."""
        raise NotRun("no OTP source to verify new accounts", option="--otp-cmd or --fixed-otp")

    def privileged_account(self, *, plan: str | None = None, role: str | None = None) -> PrivilegedAccount:
        """A verified account with ``plan`` and/or ``role`` (seeded, from --accounts, or minted)."""
        raise NotRun("no privileged account", option="--accounts, --seed-cmd or --jwt-secret")

    # -- logs -----------------------------------------------------------
    def log_mark(self) -> int:
        """An opaque position in the SUT's log; pass it to :meth:`log_lines`."""
        raise NotRun("no access to the SUT's logs", option="--sut-log-file or --sut-log-cmd")

    def log_lines(self, since: int = 0, *, settle: float = 0.3) -> list[str]:
        """Log lines written after ``since``, waiting ``settle`` seconds for buffers to flush."""
        raise NotRun("no access to the SUT's logs", option="--sut-log-file or --sut-log-cmd")

    # -- process control --------------------------------------------------
    def restart(self) -> None:
        """Stop and start the SUT on the same data and stores; returns once it is ready."""
        raise NotRun("cannot restart the SUT", option="--restart-cmd")

    def peer_url(self) -> str:
        """The base URL of a second instance sharing the same stores."""
        raise NotRun("no second instance", option="--peer-url")

    def stop_store(self, name: str = "redis") -> None:
        """Make a backing store unreachable (REV-5)."""
        raise NotRun(f"cannot stop the {name} store", option="managed mode: run without --base-url")

    def start_store(self, name: str = "redis") -> None:
        """Bring a store stopped by :meth:`stop_store` back; returns once it answers."""
        raise NotRun(f"cannot start the {name} store", option="managed mode: run without --base-url")

    def start_with(self, env: dict[str, str], *, timeout: float = 10.0) -> StartResult:
        """Start a fresh SUT process with ``env`` added, for at most ``timeout`` seconds (CONF-1)."""
        raise NotRun("cannot start the SUT with another configuration", option="managed mode: run without --base-url")

    def close(self) -> None:
        """Stop whatever this target started. Idempotent."""
