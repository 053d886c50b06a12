"""Writing the renderings: parent directories made, the GitHub step summary appended to, a given file replaced."""

from __future__ import annotations

import json

from conformance.exchange import Exchange
from conformance.render import files


def test_html_and_har_are_written_with_their_directories(tmp_path, document):
    page = files.write_html(tmp_path / "reports" / "deep" / "conformance.html", document)
    assert page.read_text("utf-8").startswith("<!DOCTYPE html>")
    exchange = Exchange.build("GET", "http://127.0.0.1:1/health", 200)
    har = files.write_har(tmp_path / "reports" / "failures.har", [("t::x", exchange)])
    assert json.loads(har.read_text("utf-8"))["log"]["entries"][0]["comment"] == "t::x"


def test_summary_goes_to_the_option_else_to_the_github_step_summary(tmp_path, document):
    step = tmp_path / "step_summary"
    step.write_text("earlier step output\n")
    environ = {"GITHUB_STEP_SUMMARY": str(step)}
    assert files.write_summary(None, document, environ) == step
    assert step.read_text("utf-8").startswith("earlier step output\n## HealLog conformance")  # appended

    mine = tmp_path / "summary.md"
    mine.write_text("stale")
    assert files.write_summary(str(mine), document, environ) == mine
    assert mine.read_text("utf-8").startswith("## HealLog conformance")  # replaced
    assert files.write_summary(None, document, {}) is None
