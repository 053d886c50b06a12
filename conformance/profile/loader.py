"""Reading a profile: the default TOML, the user's file merged over it, validated once, built once.

``default.toml`` is the schema as well as the defaults: a user's profile may
only name sections and keys it has, so a typo (``[limitz]``,
``max_body_byte``) is an error naming the key and the closest valid one,
instead of an override that silently never applies.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.profile.model import (
    Accounts,
    Codes,
    Config,
    Cors,
    GuardClasses,
    Headers,
    Limits,
    Login,
    Operation,
    Profile,
    ProfileError,
    Rate,
    RateLimits,
    Sources,
    Tokens,
)

GUARD_PATTERN = re.compile(r"^(none|user|pro|role:[a-z_]+)$")
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
BODY_STYLES = frozenset({"json", "form", "none"})
AUTHORIZATION_KINDS = frozenset({"claims", "database"})
#: Keys earlier profiles had, and where they live now.
MOVED = {
    "limits.login_rate": "rate_limits.login",
    "limits.register_rate": "rate_limits.register",
    "config.login_rate": "config.rate_limits.login",
    "config.register_rate": "config.rate_limits.register",
}


def default_data() -> dict[str, Any]:
    return tomllib.loads(resources.files("conformance.profile").joinpath("default.toml").read_text("utf-8"))


def load(path: str | Path | None = None) -> Profile:
    """The default profile, with ``path`` (a TOML file) merged over it when given."""
    data = default_data()
    if path is None:
        return build(data, "default")
    where = f"--profile {path}"
    try:
        override = tomllib.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise ProfileError(f"{where}: is a directory, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where}: not valid TOML: {exc}") from None
    problems = schema_problems(override, data)
    if problems:
        # Every moved key at once (a profile written for an older harness has them all); else the first problem.
        shown = [p for p in problems if "has moved" in p] or problems[:1]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        raise ProfileError(f"{where}: {'; '.join(shown)}{more}")
    return build(merge(data, override), str(path))


def schema_problems(override: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> list[str]:
    """Sentences naming each key of ``override`` that ``schema`` (the default profile) does not have,
    or whose value is of another kind (a table for a value, a string for a number...)."""
    problems = []
    for key, value in override.items():
        dotted = f"{prefix}{key}"
        if dotted == "rate_limits" and isinstance(value, dict):
            problems += _rate_limit_problems(value, schema)
            continue
        if key not in schema and dotted in MOVED:
            problems.append(f"{dotted!r} has moved: write it as {MOVED[dotted]}")
        elif key not in schema:
            kind = "section" if isinstance(value, dict) else "key"
            close = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
            where = f" in [{prefix.rstrip('.')}]" if prefix else ""
            hint = f"; did you mean {prefix}{close[0]}?" if close else f"; known{where}: {', '.join(schema)}"
            problems.append(f"unknown {kind} {dotted!r}{hint}")
        elif isinstance(schema[key], dict):
            if isinstance(value, dict):
                problems += schema_problems(value, schema[key], f"{dotted}.")
            else:
                problems.append(f"{dotted} must be a table ([{dotted}]), not a value")
        elif _kind(value) != _kind(schema[key]):
            problems.append(f"{dotted} must be {_kind(schema[key])}, not {_kind(value)} ({value!r})")
    return problems


def _rate_limit_problems(declared: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """``[rate_limits]`` takes any operation of the profile (a string each: ``COUNT/SECONDS`` or ``"none"``)."""
    operations = list(schema.get("operations", {})) or list(schema.get("rate_limits", {}))
    problems = []
    for name, value in declared.items():
        if name not in operations:
            close = difflib.get_close_matches(name, operations, n=1, cutoff=0.6)
            hint = f"; did you mean rate_limits.{close[0]}?" if close else f"; operations: {', '.join(operations)}"
            problems.append(f"unknown operation {f'rate_limits.{name}'!r}{hint}")
        elif not isinstance(value, str):
            problems.append(f'rate_limits.{name} must be a string (COUNT/SECONDS or "none"), not {_kind(value)}')
    return problems


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return "a string"


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def build(data: dict[str, Any], source: str) -> Profile:
    """Validate the merged data and build the :class:`Profile`; every problem is listed in one error."""
    problems: list[str] = []
    operations = {name: _operation(name, raw, problems) for name, raw in data["operations"].items()}
    guard_classes = GuardClasses(**_strings(data["guard_classes"], "guard_classes", problems))
    for klass in ("user", "pro", "role"):
        if guard_classes[klass] not in operations:
            problems.append(f"guard_classes.{klass} must name an operation")
    login_raw = data["operations"]["login"]
    rate_limits = RateLimits(
        {op: _rate(value, f"rate_limits.{op}", problems) for op, value in data["rate_limits"].items()}
    )
    limits = Limits(**{key: _positive(value, f"limits.{key}", problems) for key, value in data["limits"].items()})
    meta = data["profile"]
    if meta["authorization"] not in AUTHORIZATION_KINDS:
        problems.append("profile.authorization must be 'claims' or 'database'")
    if not str(meta["environment"]).strip():
        problems.append("profile.environment must name the deployment (development, staging, production...)")
    codes = data["codes"]
    if not all(isinstance(v, int) and 400 <= v < 600 for v in codes.values()):
        problems.append("codes must map each code to an HTTP status between 400 and 599")
    config_raw = dict(data["config"])
    config = Config(
        **{
            **config_raw,
            "email_settings": tuple(config_raw["email_settings"]),
            "rate_limits": dict(config_raw["rate_limits"]),
        }
    )
    sources = Sources(**data["sources"])
    if problems:
        raise ProfileError(f"profile {source} is invalid: " + "; ".join(problems))
    return Profile(
        name=str(meta["name"]),
        authorization=meta["authorization"],
        environment=str(meta["environment"]).strip(),
        production=bool(meta["production"]),
        api_prefix=str(meta["api_prefix"]),
        operations=operations,
        guard_classes=guard_classes,
        login=Login(operations["login"], str(login_raw["username_field"]), str(login_raw["password_field"])),
        accounts=Accounts(**data["accounts"]),
        tokens=Tokens(**data["tokens"]),
        limits=limits,
        rate_limits=rate_limits,
        headers=Headers(**_strings(data["headers"], "headers", problems)),
        cors=_cors(data["cors"], problems),
        config=config,
        codes=Codes(codes),
        sources=sources,
        source=source,
    )


def _operation(name: str, raw: dict[str, Any], problems: list[str]) -> Operation:
    method, path = str(raw["method"]).upper(), str(raw["path"])
    guard, body = str(raw["guard"]), str(raw["body"])
    if method not in HTTP_METHODS:
        problems.append(f"operations.{name}.method {method!r} is not an HTTP method")
    if not path.startswith("/"):
        problems.append(f"operations.{name}.path {path!r} must start with '/'")
    if not GUARD_PATTERN.match(guard):
        problems.append(f"operations.{name}.guard {guard!r} must be none, user, pro or role:<name>")
    if body not in BODY_STYLES:
        problems.append(f"operations.{name}.body {body!r} must be json, form or none")
    return Operation(name, method, path, guard, body)


def _rate(value: Any, where: str, problems: list[str]) -> Rate | None:
    if str(value).strip().lower() == "none":
        return None
    rate = Rate.parse(value)
    if rate is None or rate.count <= 0 or rate.seconds <= 0:
        problems.append(f"{where} {value!r} must look like COUNT/SECONDS (or 'none')")
        return Rate(1, 1.0)
    return rate


def _positive(value: Any, where: str, problems: list[str]) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        problems.append(f"{where} must be a positive integer")
    return int(value) if isinstance(value, int) else 0


def _cors(table: dict[str, Any], problems: list[str]) -> Cors:
    others = table.get("other_allowed_origins", [])
    if not all(isinstance(origin, str) and origin for origin in others):
        problems.append("cors.other_allowed_origins must be a list of non-empty strings")
    plain = {key: value for key, value in table.items() if key != "other_allowed_origins"}
    return Cors(**_strings(plain, "cors", problems), other_allowed_origins=tuple(str(o) for o in others))


def _strings(table: dict[str, Any], where: str, problems: list[str]) -> dict[str, str]:
    for key, value in table.items():
        if not isinstance(value, str) or not value:
            problems.append(f"{where}.{key} must be a non-empty string")
    return {key: str(value) for key, value in table.items()}
