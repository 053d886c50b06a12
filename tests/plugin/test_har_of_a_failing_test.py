"""The HAR of a failing run holds every request of the failing test, in the order sent, with real timings,
also the request that never got an answer (it is the one the failure is about)."""

from __future__ import annotations

import datetime
import json
import socket
import time

from tests.wire.test_connections import RawServer, answer

SUITE = """
import time
import pytest

@pytest.mark.requirement("ENV-1")
def test_health_then_a_dropped_request(api):
    for _ in range(3):
        api.call("health")
        time.sleep(0.02)
    api.request("GET", "/drop")
"""


def test_the_har_lists_every_request_of_the_failing_test_with_timings(run, pytester):
    def behaviour(conn: socket.socket, number: int, request: int) -> bool:
        time.sleep(0.01)
        if request >= 4:
            return False  # /drop: closed without an answer, on a fresh connection too
        answer(conn, 200)
        return True

    server = RawServer(behaviour)
    har = pytester.path / "run.har"
    try:
        result, _ = run(SUITE, f"--base-url={server.url}", f"--conformance-har={har}")
    finally:
        server.close()
    assert result.ret == 1
    entries = json.loads(har.read_text())["log"]["entries"]
    mine = [e for e in entries if e["pageref"].endswith("test_health_then_a_dropped_request")]
    assert [e["request"]["url"].rsplit("/", 1)[-1] for e in mine] == ["health", "health", "health", "drop"]
    assert mine[-1]["response"]["status"] == 0 and "_error" in mine[-1]["response"]
    starts = [datetime.datetime.fromisoformat(e["startedDateTime"]) for e in mine]
    assert starts == sorted(starts) and len(set(starts)) == len(starts), starts
    assert all(e["time"] > 0 for e in mine), [e["time"] for e in mine]
