"""What a profile can say, as frozen dataclasses: one SUT's HTTP surface and the rules derived from it.

The loader (:mod:`conformance.profile.loader`) builds these once from the
merged TOML, after validating it; every value comes from ``default.toml`` or
the user's profile, so no field has a default here and no reader passes a
fallback. Behaviour that depends only on the profile is a method of it
(``profile.login.body(email, password)``, ``profile.hsts_required(url)``), so it
is written once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

RATE_PATTERN = re.compile(r"^(\d+)/(\d+(?:\.\d+)?)$")


class ProfileError(ValueError):
    """The profile file is unreadable or does not describe a usable surface."""


@dataclass(frozen=True)
class Rate:
    """A rate limit: ``count`` requests per ``seconds`` (written ``COUNT/SECONDS``)."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: object) -> Rate | None:
        match = RATE_PATTERN.match(str(text))
        return cls(int(match.group(1)), float(match.group(2))) if match else None

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}"


@dataclass(frozen=True)
class Operation:
    """One logical operation: method, path (``{id}`` placeholders), guard, request body style."""

    name: str
    method: str
    path: str
    guard: str  # "none", "user", "pro" or "role:<name>"
    body: str  # "json", "form" or "none"

    def url_path(self, **params: Any) -> str:
        """The path with ``{name}`` placeholders filled in."""
        return self.path.format(**params) if params else self.path

    @property
    def role(self) -> str | None:
        return self.guard.split(":", 1)[1] if self.guard.startswith("role:") else None

    @property
    def media_type(self) -> str:
        return "application/x-www-form-urlencoded" if self.body == "form" else "application/json"


@dataclass(frozen=True)
class Login:
    """The login operation and the names of its credential fields."""

    operation: Operation
    username_field: str
    password_field: str

    def fields(self, email: str, password: str) -> dict[str, str]:
        return {self.username_field: email, self.password_field: password}

    def body(self, email: str, password: str) -> dict[str, Any]:
        """Keyword arguments for httpx, requests or locust: ``{"data": ...}`` (form) or ``{"json": ...}``."""
        key = "data" if self.operation.body == "form" else "json"
        return {key: self.fields(email, password)}


@dataclass(frozen=True)
class GuardClasses:
    """Which operation represents each guard class in the guard-matrix tests (AUTH-1/2/3, REV-1)."""

    user: str
    pro: str
    role: str

    def __getitem__(self, klass: str) -> str:
        return {"user": self.user, "pro": self.pro, "role": self.role}[klass]

    def items(self) -> tuple[tuple[str, str], ...]:
        return (("pro", self.pro), ("role", self.role), ("user", self.user))


@dataclass(frozen=True)
class Accounts:
    """The password rule of §4, the OTP length, and the plans and roles accounts have."""

    password_min_length: int
    password_max_length: int
    password_specials: str
    otp_length: int
    default_plan: str
    default_role: str
    privileged_plan: str
    privileged_role: str

    def password_length(self, preferred: int) -> int:
        """``preferred`` brought within the password rule's length bounds."""
        return max(self.password_min_length, min(preferred, self.password_max_length))


@dataclass(frozen=True)
class Tokens:
    algorithm: str
    access_lifetime_seconds: int
    refresh_lifetime_seconds: int


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    lockout_threshold: int
    lockout_window_seconds: int
    lockout_duration_seconds: int
    request_id_max_length: int = 128


@dataclass(frozen=True)
class RateLimits:
    """The per-client-IP rate limit the SUT declares for each operation of the profile (§6).

    Any operation may carry one (a real service limits change-password to 3 an hour, patient creation to 20 a
    minute...); ``None`` or absent: the SUT declares none. The contract's four read as attributes
    (``rate_limits.login``).
    """

    declared: Mapping[str, Rate | None]

    def of(self, operation: str) -> Rate | None:
        """The limit of ``operation``, or ``None`` when the profile declares none for it."""
        value = self.declared.get(operation)
        return value if isinstance(value, Rate) else None

    def items(self) -> tuple[tuple[str, Rate | None], ...]:
        return tuple(self.declared.items())

    def with_limit(self, operation: str, rate: Rate | None) -> RateLimits:
        """The same limits, ``operation``'s replaced (tests, strict variants)."""
        return RateLimits({**self.declared, operation: rate})

    @property
    def register(self) -> Rate | None:
        return self.of("register")

    @property
    def login(self) -> Rate | None:
        return self.of("login")

    @property
    def verify_otp(self) -> Rate | None:
        return self.of("verify_otp")

    @property
    def refresh(self) -> Rate | None:
        return self.of("refresh")


@dataclass(frozen=True)
class Headers:
    request_id: str
    debug_decodes: str


@dataclass(frozen=True)
class Cors:
    allowed_origin: str
    disallowed_origin: str
    other_allowed_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Names of the SUT's configuration variables (CONF-1, and the managed target's environment)."""

    environment: str
    secret_key: str
    email_enabled: str
    email_settings: tuple[str, ...]
    debug_decodes: str
    redis_url: str
    mongo_url: str
    smtp_host: str
    smtp_port: str
    allowed_origins: str
    max_body_bytes: str
    production_value: str
    rate_limits: Mapping[str, str]  # operation -> variable name

    def variable_names(self) -> set[str]:
        """Every variable name here (the managed SUT must not inherit them from the harness's shell)."""
        singles = (
            self.environment,
            self.secret_key,
            self.email_enabled,
            self.debug_decodes,
            self.redis_url,
            self.mongo_url,
            self.smtp_host,
            self.smtp_port,
            self.allowed_origins,
            self.max_body_bytes,
        )
        return {*singles, *self.email_settings, *self.rate_limits.values()}


class Codes(Mapping[str, int]):
    """The error codes of §4 and the status each goes with; read-only."""

    def __init__(self, statuses: Mapping[str, int]) -> None:
        self._statuses = dict(statuses)

    def __getitem__(self, code: str) -> int:
        return self._statuses[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._statuses)

    def __len__(self) -> int:
        return len(self._statuses)

    def __repr__(self) -> str:
        return f"Codes({self._statuses!r})"


@dataclass(frozen=True)
class Sources:
    """The loopback source addresses the suites may send from (one allocation table for the whole run)."""

    fuzz: str
    envelope_rate_burst: str
    rate_limit_burst: str
    provisioning_first: str
    provisioning_count: int
    workers_first: str
    scenarios_first: str
    scenarios_max: int


@dataclass(frozen=True)
class Profile:
    name: str
    authorization: str  # "claims" or "database"
    environment: str  # any deployment name
    production: bool  # production rules for an environment not called "production"
    api_prefix: str
    operations: Mapping[str, Operation]
    guard_classes: GuardClasses
    login: Login
    accounts: Accounts
    tokens: Tokens
    limits: Limits
    rate_limits: RateLimits
    headers: Headers
    cors: Cors
    config: Config
    codes: Codes
    sources: Sources
    source: str  # "default" or the profile file's path

    def operation(self, name: str) -> Operation:
        try:
            return self.operations[name]
        except KeyError:
            raise ProfileError(f"profile {self.name!r} has no operation {name!r}") from None

    def guard_operation(self, klass: str) -> Operation:
        """The operation that represents guard class ``klass`` (user, pro, role)."""
        return self.operation(self.guard_classes[klass])

    @property
    def is_production(self) -> bool:
        return self.environment == "production" or self.production

    def hsts_required(self, url: str) -> bool:
        """HSTS is a MUST for production targets and https URLs (§6), a SHOULD elsewhere."""
        return self.is_production or urlsplit(url).scheme.lower() == "https"

    def is_api_path(self, url_or_path: str) -> bool:
        """Whether a URL or path is under the API prefix (where Cache-Control: no-store is required)."""
        path = urlsplit(url_or_path).path if "://" in url_or_path else url_or_path
        return (path or "/").startswith(self.api_prefix)
