"""Profiles: one SUT's HTTP surface, as data.

The suites name logical operations (``login``, ``me``...) and read limits,
codes and header names from here, never hard-coded paths. The default profile
is the HealLog API; ``--profile FILE`` overrides any part of it (the file is
merged over the default, so a profile only states what differs).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

GUARD_PATTERN = re.compile(r"^(none|user|pro|role:[a-z_]+)$")
RATE_PATTERN = re.compile(r"^(\d+)/(\d+)$")
REQUIRED_OPERATIONS = (
    "health", "openapi", "register", "verify_otp", "login", "refresh", "logout", "me", "update_me",
    "change_password", "list_users", "create_patient", "list_patients", "get_patient", "update_patient",
    "delete_patient", "pro_feature", "error_trigger",
)  # fmt: skip


class ProfileError(ValueError):
    """The profile file is unreadable or does not describe a usable surface."""


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    guard: str
    body: str
    extra: dict[str, Any] = field(default_factory=dict)

    def url_path(self, **params: Any) -> str:
        """The path with ``{name}`` placeholders filled in."""
        return self.path.format(**params) if params else self.path

    @property
    def role(self) -> str | None:
        return self.guard.split(":", 1)[1] if self.guard.startswith("role:") else None


@dataclass(frozen=True)
class Profile:
    name: str
    authorization: str
    environment: str
    operations: dict[str, Operation]
    guard_classes: dict[str, str]
    accounts: dict[str, Any]
    tokens: dict[str, Any]
    limits: dict[str, Any]
    headers: dict[str, str]
    cors: dict[str, str]
    config: dict[str, Any]
    codes: dict[str, int]
    source: str = "default"

    def operation(self, name: str) -> Operation:
        try:
            return self.operations[name]
        except KeyError:
            raise ProfileError(f"profile {self.name!r} has no operation {name!r}") from None

    def rate(self, name: str) -> tuple[int, float]:
        """A rate limit of ``[limits]`` as (count, window seconds)."""
        count, seconds = RATE_PATTERN.match(self.limits[name]).groups()
        return int(count), float(seconds)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


def load(path: str | Path | None = None) -> Profile:
    """The default profile, with ``path`` (a TOML file) merged over it when given."""
    data = tomllib.loads(resources.files("conformance.profile").joinpath("default.toml").read_text("utf-8"))
    source = "default"
    if path is not None:
        try:
            override = tomllib.loads(Path(path).read_text("utf-8"))
        except FileNotFoundError:
            raise ProfileError(f"--profile {path}: no such file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"--profile {path}: not valid TOML: {exc}") from None
        data = _merge(data, override)
        source = str(path)
    return _build(data, source)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def _build(data: dict[str, Any], source: str) -> Profile:
    where = f"profile {source}"
    problems: list[str] = []
    operations: dict[str, Operation] = {}
    for name, raw in data.get("operations", {}).items():
        raw = dict(raw)
        method, path = str(raw.pop("method", "")).upper(), str(raw.pop("path", ""))
        guard, body = str(raw.pop("guard", "none")), str(raw.pop("body", "none"))
        if method not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
            problems.append(f"operations.{name}.method {method!r} is not an HTTP method")
        if not path.startswith("/"):
            problems.append(f"operations.{name}.path {path!r} must start with '/'")
        if not GUARD_PATTERN.match(guard):
            problems.append(f"operations.{name}.guard {guard!r} must be none, user, pro or role:<name>")
        if body not in {"json", "form", "none"}:
            problems.append(f"operations.{name}.body {body!r} must be json, form or none")
        operations[name] = Operation(name, method, path, guard, body, raw)
    problems += [f"operations.{name} is missing" for name in REQUIRED_OPERATIONS if name not in operations]
    guard_classes = dict(data.get("guard_classes", {}))
    for klass in ("user", "pro", "role"):
        if guard_classes.get(klass) not in operations:
            problems.append(f"guard_classes.{klass} must name an operation")
    limits = dict(data.get("limits", {}))
    for key in ("login_rate", "register_rate"):
        if not RATE_PATTERN.match(str(limits.get(key, ""))):
            problems.append(f"limits.{key} {limits.get(key)!r} must look like COUNT/SECONDS")
    for key in ("max_body_bytes", "lockout_threshold", "lockout_window_seconds", "lockout_duration_seconds"):
        if not isinstance(limits.get(key), int) or limits[key] <= 0:
            problems.append(f"limits.{key} must be a positive integer")
    meta = data.get("profile", {})
    if meta.get("authorization") not in {"claims", "database"}:
        problems.append("profile.authorization must be 'claims' or 'database'")
    if meta.get("environment") not in {"development", "production"}:
        problems.append("profile.environment must be 'development' or 'production'")
    codes = data.get("codes", {})
    if not all(isinstance(v, int) and 400 <= v < 600 for v in codes.values()):
        problems.append("codes must map each code to an HTTP status between 400 and 599")
    if problems:
        raise ProfileError(f"{where} is invalid:\n  - " + "\n  - ".join(problems))
    return Profile(
        name=str(meta.get("name", "unnamed")),
        authorization=meta["authorization"],
        environment=meta["environment"],
        operations=operations,
        guard_classes=guard_classes,
        accounts=dict(data.get("accounts", {})),
        tokens=dict(data.get("tokens", {})),
        limits=limits,
        headers=dict(data.get("headers", {})),
        cors=dict(data.get("cors", {})),
        config=dict(data.get("config", {})),
        codes=dict(codes),
        source=source,
    )
