"""The requirement marker at collection, --requirements selection, and when the target is opened."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import conformance.sut as targets

SUITE = """
import pytest

@pytest.mark.requirement("ENV-1")
def test_envelope():
    pass

@pytest.mark.requirement("AUTH-2", "AUTH-1")
def test_guards():
    pass

@pytest.mark.requirement("RID-1")
def test_request_id():
    pass
"""


def test_unknown_requirement_id_is_a_collection_error(run, fake_target):
    result, report = run("""
import pytest

@pytest.mark.requirement("ENV-99")
def test_typo():
    pass
""")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_suite.py::test_typo: unknown requirement ID 'ENV-99'*"])
    assert fake_target.calls == []


def test_unknown_id_on_a_class_marker_is_caught_too(run):
    result, _ = run("""
import pytest

@pytest.mark.requirement("NOPE-1")
class TestThings:
    def test_a(self):
        pass
""")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*unknown requirement ID 'NOPE-1'*"])


def test_requirements_option_deselects_other_tests(run):
    result, report = run(SUITE, "--requirements", "AUTH-*,rid-1")
    result.assert_outcomes(passed=2, deselected=1)
    verdicts = {rid: (r["verdict"], r["reason"]) for rid, r in report["requirements"].items()}
    assert verdicts["AUTH-1"] == ("pass", None) and verdicts["RID-1"] == ("pass", None)
    assert verdicts["ENV-1"] == ("not run", "not selected (--requirements)")
    assert verdicts["AUTH-3"] == ("not run", "no test in this run")


def test_requirements_option_with_an_unknown_pattern_is_a_usage_error(run):
    result, _ = run(SUITE, "--requirements", "ENV-1,FOO-*")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--requirements: FOO-* match no requirement ID*"])


def test_requirement_ids_and_verdicts_are_testsuite_properties_of_a_valid_junit_file(run, pytester):
    import xmlschema

    junit = pytester.path / "junit.xml"
    result, _ = run(
        SUITE
        + """
from conformance.outcomes import Violation

@pytest.mark.requirement("ENV-3", "ENV-4")
def test_codes(conformance_note):
    conformance_note("a note")
    raise Violation("ENV-3", expected="404 with code NOT_FOUND", actual="404 with code UNKNOWN")
""",
        f"--junitxml={junit}",
        "-W",
        "error::pytest.PytestWarning",
    )
    assert "record_property is incompatible" not in result.stdout.str()
    schema = xmlschema.XMLSchema(str(Path(__file__).with_name("data") / "junit.xsd"))
    schema.validate(str(junit))  # raises, naming the element, when the file is not valid JUnit XML
    suite = ET.parse(junit).find(".//testsuite")
    properties = [(p.get("name"), p.get("value")) for p in suite.find("properties").iter("property")]
    assert ("requirement test_suite.py::test_guards", "AUTH-2") in properties
    assert ("requirement test_suite.py::test_guards", "AUTH-1") in properties
    assert ("violated test_suite.py::test_codes", "ENV-3") in properties
    assert ("violated test_suite.py::test_codes", "ENV-4") not in properties
    assert ("verdict ENV-3", "fail") in properties and ("verdict AUTH-2", "pass") in properties
    assert not list(ET.parse(junit).find(".//testcase").iter("property")), "no testcase properties (invalid there)"


def test_target_is_opened_once_after_collection(run, fake_target):
    result, report = run(
        SUITE
        + """
def test_uses_target(target, api, profile):
    assert api.base_url == target.base_url == "http://127.0.0.1:9"
    assert profile.name == "heallog"
"""
    )
    result.assert_outcomes(passed=4)
    assert len(fake_target.calls) == 1
    assert fake_target.target.closed >= 1
    assert report["target"] == {"base_url": "http://127.0.0.1:9", "mode": "fake"}
    assert report["profile"] == {"name": "heallog", "source": "default"}


def test_no_target_without_requirement_tests(run, fake_target):
    result, report = run("""
def test_plain():
    pass
""")
    result.assert_outcomes(passed=1)
    assert fake_target.calls == []
    assert "= requirements =" not in result.stdout.str()
    assert report is None


def test_collect_only_opens_no_target(run, fake_target):
    result, _ = run(SUITE, "--collect-only")
    assert result.ret == 0
    assert fake_target.calls == []


def test_options_reach_the_target_settings(run, fake_target, pytester):
    run(
        SUITE,
        "--base-url",
        "http://127.0.0.1:8",
        "--sut-env",
        "REFERENCE_DEFECTS=multi-decode",
        "--sut-env",
        "A=b=c",
        "--peer-url",
        "http://127.0.0.1:7",
        "--jwt-secret",
        "s3",
        "--sut-log-file",
        "sut.log",
        "--startup-timeout",
        "7.5",
        "--services",
        "redis, mongo",
    )
    settings = fake_target.settings
    assert isinstance(settings, targets.TargetSettings)
    assert settings.base_url == "http://127.0.0.1:8"
    assert settings.sut_env == {"REFERENCE_DEFECTS": "multi-decode", "A": "b=c"}
    assert (settings.peer_url, settings.jwt_secret, settings.log_file) == ("http://127.0.0.1:7", "s3", "sut.log")
    assert settings.startup_timeout == 7.5 and settings.services == ["redis", "mongo"]


def test_target_error_stops_the_run_with_one_line(run, monkeypatch):
    def refuse(settings, profile):
        raise targets.TargetError("cannot reach http://127.0.0.1:1 (connection refused)")

    monkeypatch.setattr(targets, "open_target", refuse)
    result, report = run(SUITE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*conformance: cannot reach http://127.0.0.1:1 (connection refused)*"])
    result.assert_outcomes()
    assert report is None


def test_bad_profile_stops_the_run_with_one_message(run, pytester):
    bad = pytester.makefile(".toml", bad='[profile]\nauthorization = "magic"\n')
    result, _ = run(SUITE, "--profile", str(bad))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "conformance: profile" in output and "is invalid" in output and "profile.authorization must be" in output


def test_unreachable_base_url_exits_within_5_seconds_with_one_line(pytester):
    """The real open_target, no fake: a closed loopback port."""
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago and has no listener now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pytester.makepyfile(test_suite=SUITE)
    started = time.monotonic()
    result = pytester.runpytest("-p", "no:cacheprovider", "--base-url", f"http://127.0.0.1:{port}")
    elapsed = time.monotonic() - started
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines([f"*conformance: *cannot reach http://127.0.0.1:{port}*"])
    result.assert_outcomes()
    # The 5 s bound is the requirement itself; the slack absorbs a loaded 2-core machine, not a retry loop.
    assert elapsed < 5 + 5


def test_target_is_closed_on_ctrl_c(pytester):
    """In a subprocess: an in-process KeyboardInterrupt would interrupt the outer run too."""
    closed = pytester.path / "closed"
    pytester.makeconftest(f"""
import pathlib
import conformance.sut as targets
from conformance.sut.base import Target

class FakeTarget(Target):
    def close(self):
        pathlib.Path({str(closed)!r}).write_text("closed")

targets.open_target = lambda settings, profile: FakeTarget(base_url="http://127.0.0.1:9", profile=profile)
""")
    pytester.makepyfile(
        test_suite=SUITE
        + """
def test_interrupted(target):
    raise KeyboardInterrupt
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert closed.read_text() == "closed"


def test_option_comes_from_command_line_then_environment_then_ini(run, fake_target, pytester, monkeypatch):
    pytester.makeini("[pytest]\nconformance_peer_url = http://ini:1\nconformance_email_domain = ini.example\n")
    run(SUITE)
    assert fake_target.settings.peer_url == "http://ini:1"
    monkeypatch.setenv("CONFORMANCE_PEER_URL", "http://env:2")
    run(SUITE)
    assert fake_target.settings.peer_url == "http://env:2"
    run(SUITE, "--peer-url", "http://cli:3")
    assert fake_target.settings.peer_url == "http://cli:3"
    assert fake_target.settings.startup_timeout == 20.0, "the default when nothing says otherwise"


def test_report_header_names_target_and_profile(run):
    result, _ = run(SUITE, "--base-url", "http://127.0.0.1:8")
    result.stdout.fnmatch_lines(["conformance: target external http://127.0.0.1:8; profile default"])
    result, _ = run(SUITE)
    result.stdout.fnmatch_lines(["conformance: target managed (embedded reference); profile default"])


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[limitz]\nmax_body_bytes = 5\n", "unknown section 'limitz'; did you mean limits?"),
        ("[limits]\nmax_body_byte = 5\n", "unknown key 'limits.max_body_byte'; did you mean limits.max_body_bytes?"),
    ],
)
def test_a_misspelt_profile_key_stops_the_run_with_one_line_naming_it(run, fake_target, pytester, text, named):
    typo = pytester.makefile(".toml", typo=text)
    result, report = run(SUITE, f"--profile={typo}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stdout.lines + result.stderr.lines if "conformance:" in line]
    assert lines == [f"ERROR: conformance: --profile {typo}: {named}"], result.stdout.str() + result.stderr.str()
    assert fake_target.calls == [] and report is None
