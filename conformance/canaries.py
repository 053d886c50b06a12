"""Canaries: unique secret values submitted to the SUT, and the forms a leak can take.

A canary is only useful if finding it in a log cannot be a coincidence, so the
values are random and the suites pick them absent from the log beforehand
(:func:`absent_from`). :func:`encodings` lists every form in which a value
could be written by a careless logger: as is, URL-encoded, JSON-escaped (once or twice) and
base64 (standard and URL-safe) at each of the three byte alignments a value
can have inside a longer base64 blob (``Basic`` credentials, encoded bodies).
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

#: Base64 forms shorter than this are too likely to occur by chance.
MIN_BASE64_CHARS = 6
#: How many random candidates :func:`absent_from` tries before giving up.
MAX_DRAWS = 100


@dataclass(frozen=True)
class Encoding:
    """One written form of a canary."""

    name: str
    text: str
    #: Textual forms are matched in any letter case (``ALICE@X.COM`` is still the email).
    case_sensitive: bool


def encodings(value: str) -> list[Encoding]:
    """Every form of ``value`` that LOG-1 looks for, without duplicates."""
    forms = [
        Encoding("raw", value, False),
        Encoding("URL-encoded", quote(value, safe=""), False),
        Encoding("form-encoded", quote_plus(value, safe=""), False),
        Encoding("JSON-escaped", json.dumps(value)[1:-1], False),
        Encoding("JSON-escaped (ASCII)", json.dumps(value, ensure_ascii=True)[1:-1], False),
        Encoding("JSON-escaped slashes", json.dumps(value)[1:-1].replace("/", "\\/"), False),
        # a JSON body logged as a string inside a JSON line is escaped twice
        Encoding("JSON-escaped twice", json.dumps(json.dumps(value)[1:-1])[1:-1], False),
    ]
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) >= 7 and digits != value:  # a phone number written without its punctuation
        forms.append(Encoding("digits only", digits, False))
    raw = value.encode("utf-8")
    for offset in range(3):
        for alphabet, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            text = base64_core(raw, offset, encode)
            if len(text) >= MIN_BASE64_CHARS:
                forms.append(Encoding(f"{alphabet} (offset {offset})", text, True))
    unique: dict[tuple[str, bool], Encoding] = {}
    for form in forms:
        key = (form.text if form.case_sensitive else form.text.lower(), form.case_sensitive)
        unique.setdefault(key, form)
    return list(unique.values())


def base64_core(raw: bytes, offset: int, encode=base64.b64encode) -> str:
    """The base64 characters that depend only on ``raw`` when it starts ``offset`` bytes into a blob.

    Characters that also carry bits of the bytes before or after ``raw`` differ
    from blob to blob, so only the characters fully inside ``raw`` are kept.
    """
    text = encode(b"\0" * offset + raw).decode("ascii")
    first = -(-8 * offset // 6)  # ceil: first character made only of raw's bits
    end = 8 * (offset + len(raw)) // 6  # floor: characters after this mix in what follows
    return text[first:end]


# -- unique values -------------------------------------------------------------


def token() -> str:
    """A short random lower-case tag, unique enough to name one run's values."""
    return secrets.token_hex(6)


def password() -> str:
    """A password that satisfies the strength rule of §4 and appears nowhere by chance."""
    return f"Cn{token()}!Q{secrets.randbelow(10)}x{token()}"


def email(domain: str = "example.com", prefix: str = "hlc-canary") -> str:
    return f"{prefix}-{token()}@{domain}"


def phone() -> str:
    """An E.164 number in a fictional range, with eight random digits."""
    return "+4915" + "".join(secrets.choice(string.digits) for _ in range(8))


def bearer_lookalike() -> str:
    """Something shaped like a JWT, for an ``Authorization`` header that must not be logged."""
    parts = (secrets.token_urlsafe(18), secrets.token_urlsafe(30), secrets.token_urlsafe(32))
    return "eyJ" + ".".join(parts)


def digits(length: int = 6) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))


def absent_from(lines: Iterable[str], make=digits) -> str:
    """A value from ``make()`` that occurs in none of ``lines`` (in any of its encodings).

    Short values such as 6-digit codes can collide with timestamps and ids;
    drawing one that is absent beforehand means a later match is a leak.
    """
    haystack = "\n".join(lines)
    lowered = haystack.lower()
    for _ in range(MAX_DRAWS):
        value = make()
        if not any((form.text in haystack) if form.case_sensitive else (form.text.lower() in lowered)
                   for form in encodings(value)):  # fmt: skip
            return value
    raise RuntimeError(f"no value absent from the log after {MAX_DRAWS} draws")
