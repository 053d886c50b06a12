"""A report document like the one a failing run writes, with every verdict and a few secrets in it.

The secrets (``SECRETS``) are planted where a careless message could carry
them, so that the renderers' tests can assert that none survives rendering.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conformance import requirements
from conformance.outcomes import ResponseExcerpt, ViolationData

TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsInR5cGUiOiJhY2Nlc3MifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
PASSWORD = "Hunter2-Correct-Horse!"
SECRETS = (TOKEN, PASSWORD, "c2lnbmF0dXJlLW9mLXRoZS10b2tlbg", "s3cr3t-session")

ENV3 = ViolationData(
    requirement="ENV-3",
    title="Status and code follow the table of §4.",
    expected="404 with code NOT_FOUND",
    actual="404 with code UNKNOWN_ERROR",
    exchange="GET http://127.0.0.1:41237/api/patients/hlc-missing",
    request_id="3f2a",
    response=ResponseExcerpt(
        404,
        (("content-type", "application/json"), ("x-request-id", "3f2a")),
        '{"success": false, "error": {"message": "Not found <script>alert(1)</script>", '
        '"code": "UNKNOWN_ERROR"}, "request_id": "3f2a"}',
    ),
    reproduce=f"curl -i -X GET -H 'authorization: Bearer {TOKEN}' http://127.0.0.1:41237/api/patients/hlc-missing",
    hint="raise NotFoundException(resource, identifier) instead of a bare APIException",
)
ENV3_FAILURE = ENV3.render()

ENV3_SECOND_VIOLATION = ViolationData(
    requirement="ENV-3",
    title="Status and code follow the table of §4.",
    expected="401 with code INVALID_CREDENTIALS",
    actual="401 with code UNKNOWN_ERROR",
    exchange="POST http://127.0.0.1:41237/api/auth/login",
    request_id="9c1d",
    response=ResponseExcerpt(
        401,
        (("content-type", "application/json"), ("set-cookie", "session=s3cr3t-session")),
        '{"success": false, "error": {"message": "Invalid credentials", "code": "UNKNOWN_ERROR"}, '
        '"request_id": "9c1d"}',
    ),
    reproduce="curl -i -X POST --data-binary 'username=hlc-1%40example.com&password="
    + PASSWORD
    + "' http://127.0.0.1:41237/api/auth/login",
)
ENV3_SECOND = ENV3_SECOND_VIOLATION.render()

HDR2 = ViolationData(
    requirement="HDR-2",
    title="No fingerprinting or deprecated headers.",
    should=False,
    expected="no X-Powered-By",
    actual="X-Powered-By: Express",
    exchange="GET http://127.0.0.1:41237/health",
    request_id="77aa",
    response=ResponseExcerpt(200, (("content-type", "application/json"),)),
    reproduce="curl -i -X GET http://127.0.0.1:41237/health",
)
HDR2_WARNING = HDR2.render()

ENV6_FIRST_FAILURE = """\
ENV-6  5xx bodies leak no internals.  (GET http://127.0.0.1:41237/api/debug/sentry-test, request 5e5e)
  Expected: a generic message without internals
    Actual: the body contains a Python traceback: 'Traceback (most recent call last)'
  Response: 500
    content-type: application/json
  Reproduce: curl -i -X GET -H 'authorization: Bearer ***' http://127.0.0.1:41237/api/debug/sentry-test"""

SETUP_ERROR = (
    "[setup] ConnectionError: the SUT closed the connection (login as hlc-2@example.com, password=" + PASSWORD + ")"
)

#: requirement -> (verdict, reason, failures, first_failure); the rest of the catalogue passes.
SPECIAL: dict[str, tuple[str, str | None, list[dict[str, Any]] | None, str | None]] = {
    "ENV-3": (
        "fail",
        None,
        [
            {
                "test": "conformance/test_envelope.py::test_error_has_the_status_and_code_of_the_table[missing-get-patient]",
                "message": ENV3_FAILURE,
                "violations": [ENV3.to_json()],
            },
            {
                "test": "conformance/test_envelope.py::test_error_has_the_status_and_code_of_the_table[wrong-credentials]",
                "message": ENV3_SECOND,
                "violations": [ENV3_SECOND_VIOLATION.to_json()],
            },
        ],
        ENV3_FAILURE,
    ),
    "ENV-6": ("fail", None, None, ENV6_FIRST_FAILURE),  # an older report: first_failure only
    "AUTH-6": (
        "fail",
        None,
        [{"test": "conformance/test_auth.py::test_wrong_otp_is_refused", "message": SETUP_ERROR, "violations": []}],
        SETUP_ERROR,
    ),  # an error, not a Violation: no fields
    "HDR-2": (
        "warn",
        None,
        [
            {
                "test": "conformance/test_headers.py::test_no_fingerprinting_headers[200]",
                "message": HDR2_WARNING,
                "violations": [HDR2.to_json()],
            }
        ],
        HDR2_WARNING,
    ),
    "ENV-1": ("known", "baselined: ticket API-12 (expires 2027-01-31)", None, None),
    "RID-2": ("fixed", "in the baseline, no longer failing: remove its entry", None, None),
    "LOCK-2": ("inconclusive", "no burst could be judged: every answer was RATE_LIMIT_EXCEEDED", None, None),
    "SIZE-1": ("blocked", "the SUT closed every connection of an oversized request", None, None),
    "REV-4": ("not run", "no second instance (enable with --peer-url)", None, None),
    "PERF-1": ("not run", "load is sent only when asked for (enable with --load all)", None, None),
    "DATA-3": ("flaky", "passed on retry", None, None),  # a verdict the renderers do not know
}


def build_document() -> dict[str, Any]:
    entries = {}
    for rid, req in requirements.catalogue().items():
        verdict, reason, failures, first = SPECIAL.get(rid, ("pass", None, None, None))
        test = f"conformance/test_x.py::test_{rid.lower().replace('-', '_')}"
        entry: dict[str, Any] = {
            "level": req.level,
            "area": req.area,
            "title": req.title,
            "text": req.text,
            "verdict": verdict,
            "reason": reason,
            "tests": [f["test"] for f in failures] if failures else [test],
            "test_verdicts": {f["test"]: verdict for f in failures} if failures else {test: verdict},
            "first_failure": first,
            "future_key": {"renderers": "ignore it"},
        }
        if failures is not None:
            entry["failures"] = failures
        entries[rid] = entry
    summary: dict[str, int] = {}
    for entry in entries.values():
        summary[entry["verdict"]] = summary.get(entry["verdict"], 0) + 1
    return {
        "schema_version": 2,
        "target": {"base_url": "http://127.0.0.1:41237", "mode": "managed"},
        "profile": {"name": "heallog", "source": "default"},
        "mode": "managed",
        "strict": False,
        "started": "2026-11-26T14:02:11+00:00",
        "finished": "2026-11-26T14:03:40+00:00",
        "exit_status": 1,
        "summary": summary,
        "baseline": {"path": "baseline.json", "known": 1, "fixed": 1, "new": 3},
        "requirements": entries,
    }


@pytest.fixture
def document() -> dict[str, Any]:
    return copy.deepcopy(build_document())
