"""What the target needs to know of the run's options, and the conversion from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.run.options import RunOptions


@dataclass
class TargetSettings:
    """The harness's target options (``None`` = not given)."""

    base_url: str | None = None
    profile_path: str | None = None
    sut_cmd: str | None = None  # managed: the command, with {placeholders} (see process.PLACEHOLDERS)
    sut_env: dict[str, str] = field(default_factory=dict)
    services: list[str] = field(default_factory=list)  # managed: empty means ["redis"]
    restart_cmd: str | None = None
    log_file: str | None = None
    log_cmd: str | None = None
    peer_url: str | None = None
    accounts_file: str | None = None
    otp_cmd: str | None = None
    fixed_otp: str | None = None
    jwt_secret: str | None = None
    seed_cmd: str | None = None
    startup_timeout: float = 20.0
    health_timeout: float = 2.5  # external: seconds the preflight's health answer may take (health.HEALTH_TIMEOUT)
    redis_url: str | None = None  # managed: an existing Redis instead of starting one
    mongo_url: str | None = None  # managed: an existing MongoDB instead of starting one

    def __repr__(self) -> str:
        """Never the signing secret or a fixed code: reprs end up in tracebacks."""
        return f"TargetSettings(base_url={self.base_url!r}, sut_cmd={self.sut_cmd!r}, services={self.services!r})"

    @classmethod
    def from_options(cls, options: RunOptions) -> TargetSettings:
        return cls(
            base_url=options.base_url,
            profile_path=options.profile,
            sut_cmd=options.sut_cmd,
            sut_env=dict(options.sut_env),
            services=list(options.services),
            restart_cmd=options.restart_cmd,
            log_file=options.sut_log_file,
            log_cmd=options.sut_log_cmd,
            peer_url=options.peer_url,
            accounts_file=options.accounts,
            otp_cmd=options.otp_cmd,
            fixed_otp=options.fixed_otp,
            jwt_secret=options.jwt_secret,
            seed_cmd=options.seed_cmd,
            startup_timeout=options.startup_timeout,
            health_timeout=options.health_timeout,
            redis_url=options.redis_url,
            mongo_url=options.mongo_url,
        )
