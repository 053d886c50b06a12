"""The exchanges of failing tests as HAR 1.2: the structure the format requires, and no secret in it."""

from __future__ import annotations

import base64
import json
from typing import Any

from conformance.exchange import Exchange
from conformance.render.har import BODY_LIMIT, har_document
from tests.render.conftest import PASSWORD, TOKEN

#: HAR 1.2's required members and their types (http://www.softwareishard.com/blog/har-12-spec/).
REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "log": {"version": str, "creator": dict, "entries": list},
    "creator": {"name": str, "version": str},
    "page": {"startedDateTime": str, "id": str, "title": str, "pageTimings": dict},
    "entry": {
        "startedDateTime": str,
        "time": (int, float),
        "request": dict,
        "response": dict,
        "cache": dict,
        "timings": dict,
    },
    "request": {
        "method": str,
        "url": str,
        "httpVersion": str,
        "cookies": list,
        "headers": list,
        "queryString": list,
        "headersSize": int,
        "bodySize": int,
    },
    "response": {
        "status": int,
        "statusText": str,
        "httpVersion": str,
        "cookies": list,
        "headers": list,
        "content": dict,
        "redirectURL": str,
        "headersSize": int,
        "bodySize": int,
    },
    "content": {"size": int, "mimeType": str},
    "timings": {"send": (int, float), "wait": (int, float), "receive": (int, float)},
    "pair": {"name": str, "value": str},
    "postData": {"mimeType": str},
}


def conforms(obj: dict[str, Any], kind: str, where: str) -> list[str]:
    problems = []
    for key, kinds in REQUIRED[kind].items():
        if key not in obj:
            problems.append(f"{where}: missing {key}")
        elif not isinstance(obj[key], kinds) or isinstance(obj[key], bool):
            problems.append(f"{where}.{key}: {type(obj[key]).__name__}")
    return problems


def har_problems(har: dict[str, Any]) -> list[str]:
    """Every departure from HAR 1.2's required structure."""
    problems = conforms(har, "log", "document") if "log" not in har else conforms(har["log"], "log", "log")
    log = har.get("log", {})
    problems += conforms(log.get("creator", {}), "creator", "log.creator")
    page_ids = set()
    for i, page in enumerate(log.get("pages", [])):
        problems += conforms(page, "page", f"pages[{i}]")
        page_ids.add(page.get("id"))
    for i, entry in enumerate(log.get("entries", [])):
        where = f"entries[{i}]"
        problems += conforms(entry, "entry", where)
        if "pageref" in entry and entry["pageref"] not in page_ids:
            problems.append(f"{where}.pageref names no page")
        request, response = entry.get("request", {}), entry.get("response", {})
        problems += conforms(request, "request", f"{where}.request") + conforms(
            response, "response", f"{where}.response"
        )
        problems += conforms(response.get("content", {}), "content", f"{where}.response.content")
        problems += conforms(entry.get("timings", {}), "timings", f"{where}.timings")
        for part in ("headers", "queryString", "cookies"):
            for pair in request.get(part, []) + (response.get(part, []) if part != "queryString" else []):
                problems += conforms(pair, "pair", f"{where}.{part}[]")
        if "postData" in request:
            problems += conforms(request["postData"], "postData", f"{where}.request.postData")
            if "text" not in request["postData"] and "params" not in request["postData"]:
                problems.append(f"{where}.request.postData: neither text nor params")
        if entry.get("timings") and entry.get("time") != sum(v for v in entry["timings"].values() if v >= 0):
            problems.append(f"{where}.time is not the sum of its timings")
    return problems


def login_exchange() -> Exchange:
    return Exchange.build(
        "POST",
        f"http://127.0.0.1:41237/api/auth/refresh?token={TOKEN}&trace=1",
        200,
        request_headers={
            "Authorization": f"Bearer {TOKEN}",
            "content-type": "application/json",
            "cookie": "session=s3cr3t-session",
        },
        request_body=json.dumps({"refresh_token": TOKEN, "note": f"password={PASSWORD}"}).encode(),
        response_headers={"content-type": "application/json", "x-request-id": "3f2a", "set-cookie": "s=1; HttpOnly"},
        response_body={"access_token": TOKEN, "refresh_token": TOKEN, "token_type": "bearer"},
    )


def entries() -> list[tuple[str, Exchange]]:
    missing = Exchange.build(
        "GET",
        "http://127.0.0.1:41237/api/patients/nope",
        404,
        response_headers={"content-type": "application/json"},
        response_body={"success": False, "error": {"code": "NOT_FOUND"}},
    )
    moved = Exchange.build(
        "GET",
        "http://127.0.0.1:41237/api/patients",
        307,
        response_headers={"location": "http://127.0.0.1:41237/api/patients/"},
    )
    return [
        ("conformance/test_revocation.py::test_refresh", login_exchange()),
        ("conformance/test_envelope.py::test_missing[get]", missing),
        ("conformance/test_envelope.py::test_missing[get]", moved),
    ]


def test_document_has_the_required_har_1_2_structure():
    har = har_document(entries(), started="2026-11-26T14:02:11.000+00:00")
    assert har_problems(har) == []
    assert har["log"]["version"] == "1.2" and har["log"]["creator"]["name"] == "heallog-conformance"
    json.dumps(har)  # plain JSON data


def test_the_structure_check_can_fail():
    har = har_document(entries())
    del har["log"]["entries"][0]["response"]["content"]["mimeType"]
    har["log"]["entries"][1]["request"]["headers"] = [{"name": "x"}]
    assert har_problems(har) == ["entries[0].response.content: missing mimeType", "entries[1].headers[]: missing value"]


def test_each_test_is_a_page_and_its_exchanges_are_its_entries():
    har = har_document(entries())
    assert [page["id"] for page in har["log"]["pages"]] == [
        "conformance/test_revocation.py::test_refresh",
        "conformance/test_envelope.py::test_missing[get]",
    ]
    assert [entry["pageref"] for entry in har["log"]["entries"]] == [
        "conformance/test_revocation.py::test_refresh",
        *["conformance/test_envelope.py::test_missing[get]"] * 2,
    ]
    moved = har["log"]["entries"][2]["response"]
    assert moved["status"] == 307 and moved["statusText"] == "Temporary Redirect"
    assert moved["redirectURL"] == "http://127.0.0.1:41237/api/patients/"


def test_no_secret_survives_in_headers_bodies_or_urls():
    text = json.dumps(har_document(entries()))
    for secret in (TOKEN, PASSWORD, "s3cr3t-session"):
        assert secret not in text
    entry = har_document(entries())["log"]["entries"][0]
    headers = {h["name"].lower(): h["value"] for h in entry["request"]["headers"]}
    assert headers["authorization"] == "Bearer ***" and headers["cookie"] == "***"
    assert entry["request"]["url"] == "http://127.0.0.1:41237/api/auth/refresh?token=***&trace=1"
    assert {q["name"]: q["value"] for q in entry["request"]["queryString"]} == {"token": "***", "trace": "1"}
    assert json.loads(entry["request"]["postData"]["text"]) == {"refresh_token": "***", "note": "password=***"}
    assert json.loads(entry["response"]["content"]["text"])["access_token"] == "***"
    assert entry["request"]["bodySize"] == len(login_exchange().request.body)  # the size sent, not the masked one


def test_large_and_binary_bodies():
    big = Exchange.build(
        "POST",
        "http://127.0.0.1:1/api/auth/register",
        413,
        request_headers={"content-type": "application/json"},
        request_body=b" " * (BODY_LIMIT * 3),
    )
    binary = Exchange.build(
        "GET",
        "http://127.0.0.1:1/x",
        200,
        response_headers={"content-type": "image/png"},
        response_body=b"\x89PNG\r\n\x1a\n\xff\x00",
    )
    har = har_document([("t::big", big), ("t::bin", binary)])
    assert har_problems(har) == []
    post = har["log"]["entries"][0]["request"]
    assert post["bodySize"] == BODY_LIMIT * 3 and len(post["postData"]["text"]) == BODY_LIMIT
    assert "cut" in post["postData"]["comment"]
    content = har["log"]["entries"][1]["response"]["content"]
    assert content["encoding"] == "base64" and base64.b64decode(content["text"]) == b"\x89PNG\r\n\x1a\n\xff\x00"


def test_no_entries_is_an_empty_log():
    har = har_document([])
    assert har_problems(har) == [] and har["log"]["entries"] == [] and har["log"]["pages"] == []
