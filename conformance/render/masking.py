"""Masking secrets in text that is about to be rendered.

The harness masks secrets where it records them (conformance/exchange.py)
and redacts the run's secret values at every output (conformance/redaction.py);
this is the renderers' own pass over the final text, by shape (a bearer
credential, ``password=...``, a secret header line), because a report is
published (CI artifacts, job summaries) and a token that slipped through once,
in an exception message or a response body, must not be. The vocabulary (the
mask, the secret names, the JWT pattern) is :mod:`conformance.redaction`'s.
"""

from __future__ import annotations

import re

from conformance.redaction import JWT_PATTERN, MASK, SECRET_FIELDS, SECRET_HEADERS, is_public

_FIELDS = "|".join(sorted(map(re.escape, SECRET_FIELDS), key=len, reverse=True))
_MASKED = re.escape(MASK)  # a value that is already the mask is left alone
#: ``Bearer <credentials>`` (and Basic), anywhere: headers, curl lines, messages; see _credential.
SCHEME = re.compile(r"\b(Bearer|Basic)([ \t]+)([A-Za-z0-9._~+/-]+=*)", re.IGNORECASE)
#: ``password=...`` in forms, query strings and messages.
ASSIGNMENT = re.compile(rf"\b({_FIELDS})=(?!{_MASKED})[^\s&'\"]+", re.IGNORECASE)
#: ``"password": "..."`` in JSON text.
JSON_FIELD = re.compile(rf"(\"(?:{_FIELDS})\"\s*:\s*)\"(?!{_MASKED}\")(?:[^\"\\]|\\.)*\"", re.IGNORECASE)
#: Credentials in a URL (``https://user:pass@host``).
USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
#: A secret header as a line of a rendered response or request ("    cookie: ...").
HEADER_LINE = re.compile(
    rf"^([ \t]*(?:{'|'.join(sorted(SECRET_HEADERS))}):)[ \t]*(?![ \t]*(?:\w+[ \t]+)?{_MASKED}[ \t]*$)(\S.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def mask_text(text: str) -> str:
    """``text`` with tokens, credentials and secret fields replaced by ``***``."""
    text = JWT_PATTERN.sub(lambda m: m.group(0) if is_public(m.group(0)) else MASK, text)  # a forged token stays
    text = USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}" if _credential(m.group(3)) else m.group(0), text)
    text = ASSIGNMENT.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = JSON_FIELD.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    return HEADER_LINE.sub(_mask_header_value, text)


def _credential(word: str) -> bool:
    """Whether the word after "Bearer"/"Basic" looks like credentials rather than prose
    ("Bearer challenge", 'Bearer realm="api"'): a digit or punctuation, or mixed case inside."""
    word = word.rstrip("=")  # base64 padding, or 'realm="api"'
    if not word or word == MASK or is_public(word):
        return False
    if any(not ch.isalpha() for ch in word):
        return True
    return any(ch.isupper() for ch in word[1:]) and any(ch.islower() for ch in word)


def _mask_header_value(match: re.Match[str]) -> str:
    value = match.group(2)
    scheme = value.split(" ", 1)[0] if " " in value else ""
    return f"{match.group(1)} {scheme} {MASK}" if scheme else f"{match.group(1)} {MASK}"
