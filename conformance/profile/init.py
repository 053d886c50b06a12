"""``heallog-conformance init``: a first profile for a running service, in minutes instead of by hand.

It reads what the service publishes: its OpenAPI document (``--openapi URL``,
else ``openapi.json`` under the base URL) and its health answer; it maps the
contract's logical operations to the documented ones
(:mod:`conformance.profile.mapping`); it sends one harmless request to each
rate-limited operation (an empty body: a validation error, no account, no
lockout) and notes the limit the answer advertises (``RateLimit-Policy``,
``X-RateLimit-*``), never a burst to find one; and it writes a commented
TOML profile with only what differs from the default (``default.toml``),
which it loads back before saying it is written. What it cannot read from a
document (guards, plans, roles, the password rule) stays the contract's: the
file says so, and ``heallog-conformance check-profile`` tries it.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from conformance.profile import loader, mapping
from conformance.profile.model import Rate

#: Where a document is looked for when --openapi is not given (relative to the base URL).
OPENAPI_PATHS = ("/openapi.json", "/api/openapi.json", "/docs/openapi.json", "/v3/api-docs")
RATE_HEADERS = ("ratelimit-policy", "ratelimit-limit", "x-ratelimit-limit", "x-ratelimit-window")


class InitError(Exception):
    """The service could not be read (no answer, no document): bad input, exit 4."""


@dataclass
class Surface:
    """What the service published, and what init made of it."""

    base_url: str
    openapi_path: str
    document: dict[str, Any]
    health_path: str
    health_problem: str | None
    matches: dict[str, mapping.Match]
    rates: dict[str, tuple[Rate | None, str]] = field(default_factory=dict)  # operation -> (rate, header text)


def read_surface(client: httpx.Client, base_url: str, openapi_url: str | None = None) -> Surface:
    """The document, the health answer and the mapping of ``base_url``'s service."""
    from conformance.sut import health

    base = base_url.rstrip("/")
    document, openapi_path = _document(client, base, openapi_url)
    defaults = loader.default_data()["operations"]
    health_path = mapping.health_path(document) or defaults["health"]["path"]
    try:
        answer = client.get(base + health_path)
    except httpx.HTTPError as exc:
        raise InitError(f"GET {base}{health_path}: no answer ({type(exc).__name__}: {exc})") from None
    problem = health.answer_problem(answer.status_code, answer.headers.get("content-type", ""), answer.content)
    return Surface(base, openapi_path, document, health_path, problem, mapping.match_operations(document, defaults))


def _document(client: httpx.Client, base: str, openapi_url: str | None) -> tuple[dict[str, Any], str]:
    tried = []
    for url in [openapi_url] if openapi_url else [base + path for path in OPENAPI_PATHS]:
        try:
            answer = client.get(url)
        except httpx.HTTPError as exc:
            tried.append(f"{url}: no answer ({type(exc).__name__})")
            continue
        try:
            document = answer.json()
        except ValueError:
            document = None
        if answer.status_code == 200 and isinstance(document, dict) and isinstance(document.get("paths"), dict):
            return document, _relative(base, url)
        tried.append(f"{url}: {answer.status_code}" + ("" if document is not None else ", not JSON"))
    raise InitError("no OpenAPI document found (" + "; ".join(tried) + "); give its URL with --openapi")


def _relative(base: str, url: str) -> str:
    """``url``'s path as an operation path of the profile (relative to the base URL's own path)."""
    path = urlsplit(urljoin(base + "/", url)).path
    prefix = urlsplit(base).path.rstrip("/")
    return path[len(prefix) :] if prefix and path.startswith(prefix) else path


def read_rate_limits(client: httpx.Client, surface: Surface) -> None:
    """One harmless request per mapped rate-limited operation; the limit its answer advertises, if any."""
    limited = loader.default_data()["rate_limits"]
    for name in limited:
        match = surface.matches.get(name)
        if match is None:
            continue
        body: dict[str, Any] = (
            {"json": {}} if match.body in ("json", None) else ({"data": {}} if match.body == "form" else {})
        )
        try:
            answer = client.request(match.method, surface.base_url + match.path, **body)
        except httpx.HTTPError:
            continue
        rate, said = advertised_rate(answer.headers)
        if said:
            surface.rates[name] = (rate, said)


def advertised_rate(headers: Mapping[str, str]) -> tuple[Rate | None, str]:
    """The limit an answer advertises: ``RateLimit-Policy: 10;w=60`` (IETF draft, ``q=`` too), or
    ``X-RateLimit-Limit``/``RateLimit-Limit`` with a ``w=``/``window=`` parameter or ``X-RateLimit-Window``;
    the rate is ``None`` when no window is said (then only the header text is noted)."""
    lower = {k.lower(): v for k, v in headers.items()}
    said = "; ".join(f"{name}: {lower[name]}" for name in RATE_HEADERS if name in lower)
    for name in ("ratelimit-policy", "ratelimit-limit", "x-ratelimit-limit"):
        text = lower.get(name)
        if not text:
            continue
        first = text.split(",")[0]
        count = re.search(r"(?:^|;)\s*(?:q=)?(\d+)\s*(?:;|$)", first)
        window = re.search(r"(?:w|window)=(\d+(?:\.\d+)?)", first)
        seconds = window.group(1) if window else lower.get("x-ratelimit-window")
        if count and seconds and re.fullmatch(r"\d+(?:\.\d+)?", str(seconds).strip()):
            return Rate(int(count.group(1)), float(seconds)), said
    return None, said


# -- the profile file ------------------------------------------------------------------------------
def render(surface: Surface, *, name: str | None = None, today: datetime.date | None = None) -> str:
    """The profile's TOML text: what differs from the default, each with where it was read."""
    data = loader.default_data()
    defaults = data["operations"]
    day = (today or datetime.date.today()).isoformat()
    lines = [
        f"# A HealLog conformance profile for {surface.base_url}, written by `heallog-conformance init` on {day}",
        f"# from its OpenAPI document ({surface.openapi_path}) and its answers. It says only what differs from the",
        "# default profile (conformance/profile/default.toml, the contract's surface); every other key is the",
        "# default's. Guards, plans, roles, the password rule and the limits a document cannot say are the",
        "# contract's: check them. Try the file with",
        f"#   heallog-conformance check-profile --profile=FILE --base-url {surface.base_url}",
        "",
        "[profile]",
        f"name = {_s(name or _name_of(surface))}",
    ]
    mapped_paths = [m.path for m in surface.matches.values()]
    prefix = mapping.api_prefix(mapped_paths)
    if prefix and prefix != data["profile"]["api_prefix"]:
        lines += ["# every documented operation of the contract lies under this prefix", f"api_prefix = {_s(prefix)}"]
    if surface.health_problem:
        lines += [f"# health ({surface.health_path}) {surface.health_problem}"]
    sections = _operation_sections(surface, defaults)
    missing = [n for n in defaults if n not in surface.matches and n not in mapping.NOT_MAPPED]
    if missing:
        lines += ["", "# Not found in the document (kept as the default; write them here if the service has them):"]
        lines += [f"#   {n}: {defaults[n]['method']} {defaults[n]['path']}" for n in missing]
    lines += sections
    rate_lines = _rate_lines(surface, data["rate_limits"])
    if rate_lines:
        lines += ["", "[rate_limits]", *rate_lines]
    return "\n".join(lines) + "\n"


def _operation_sections(surface: Surface, defaults: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines: list[str] = []
    own = {"health": (surface.health_path, "its health answer"), "openapi": (surface.openapi_path, "its document")}
    for name, (path, where) in own.items():
        if path != defaults[name]["path"]:
            lines += ["", f"[operations.{name}]", f"# {where}", f"path = {_s(path)}"]
    for name, default in defaults.items():
        match = surface.matches.get(name)
        if match is None:
            continue
        changed = {}
        if match.method != default["method"]:
            changed["method"] = match.method
        if match.path != default["path"]:
            changed["path"] = match.path
        if match.body is not None and match.body != default["body"]:
            changed["body"] = match.body
        if name == "login":
            for key, value in (("username_field", match.username_field), ("password_field", match.password_field)):
                if value and value != default[key]:
                    changed[key] = value
        if changed:
            lines += ["", f"[operations.{name}]", f"# {match.describe()}"]
            lines += [f"{key} = {_s(value)}" for key, value in changed.items()]
    return lines


def _rate_lines(surface: Surface, defaults: Mapping[str, str]) -> list[str]:
    lines = []
    for name, (rate, said) in surface.rates.items():
        match = surface.matches[name]
        if rate is None:
            lines += [f"# {match.method} {match.path} advertises {said}, without a window: set {name} yourself"]
        elif Rate.parse(defaults[name]) != rate:
            lines += [f"# advertised by {match.method} {match.path}: {said}", f"{name} = {_s(str(rate))}"]
    return lines


def _name_of(surface: Surface) -> str:
    title = str((surface.document.get("info") or {}).get("title") or urlsplit(surface.base_url).hostname or "service")
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "service"


def _s(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def write(path: str | Path, text: str) -> None:
    """Write the profile, then load it as a run would: a profile init wrote is always one a run accepts."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, "utf-8")
    loader.load(target)
