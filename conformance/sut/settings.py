"""What the target needs to know of a run: where the SUT is, or how to start it, and what it offers.

The plugin's :class:`~conformance.run.options.RunOptions` holds one of these
(``options.sut``), built once from the command line, the environment and the
ini file; the load runner, the benchmark lab and the measuring scripts build
their own. The defaults are written here only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.sut.providers import DEFAULT_MONGO_IMAGE, DEFAULT_NETWORK, DEFAULT_REDIS_IMAGE, Containers

#: The backing services a managed SUT gets when none are named (the reference needs Redis).
DEFAULT_SERVICES = ("redis",)


@dataclass(frozen=True)
class TargetSettings:
    """The harness's target options (``None`` = not given: the capability is then missing); read-only, shared."""

    base_url: str | None = None
    profile_path: str | None = None
    sut_cmd: str | None = None  # managed: the command, with {placeholders} (see process.PLACEHOLDERS)
    sut_env: dict[str, str] = field(default_factory=dict)
    services: list[str] = field(default_factory=lambda: list(DEFAULT_SERVICES))  # managed; empty means the default
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
    redis_image: str = DEFAULT_REDIS_IMAGE  # managed: what testcontainers runs, when a Docker engine answers
    mongo_image: str = DEFAULT_MONGO_IMAGE
    docker_network: str = DEFAULT_NETWORK  # host: a loopback port on the command line; bridge: a published port

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", list(self.services or DEFAULT_SERVICES))

    def __repr__(self) -> str:
        """Never the signing secret, a fixed code or the SUT's environment: reprs end up in tracebacks."""
        return f"TargetSettings(base_url={self.base_url!r}, sut_cmd={self.sut_cmd!r}, services={self.services!r})"

    @property
    def containers(self) -> Containers:
        return Containers(self.redis_image, self.mongo_image, self.docker_network)
