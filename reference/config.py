"""Configuration from the environment, and the production start-up checks of CONTRACT §6."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

WEAK_SECRET_WORDS = ("secret", "changeme", "your-secret-key")
MIN_SECRET_LENGTH = 32
RATE_LIMITED_OPERATIONS = ("register", "login", "verify_otp", "refresh")
EMAIL_SETTINGS = ("EMAIL_HOST", "EMAIL_USER", "EMAIL_PASSWORD", "EMAIL_FROM")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the setting."""


class Settings(BaseSettings):
    """Every setting is an environment variable of the same name, upper-cased."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    secret_key: str | None = None
    environment: Literal["development", "production"] = "development"
    redis_url: str | None = None
    database_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    email_enabled: bool = False
    email_host: str | None = None
    email_port: int = 587
    email_user: str | None = None
    email_password: str | None = None
    email_from: str | None = None
    allowed_origins: str = "http://localhost:3000"
    max_body_bytes: int = 10 * 1024 * 1024
    rate_limit_login: str = "60/60"
    rate_limit_register: str = "60/60"
    rate_limit_verify_otp: str = "60/60"
    rate_limit_refresh: str = "60/60"
    access_token_expire_minutes: int = 30
    refresh_token_expire_days: int = 7
    debug_jwt_decodes: bool = False
    reference_fixed_otp: str | None = None
    reference_defects: str = ""

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.allowed_origins.split(",") if o.strip())

    @property
    def defect_names(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.reference_defects.split(",") if n.strip())

    def rates(self) -> dict[str, tuple[int, int]]:
        """The per-IP limit of each rate-limited operation, as (count, seconds); ConfigError if malformed."""
        return {
            name: parse_rate(getattr(self, f"rate_limit_{name}"), setting=f"RATE_LIMIT_{name.upper()}")
            for name in RATE_LIMITED_OPERATIONS
        }

    @property
    def access_lifetime_seconds(self) -> int:
        return self.access_token_expire_minutes * 60

    @property
    def refresh_lifetime_seconds(self) -> int:
        return self.refresh_token_expire_days * 86400


def parse_rate(text: str, *, setting: str) -> tuple[int, int]:
    """Parse "COUNT/SECONDS" into (count, seconds)."""
    try:
        count, seconds = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"{setting} must look like COUNT/SECONDS, got {text!r}") from None
    if count < 1 or seconds < 1:
        raise ConfigError(f"{setting} needs a positive count and window, got {text!r}")
    return count, seconds


def secret_key_is_strong(settings: Settings) -> str | None:
    key = settings.secret_key or ""
    if len(key) < MIN_SECRET_LENGTH:
        return f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production"
    if any(word in key.lower() for word in WEAK_SECRET_WORDS):
        return "SECRET_KEY looks like a placeholder (contains secret/changeme/your-secret-key)"
    return None


def email_settings_are_complete(settings: Settings) -> str | None:
    if not settings.email_enabled:
        return None
    missing = [name for name in EMAIL_SETTINGS if not getattr(settings, name.lower())]
    if missing:
        return f"EMAIL_ENABLED=true requires {', '.join(missing)}"
    return None


def debug_instrumentation_is_off(settings: Settings) -> str | None:
    if settings.debug_jwt_decodes:
        return "DEBUG_JWT_DECODES must be off in production"
    return None


ProductionCheck = Callable[[Settings], "str | None"]
PRODUCTION_CHECKS: tuple[ProductionCheck, ...] = (
    secret_key_is_strong,
    email_settings_are_complete,
    debug_instrumentation_is_off,
)


def validate(settings: Settings, production_checks: tuple[ProductionCheck, ...]) -> None:
    """Raise ConfigError naming the first bad setting."""
    settings.rates()
    if settings.max_body_bytes < 1:
        raise ConfigError("MAX_BODY_BYTES must be positive")
    if settings.reference_fixed_otp and not (
        len(settings.reference_fixed_otp) == 6 and settings.reference_fixed_otp.isdigit()
    ):
        raise ConfigError("REFERENCE_FIXED_OTP must be 6 digits")
    if not settings.is_production:
        return
    for check in production_checks:
        problem = check(settings)
        if problem:
            raise ConfigError(problem)


def resolve_secret(settings: Settings, data_dir: Path) -> str:
    """The configured secret, else one generated once and kept in the data dir (tokens survive restarts)."""
    if settings.secret_key:
        return settings.secret_key
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def resolve_database_url(settings: Settings, data_dir: Path) -> str:
    return settings.database_url or f"sqlite+aiosqlite:///{data_dir / 'heallog.db'}"
