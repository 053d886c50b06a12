"""Plain pytest: a path-valued option written with a space is refused exactly when pytest let it move the root.

pytester's directory plays a project with its own configuration; the path
values live in a sibling directory outside it, which is what made pytest
drop the configuration and collect everything (see conformance/run/spaced_options.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.run import spaced_options

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["suite"]\naddopts = ["--strict-markers"]\n')
    pytester.mkdir("suite")
    (pytester.path / "suite" / "test_one.py").write_text("def test_one():\n    pass\n")
    (pytester.path / "test_outside_testpaths.py").write_text("def test_other():\n    pass\n")
    return pytester


@pytest.fixture
def elsewhere(project: pytest.Pytester) -> Path:
    directory = project.path.parent / f"{project.path.name}-elsewhere"
    directory.mkdir()
    for name in ("p.toml", "old-report.json", "accounts.toml"):
        (directory / name).write_text("")
    return directory


@pytest.mark.parametrize("option", ["--profile", "--conformance-report", "--accounts"])
def test_spaced_path_outside_the_project_is_refused_with_one_line(project, elsewhere, option):
    value = str(
        elsewhere
        / {"--profile": "p.toml", "--conformance-report": "old-report.json", "--accounts": "accounts.toml"}[option]
    )
    result = project.runpytest(option, value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1
    head = f"ERROR: conformance: write {option}={value} (with '='), not '{option} {value}': after a space pytest "
    tail = f" instead of {project.path} (pyproject.toml)"
    assert errors[0].startswith(head + "takes the path for a test path and roots the run at ") and errors[0].endswith(
        tail
    )
    chosen = Path(errors[0][len(head) + len("takes the path for a test path and roots the run at ") : -len(tail)])
    assert elsewhere.is_relative_to(chosen) and chosen != project.path


def test_the_same_path_written_with_equals_runs_with_the_project_configuration(project, elsewhere):
    result = project.runpytest(f"--profile={elsewhere / 'p.toml'}", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    assert "suite/test_one.py::test_one" in result.stdout.str()
    assert "test_outside_testpaths" not in result.stdout.str()


def test_spaced_path_that_cannot_move_the_root_is_fine(project):
    (project.path / "p.toml").write_text("")
    result = project.runpytest("--profile", "p.toml", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    assert "suite/test_one.py::test_one" in result.stdout.str()


def test_a_spaced_path_that_does_not_exist_is_the_profiles_error_not_the_spacing(project):
    result = project.runpytest("--profile", "does-not-exist.toml", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line.strip()] == [
        "ERROR: conformance: --profile does-not-exist.toml: no such file"
    ]


def test_an_explicit_configuration_file_pins_the_root_so_nothing_is_refused(project, elsewhere):
    result = project.runpytest(
        "-c", str(project.path / "pyproject.toml"), "--profile", str(elsewhere / "p.toml"), "--collect-only", "-q"
    )
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()


def test_spaced_values_are_the_arguments_the_early_parse_took_for_paths(tmp_path):
    (tmp_path / "p.toml").write_text("")
    (tmp_path / "tests").mkdir()
    args = ["--profile", "p.toml", "-k", "x", "tests", "--sut-cmd", "run it", "--fixed-otp", "tests"]
    assert spaced_options.spaced_values(args, ["tests"], tmp_path) == [("--profile", "p.toml")]


def test_pytest_still_has_the_function_that_says_where_the_root_would_be():
    """Private to pytest: if an upgrade moves it, this fails loudly instead of the guard going quiet."""
    from _pytest.config.findpaths import determine_setup

    assert {"inifile", "args", "rootdir_cmd_arg", "invocation_dir"} <= set(
        __import__("inspect").signature(determine_setup).parameters
    )


def test_in_the_checkout_the_trap_is_refused_and_the_equals_spelling_collects_the_suites(tmp_path):
    """The real project, the real pytest: `pytest --profile /abs/p.toml` used to collect 900+ items."""
    profile = tmp_path / "p.toml"
    profile.write_text('[profile]\nname = "elsewhere"\n')
    environ = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    spaced = subprocess.run(
        [sys.executable, "-m", "pytest", "--profile", str(profile), "--collect-only", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert spaced.returncode == pytest.ExitCode.USAGE_ERROR, spaced.stdout[-2000:]
    assert f"write --profile={profile} (with '=')" in spaced.stderr
    attached = subprocess.run(
        [sys.executable, "-m", "pytest", f"--profile={profile}", "--collect-only", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert attached.returncode == 0, attached.stderr[-2000:]
    items = [line for line in attached.stdout.splitlines() if "::" in line]
    assert len(items) > 100 and not [item for item in items if item.startswith("tests/")]
