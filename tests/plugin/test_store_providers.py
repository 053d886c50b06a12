"""Which provider served each store is said, never silently: header (the plan), terminal, JSON and HTML report."""

from __future__ import annotations

import pytest

import conformance.sut as targets
from tests.plugin.conftest import FakeTarget

SUITE = """
import pytest

@pytest.mark.requirement("ENV-1")
def test_envelope():
    pass
"""
STORES = {
    "redis": {
        "provider": "local binary",
        "note": "the image redis:7 could not be pulled (refused); give one with --redis-image",
    }
}


@pytest.fixture
def served(monkeypatch):
    """A fake managed target whose stores were served as STORES says."""

    def open_target(settings, profile):
        return FakeTarget(base_url="http://127.0.0.1:9", profile=profile, mode="managed", extra={"stores": STORES})

    monkeypatch.setattr(targets, "open_target", open_target)


def test_the_header_says_what_the_run_will_ask_for(run):
    result, _ = run(SUITE, "--redis-image", "hlc-redis:6.2.5-local")
    result.stdout.fnmatch_lines(
        [
            "conformance: stores: redis: testcontainers hlc-redis:6.2.5-local when a Docker "
            "engine answers, else local binary"
        ]
    )
    result, _ = run(
        SUITE, "--redis-url", "redis://127.0.0.1:1/0", "--services", "redis,mongo", "--docker-network", "bridge"
    )
    result.stdout.fnmatch_lines(
        [
            "conformance: stores: redis: --redis-url; mongo: testcontainers mongo:7 (bridge "
            "network) when a Docker engine answers"
        ]
    )
    result, _ = run(SUITE, "--base-url", "http://127.0.0.1:8")
    assert "conformance: stores:" not in result.stdout.str(), "an external target's stores are not the harness's"


def test_the_terminal_and_the_reports_say_which_provider_served_each_store(run, served, pytester):
    html = pytester.path / "report.html"
    result, report = run(SUITE, f"--conformance-html={html}")
    result.stdout.fnmatch_lines(
        [
            "conformance: redis: local binary (the image redis:7 could not be pulled (refused); give one with "
            "--redis-image)",
            "*",
            "store redis: local binary",
        ],
        consecutive=False,
    )
    assert report["target"]["stores"] == STORES
    assert "redis: local binary" in html.read_text()


def test_a_bad_docker_network_is_one_usage_error(run):
    result, _ = run(SUITE, "--docker-network", "overlay")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --docker-network 'overlay': expected host or bridge"])
