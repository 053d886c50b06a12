"""The exchanges of failing tests as HAR 1.2 (``har_document(entries) -> dict``).

HAR is what browsers' network panels, proxies and API tools import, so a
backend developer can replay or inspect exactly what the harness sent.
Each test is a HAR *page* (its node id), each exchange an *entry* of it.
Secrets are masked with the harness's own rules (``SECRET_HEADERS``,
``SECRET_FIELDS``, ``mask_body``, then :mod:`conformance.render.masking`);
bodies past ``BODY_LIMIT`` bytes are cut, their real size kept in
``bodySize``. Each entry has its request's real start and duration (the
wire's :class:`~conformance.exchange.Timing`), so the HAR shows order and
gaps; a request that got no answer is an entry too, with status 0 and its
``_error`` (as browsers write failed requests). An exchange built by hand has
no timing: it gets the document's ``started`` time and zero timings.
"""

from __future__ import annotations

import base64
import datetime
import http
from collections.abc import Iterable
from importlib import metadata
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from conformance.exchange import Attempt, Exchange, NoResponse, mask_body
from conformance.redaction import MASK, SECRET_FIELDS, SECRET_HEADERS
from conformance.render.masking import mask_text

HAR_VERSION = "1.2"
BODY_LIMIT = 64 * 1024
HTTP_VERSION = "HTTP/1.1"  # not recorded; what the harness's clients speak


def _version() -> str:
    try:
        return metadata.version("heallog-conformance")
    except metadata.PackageNotFoundError:
        return "0"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _headers(headers: Any) -> list[dict[str, str]]:
    result = []
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {MASK}".strip()
        result.append({"name": name, "value": mask_text(value)})
    return result


def _masked_query(url: str) -> tuple[str, list[dict[str, str]]]:
    parts = urlsplit(url)
    pairs = [(k, MASK if k in SECRET_FIELDS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = urlencode(pairs, safe="*") if pairs else parts.query
    masked = mask_text(urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)))
    return masked, [{"name": k, "value": mask_text(v)} for k, v in pairs]


def _content(body: bytes) -> tuple[str, str | None, str | None]:
    """``(text, encoding, comment)`` of a body: masked text, base64 for binary bodies, cut past BODY_LIMIT."""
    cut = len(body) > BODY_LIMIT
    kept = body[:BODY_LIMIT]
    comment = f"body cut to its first {BODY_LIMIT} of {len(body)} bytes" if cut else None
    try:
        kept.decode("utf-8")
    except UnicodeDecodeError:
        if not cut:
            return base64.b64encode(kept).decode("ascii"), "base64", comment
    text = mask_body(kept) if not cut else kept.decode("utf-8", errors="replace")
    return mask_text(text), None, comment


def _request(exchange: Attempt) -> dict[str, Any]:
    request = exchange.request
    url, query = _masked_query(request.url)
    result: dict[str, Any] = {
        "method": request.method,
        "url": url,
        "httpVersion": HTTP_VERSION,
        "cookies": [],
        "headers": _headers(request.headers),
        "queryString": query,
        "headersSize": -1,
        "bodySize": len(request.body),
    }
    if request.body:
        text, _, comment = _content(request.body)
        post: dict[str, Any] = {"mimeType": request.headers.get("content-type") or "", "text": text}
        if comment:
            post["comment"] = comment
        result["postData"] = post
    return result


def _response(exchange: Exchange) -> dict[str, Any]:
    response = exchange.response
    text, encoding, comment = _content(response.body)
    content: dict[str, Any] = {"size": len(response.body), "mimeType": response.headers.get("content-type") or ""}
    if response.body:
        content["text"] = text
    if encoding:
        content["encoding"] = encoding
    if comment:
        content["comment"] = comment
    try:
        reason = http.HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    return {
        "status": response.status,
        "statusText": reason,
        "httpVersion": HTTP_VERSION,
        "cookies": [],
        "headers": _headers(response.headers),
        "content": content,
        "redirectURL": mask_text(response.headers.get("location") or ""),
        "headersSize": -1,
        "bodySize": len(response.body),
    }


def _no_response(attempt: NoResponse) -> dict[str, Any]:
    return {
        "status": 0,
        "statusText": "",
        "httpVersion": "",
        "cookies": [],
        "headers": [],
        "content": {"size": 0, "mimeType": ""},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": -1,
        "_error": mask_text(attempt.error),
    }


def har_document(entries: Iterable[tuple[str, Attempt]], *, started: str | None = None) -> dict[str, Any]:
    """A HAR 1.2 log of ``(test node id, attempt)`` pairs, in the given order."""
    default_start = started or _now()
    pages: dict[str, dict[str, Any]] = {}
    har_entries = []
    for test, exchange in entries:
        timing = exchange.timing
        when = (
            datetime.datetime.fromtimestamp(timing.started, datetime.UTC).isoformat(timespec="milliseconds")
            if timing is not None
            else default_start
        )
        elapsed_ms = timing.seconds * 1000.0 if timing is not None else 0.0
        page_id = test
        if page_id not in pages:
            pages[page_id] = {"startedDateTime": when, "id": page_id, "title": test, "pageTimings": {}}
        har_entries.append(
            {
                "pageref": page_id,
                "startedDateTime": when,
                "time": elapsed_ms,
                "request": _request(exchange),
                "response": _response(exchange) if isinstance(exchange, Exchange) else _no_response(exchange),
                "cache": {},
                "timings": {"send": 0.0, "wait": elapsed_ms, "receive": 0.0},
                "comment": test,
            }
        )
    return {
        "log": {
            "version": HAR_VERSION,
            "creator": {"name": "heallog-conformance", "version": _version()},
            "pages": list(pages.values()),
            "entries": har_entries,
        }
    }
