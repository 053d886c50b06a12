"""Canaries: unique secret values submitted to the SUT, and the forms a leak can take.

A canary is only useful if finding it in a log cannot be a coincidence, so the
values are random and the suites pick them absent from the log beforehand
(:func:`absent_from`). :func:`encodings` lists every form in which a value
could be written by a careless logger, in the order a finding is named by:

- raw, exactly as submitted; case-folded (upper-, lower- or mixed-case);
- URL-encoded: any mix of literal characters and percent escapes in either
  hex case (``quote``, ``quote_plus``, an encoder that escapes only ``@``),
  a space as ``+`` or ``%20``, and escapes encoded once more (``%2540``);
- JSON-escaped: once (``ensure_ascii`` on or off), with escaped slashes, and
  twice (a JSON body logged as a string inside a JSON line);
- base64 (standard and URL-safe) at each of the three byte alignments a value
  can have inside a longer blob (``Basic`` credentials, encoded bodies);
- for a phone number, its digits with any punctuation (``49 151 2345 678``).

:func:`mask` replaces every one of those forms by ``<label>``: a canary must
never reach the harness's own output, not even in the message that reports it.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

#: Base64 forms shorter than this are too likely to occur by chance.
MIN_BASE64_CHARS = 6
#: A phone's digits are searched without its punctuation only from this many digits on.
MIN_PHONE_DIGITS = 7
#: How many random candidates :func:`absent_from` tries before giving up.
MAX_DRAWS = 100
#: Characters a logger may write between the digits of a phone number.
PHONE_PUNCTUATION = r"[\s()./\-]*"
_PHONE_SHAPE = re.compile(r"\+?[0-9\s()./\-]+")


@dataclass(frozen=True)
class Encoding:
    """One written form of a canary: a regular expression and the name a finding gives it."""

    name: str
    pattern: str
    #: Textual forms are matched in any letter case (``ALICE%40X.COM`` is still the email); base64 is not.
    case_sensitive: bool = False
    #: An all-digit form (an OTP) counts only as a whole number, not inside a longer one.
    whole_number: bool = False

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.pattern, self.case_sensitive, self.whole_number)

    def found_in(self, text: str) -> bool:
        return self.regex.search(text) is not None


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str, case_sensitive: bool, whole_number: bool) -> re.Pattern[str]:
    if whole_number:
        pattern = rf"(?<![0-9]){pattern}(?![0-9])"
    return re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def encodings(value: str) -> tuple[Encoding, ...]:
    """Every form of ``value`` that LOG-1 looks for, without duplicates, in the order findings are named by."""
    whole = value.isdigit()
    forms = [Encoding("raw", re.escape(value), case_sensitive=True, whole_number=whole)]
    if value.lower() != value.upper():
        forms.append(Encoding("case-folded", re.escape(value), whole_number=whole))
    if quote(value, safe="") != value:
        forms.append(Encoding("URL-encoded", url_encoded_pattern(value)))
    for name, text in json_escaped(value):
        forms.append(Encoding(name, re.escape(text)))
    raw = value.encode("utf-8")
    for offset in range(3):
        for alphabet, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            text = base64_core(raw, offset, encode)
            if len(text) >= MIN_BASE64_CHARS:
                forms.append(Encoding(f"{alphabet} (offset {offset})", re.escape(text), case_sensitive=True))
    digits = "".join(ch for ch in value if ch.isdigit())
    if is_phone(value) and digits != value:  # a phone number written without its punctuation, or with other
        # "00" is the international prefix written instead of "+"
        forms.append(Encoding("digits, any punctuation", "(?:00)?" + PHONE_PUNCTUATION.join(digits), whole_number=True))
    unique: dict[tuple[str, bool], Encoding] = {}
    for form in forms:
        # raw and case-folded share a pattern: both are kept, told apart by the flag
        unique.setdefault((form.pattern if form.case_sensitive else form.pattern.lower(), form.case_sensitive), form)
    return tuple(unique.values())


def is_phone(value: str) -> bool:
    """Whether ``value`` is shaped like a phone number (``+49 151 2345678``): only then are its bare digits a form."""
    return bool(_PHONE_SHAPE.fullmatch(value)) and sum(ch.isdigit() for ch in value) >= MIN_PHONE_DIGITS


def url_encoded_pattern(value: str) -> str:
    """A regex for ``value`` with any of its characters percent-encoded (once or twice, either hex case)."""
    parts = []
    for char in value:
        escapes = "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        alternatives = [re.escape(char), re.escape(escapes), re.escape(escapes.replace("%", "%25"))]
        if char == " ":
            alternatives.append(r"\+")
        parts.append("(?:" + "|".join(alternatives) + ")")
    return "".join(parts)


def json_escaped(value: str) -> list[tuple[str, str]]:
    """The JSON-escaped forms of ``value`` (inside the quotes) that differ from it."""
    once = json.dumps(value, ensure_ascii=False)[1:-1]
    ascii_once = json.dumps(value, ensure_ascii=True)[1:-1]
    forms = [
        ("JSON-escaped", once),
        ("JSON-escaped (ASCII)", ascii_once),
        ("JSON-escaped (slashes)", ascii_once.replace("/", "\\/")),
        ("JSON-escaped twice", json.dumps(ascii_once)[1:-1]),
        ("JSON-escaped twice (slashes)", json.dumps(ascii_once.replace("/", "\\/"))[1:-1]),
    ]
    seen = {value.lower()}
    kept = []
    for name, text in forms:
        if text.lower() not in seen:
            seen.add(text.lower())
            kept.append((name, text))
    return kept


def base64_core(raw: bytes, offset: int, encode=base64.b64encode) -> str:
    """The base64 characters that depend only on ``raw`` when it starts ``offset`` bytes into a blob.

    Characters that also carry bits of the bytes before or after ``raw`` differ
    from blob to blob, so only the characters fully inside ``raw`` are kept.
    """
    text = encode(b"\0" * offset + raw).decode("ascii")
    first = -(-8 * offset // 6)  # ceil: first character made only of raw's bits
    end = 8 * (offset + len(raw)) // 6  # floor: characters after this mix in what follows
    return text[first:end]


def first_form_in(text: str, value: str, *, searchable: str | None = None) -> Encoding | None:
    """The first form of ``value`` found in ``text`` (whole-number forms in ``searchable``, when given)."""
    for form in encodings(value):
        if form.found_in(searchable if form.whole_number and searchable is not None else text):
            return form
    return None


def mask(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every form of each value replaced by ``<label>``, digits inside longer numbers included."""
    # longest values first, so that a value holding another is masked as a whole
    for label, value in sorted(values.items(), key=lambda item: -len(item[1] or "")):
        if not value:
            continue
        for form in encodings(value):
            text = _compile(form.pattern, form.case_sensitive, False).sub(f"<{label}>", text)
    return text


# -- unique values -------------------------------------------------------------


def token() -> str:
    """A short random lower-case tag, unique enough to name one run's values."""
    return secrets.token_hex(6)


def password() -> str:
    """A password that satisfies the strength rule of §4 and appears nowhere by chance."""
    return f"Cn{token()}!Q{secrets.randbelow(10)}x{token()}"


def weak_password() -> str:
    """A password the strength rule refuses (no upper-case letter, no special character): a 422 to provoke."""
    return f"cnweak{token()}{token()}"


def email(domain: str = "example.com", prefix: str = "hlc-canary") -> str:
    return f"{prefix}-{token()}@{domain}"


def phone() -> str:
    """An E.164 number in a fictional range, with eight random digits."""
    return "+4915" + "".join(secrets.choice(string.digits) for _ in range(8))


def bearer_lookalike() -> str:
    """Something shaped like a JWT, for an ``Authorization`` header that must not be logged."""
    parts = (secrets.token_urlsafe(18), secrets.token_urlsafe(30), secrets.token_urlsafe(32))
    return "eyJ" + ".".join(parts)


def api_key() -> str:
    """An opaque credential, as an ``X-Api-Key`` header or a cookie would carry it."""
    return "hlck_" + secrets.token_urlsafe(24)


def digits(length: int = 6) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))


def absent_from(lines: Iterable[str], make=digits, *, taken: Iterable[str] = ()) -> str:
    """A value from ``make()`` that occurs in none of ``lines`` (in any of its encodings), unrelated to ``taken``.

    Short values such as 6-digit codes can collide with timestamps and ids;
    drawing one that is absent beforehand means a later match is a leak.
    Digits are avoided even inside longer numbers here, to be safe either way.
    A value inside another canary of ``taken`` (or holding one) is drawn again,
    so that a finding names one canary, never two.
    """
    haystack = "\n".join(lines)
    others = [other.lower() for other in taken if other]
    for _ in range(MAX_DRAWS):
        value = make()
        if any(value.lower() in other or other in value.lower() for other in others):
            continue
        if not any(_compile(form.pattern, form.case_sensitive, False).search(haystack) for form in encodings(value)):
            return value
    raise RuntimeError(f"no value absent from the log after {MAX_DRAWS} draws")
