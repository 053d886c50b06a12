"""No secret in any output: the masking vocabulary, the run's secret values, and the one function every output
passes through.

This module owns what a secret is called and what it becomes: :data:`MASK`,
the secret header and field names (:data:`SECRET_HEADERS`,
:data:`SECRET_FIELDS`) and the one :data:`JWT_PATTERN`. :mod:`conformance.exchange`
masks recorded exchanges by those names, :mod:`conformance.render.masking`
masks rendered text with them; neither defines its own.

Masking by field name (``password``, ``Authorization``) misses a secret the
SUT echoes somewhere else (a 422 quoting the input, an error message, a log
line), so the harness also remembers every secret *value* it makes or
receives — passwords, one-time codes, tokens, canaries, the signing secret —
and :func:`redact` replaces each of them, wherever it appears, with
``***``. JWT-shaped strings are masked whatever their origin (forged variants,
tokens of accounts the harness did not make), except the values registered
as *public* (:func:`register_public`): a token the harness forged without any
secret (AUTH-2's bad-signature, alg-none... variants) is no secret, and its
curl line must name it to reproduce the failure. A value registered as a
secret stays masked even if also called public. Terminal output (failure
messages, tracebacks, captured sections, warnings), the JSON, JUnit, HTML and
HAR reports are all redacted at the boundary.
"""

from __future__ import annotations

import re
import threading

#: What every secret becomes, in every output (records, messages, reports).
MASK = "***"
#: Header names whose values are secrets and are masked in every rendering.
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
#: Body, form and query fields whose values are secrets and are masked in every rendering.
SECRET_FIELDS = frozenset(
    {"password", "current_password", "new_password", "otp_code", "access_token", "refresh_token", "token"}
)
#: Shorter values are not registered: masking them would mangle unrelated text (an OTP is the exception).
MIN_SECRET_LENGTH = 6
#: Three base64url segments, the first a JOSE header ({"... -> eyJ): any JWT, signed or not, with an
#: empty payload or signature too (forged variants), wherever it stands (no word boundary: glued text too).
JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")

_lock = threading.Lock()
_values: dict[str, str] = {}  # value -> label
_public: dict[str, str] = {}  # value -> label: JWT-shaped values that are shown as they are
_pattern: re.Pattern[str] | None = None


def register(value: object, label: str = "secret") -> None:
    """Remember ``value`` as a secret of this run (no-op for short or empty values)."""
    global _pattern
    text = str(value) if value is not None else ""
    if len(text) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if text not in _values:
            _values[text] = label
            _pattern = None


def register_public(value: object, label: str = "public") -> None:
    """Exempt ``value`` from the JWT masking: a token anyone could make (forged without a secret)."""
    text = str(value) if value is not None else ""
    if len(text) >= MIN_SECRET_LENGTH:
        with _lock:
            _public[text] = label


def is_public(value: str) -> bool:
    """Whether ``value`` was registered public and not as a secret."""
    with _lock:
        return value in _public and value not in _values


def label_of(value: str) -> str | None:
    """What a registered value is (a secret's or a public value's label), e.g. to say which token to set."""
    with _lock:
        return _values.get(value) or _public.get(value)


def secret_spans(text: str) -> list[tuple[int, int]]:
    """Where :func:`redact` would mask ``text``: the spans of registered secrets and non-public JWTs."""
    if not text:
        return []
    pattern = _compiled()
    spans = [m.span() for m in pattern.finditer(text)] if pattern is not None else []
    spans += [m.span() for m in JWT_PATTERN.finditer(text) if not is_public(m.group(0))]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def registered() -> dict[str, str]:
    """Every registered secret (value -> label): for the harness's own tests, which look for them in outputs."""
    with _lock:
        return dict(_values)


def redact(text: str) -> str:
    """``text`` with every registered secret (also URL- and JSON-encoded) and every JWT replaced by ``***``."""
    if not text:
        return text
    pattern = _compiled()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return JWT_PATTERN.sub(_jwt_mask, text)


def _jwt_mask(match: re.Match[str]) -> str:
    return match.group(0) if is_public(match.group(0)) else MASK


def _compiled() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if _pattern is None and _values:
            forms: set[str] = set()
            for value in _values:
                forms.update(_forms(value))
            alternatives = sorted(forms, key=len, reverse=True)  # longest first: no partial masks
            _pattern = re.compile("|".join(_bounded(form) for form in alternatives))
        return _pattern


def _forms(value: str) -> set[str]:
    """The spellings a value takes in HTTP text: as is, URL-encoded, form-encoded, JSON-escaped."""
    import json
    from urllib.parse import quote, quote_plus

    return {value, quote(value, safe=""), quote_plus(value, safe=""), json.dumps(value)[1:-1]}


def _bounded(form: str) -> str:
    """An all-digit secret (an OTP) only as a whole number, so that other numbers stay readable."""
    escaped = re.escape(form)
    return rf"(?<!\d){escaped}(?!\d)" if form.isdigit() else escaped


def reset() -> None:
    """Forget every registered secret (tests of the harness itself)."""
    global _pattern
    with _lock:
        _values.clear()
        _public.clear()
        _pattern = None
