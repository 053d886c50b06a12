"""A printed ``Rerun:`` line, pasted into a shell, reruns the test and leaves the full run's reports alone."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.run import rerun

SECRET = "s3cr3t-signing-key-4711"

#: The inner runs' target: a stand-in in the suite's own conftest, so that the pasted command finds it too.
CONFTEST = """
import conformance.sut as targets
from conformance.sut.base import Target


def _open(settings, profile):
    return Target(base_url=settings.base_url, profile=profile, mode="fake")


targets.open_target = _open
"""

SUITE = """
import os
import pytest
from conformance.outcomes import Violation


@pytest.mark.requirement("REV-3")
def test_survives_a_restart():
    with open(os.environ["RAN_LOG"], "a") as log:
        log.write("test_survives_a_restart\\n")
    raise Violation("REV-3", expected="the token refused after a restart", actual="accepted")


@pytest.mark.requirement("ENV-1")
def test_other():
    with open(os.environ["RAN_LOG"], "a") as log:
        log.write("test_other\\n")
"""


def _reports(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {
        name: ((directory / name).read_bytes(), (directory / name).stat().st_mtime_ns)
        for name in ("report.json", "report.html", "junit.xml", "report.sarif")
    }


def test_a_pasted_rerun_line_reruns_the_test_and_leaves_the_reports_alone(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    ran = pytester.path / "ran.log"
    env = {**os.environ, "RAN_LOG": str(ran)}
    env.pop("CONFORMANCE_JWT_SECRET", None)
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(pytester.path),
        "--base-url",
        "http://127.0.0.1:9",
        "--jwt-secret",
        SECRET,
        "--conformance-report",
        "report.json",
        "--conformance-html=report.html",
        "--junitxml",
        "junit.xml",
        "--conformance-sarif",
        "report.sarif",
        "test_suite.py",
    ]
    first = subprocess.run(args, cwd=pytester.path, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stdout + first.stderr
    assert SECRET not in first.stdout
    lines = first.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("Rerun: "))
    line = lines[at].strip().removeprefix("Rerun: ")
    note = lines[at + 1]
    assert line.startswith(shlex.quote(sys.executable) + " -m pytest "), "the run's own interpreter"
    assert f"--rootdir {shlex.quote(str(pytester.path))}" in line
    assert '--jwt-secret "${CONFORMANCE_JWT_SECRET}"' in line and "***" not in line
    assert "CONFORMANCE_JWT_SECRET: the value given to --jwt-secret" in note
    for path in ("report.json", "report.html", "junit.xml", "report.sarif"):
        assert path not in line
    before = _reports(pytester.path)
    ran.write_text("")

    pasted = subprocess.run(
        line,
        shell=True,
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "CONFORMANCE_JWT_SECRET": SECRET},
    )
    assert pasted.returncode == 1, pasted.stdout + pasted.stderr  # the test fails again: its failure reproduced
    assert "1 failed" in pasted.stdout and "passed" not in pasted.stdout.split("= requirements =")[0].splitlines()[-1]
    assert ran.read_text().splitlines() == ["test_survives_a_restart"], "that test, and only that one"
    assert _reports(pytester.path) == before, "the full run's reports are untouched"


def test_the_option_values_stay_with_their_options():
    takes = {"--rootdir", "-c", "-o", "--base-url", "-k"}.__contains__
    words = [
        "-c",
        "h.ini",
        "--rootdir",
        "/r",
        "-o",
        "cache_dir=/c",
        "-vv",
        "--base-url=http://x",
        "-k",
        "a or b",
        "tests/x.py::t",
        "-rf",
    ]
    assert rerun.units(words, takes) == [
        ("-c", ["-c", "h.ini"]),
        ("--rootdir", ["--rootdir", "/r"]),
        ("-o", ["-o", "cache_dir=/c"]),
        ("-vv"[:2], ["-vv"]),
        ("--base-url", ["--base-url=http://x"]),
        ("-k", ["-k", "a or b"]),
        (None, ["tests/x.py::t"]),
        ("-r", ["-rf"]),
    ]
