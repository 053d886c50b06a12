"""`heallog-conformance` / `python -m conformance` from a directory outside the project.

pytester's directory is a fresh temporary directory, foreign to the project:
the launcher must still root the run at the package, use the package's own
configuration, collect the suites only (not the project's tests/), keep its
cache and Hypothesis database out of the working directory, and pass every
other argument to pytest. Collection runs in process (fast); the console
script, ``python -m conformance`` and one real run go through a subprocess.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conformance.run import launch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("heallog-conformance")


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line and not line.startswith(("ERROR", "FAILED"))]


@pytest.fixture
def outside_profile(tmp_path_factory) -> Path:
    """A profile file in a directory of its own, outside the project and the working directory."""
    path = tmp_path_factory.mktemp("elsewhere") / "p.toml"
    path.write_text('[profile]\nname = "elsewhere"\n')
    return path


def launched(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """The launcher's pytest run, in process, from pytester's (foreign) directory."""
    return pytester.runpytest(*launch.pytest_args(list(args)), plugins=[launch.SuitePaths()])


def test_suites_are_collected_with_the_package_configuration_from_a_foreign_directory(pytester):
    assert not Path.cwd().is_relative_to(ROOT)
    result = launched(pytester, "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    items = collected(result)
    assert len(items) > 100
    assert {item.split("/", 1)[0] for item in items} == {"conformance", "scenarios"}  # node ids as in the checkout
    assert not [item for item in items if item.startswith("tests/")]
    assert list(pytester.path.iterdir()) == []  # no cache, no .hypothesis, nothing


def test_header_shows_the_package_root_and_configuration(pytester):
    result = launched(pytester, "--collect-only")
    result.stdout.fnmatch_lines(
        [
            f"cachedir: {launch.cache_dir()}*",
            f"rootdir: {launch.ROOT_DIR}",
            "configfile: conformance/run/harness.ini",
            "timeout: 300.0s",
        ]
    )


@pytest.mark.parametrize("spelling", ["space", "equals"])
def test_path_option_outside_the_project_is_fine_in_either_spelling(pytester, outside_profile, spelling):
    option = ["--profile", str(outside_profile)] if spelling == "space" else [f"--profile={outside_profile}"]
    result = launched(pytester, *option, "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    items = collected(result)
    assert len(items) > 100 and not [item for item in items if item.startswith("tests/")]


def test_test_paths_given_on_the_command_line_replace_the_suites(pytester):
    result = launched(pytester, "--collect-only", "-q", "--pyargs", "conformance.test_request_id")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert {item.split("::")[0] for item in collected(result)} == {"conformance/test_request_id.py"}


def test_a_node_id_the_launcher_printed_runs_that_test(pytester):
    nodeid = "conformance/test_request_id.py::test_generated_request_ids_are_unique"
    result = launched(pytester, "--collect-only", "-q", nodeid)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert collected(result) == [nodeid]


def test_plugin_and_pytest_options_pass_through(pytester):
    result = launched(pytester, "--collect-only", "-q", "--requirements", "RID-*", "-k", "unique", "--timeout", "7")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert collected(result) == ["conformance/test_request_id.py::test_generated_request_ids_are_unique"]


def test_unknown_marker_is_an_error_as_in_the_checkout(pytester):
    """--strict-markers comes from the package's configuration, not the working directory's."""
    path = pytester.makepyfile(test_marked="import pytest\n\n@pytest.mark.no_such_marker\ndef test_x():\n    pass\n")
    result = launched(pytester, str(path))
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*'no_such_marker' not found in `markers` configuration option*"])


def test_cache_and_hypothesis_database_live_in_the_user_cache_directory(tmp_path):
    environ = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert launch.cache_dir(environ) == tmp_path / "xdg" / "heallog-conformance"
    assert launch.environment(environ) == {
        "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path / "xdg/heallog-conformance/hypothesis")
    }
    assert launch.environment({**environ, "HYPOTHESIS_STORAGE_DIRECTORY": "/mine"}) == {}
    assert launch.cache_dir({launch.CACHE_ENV: str(tmp_path / "own")}) == tmp_path / "own"
    args = launch.pytest_args(["-x"], environ)
    assert args[:4] == ["-c", str(launch.CONFIG_FILE), "--rootdir", str(launch.ROOT_DIR)]
    assert args[4:] == ["-o", f"cache_dir={tmp_path / 'xdg/heallog-conformance/pytest-cache'}", "-x"]
    assert "-o" not in launch.pytest_args(["-p", "no:cacheprovider"], environ)


def test_package_configuration_matches_the_checkout_configuration():
    """harness.ini and pyproject's [tool.pytest.ini_options] say the same, except where the cache goes."""
    ini = configparser.ConfigParser()
    ini.read(launch.CONFIG_FILE)
    shipped = dict(ini["pytest"])
    checkout = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert shipped["minversion"] == checkout["minversion"]
    assert shipped["testpaths"].split() == checkout["testpaths"]
    assert shipped["python_files"].split() == checkout["python_files"]
    assert shipped["timeout"] == str(checkout["timeout"])
    assert shipped["addopts"].split() == [a for a in checkout["addopts"] if a not in ("-p", "no:cacheprovider")]


# -- through a subprocess: the console script and python -m ------------------------------------


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "XDG_CACHE_HOME": str(cwd.parent / "cache"), **env}
    environ.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environ, timeout=600)


def test_console_script_collects_the_suites_from_a_foreign_directory(tmp_path, outside_profile):
    cwd = tmp_path / "work"
    cwd.mkdir()
    done = run([str(SCRIPT), "--profile", str(outside_profile), "--collect-only", "-q"], cwd)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(r"^(\d+) tests collected", done.stdout, re.MULTILINE)
    assert "tests/" not in done.stdout
    assert list(cwd.iterdir()) == []


def test_hypothesis_database_and_cache_are_where_the_launcher_says(tmp_path):
    """A plugin of the test's own prints the locations Hypothesis and pytest use in the launched run."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "where_things_go.py").write_text(
        "def pytest_report_header(config):\n"
        "    from hypothesis.configuration import storage_directory\n"
        "    return [f'examples: {storage_directory(\"examples\", intent_to_write=False).path}',\n"
        "            f'cache: {config.cache._cachedir}']\n"
    )
    done = run(
        [str(SCRIPT), "-p", "where_things_go", "--collect-only", "--requirements", "RID-3"],
        cwd,
        PYTHONPATH=str(tmp_path / "plugins"),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    cache = tmp_path / "cache" / "heallog-conformance"
    assert f"examples: {cache / 'hypothesis' / 'examples'}" in done.stdout
    assert f"cache: {cache / 'pytest-cache'}" in done.stdout
    assert list(cwd.iterdir()) == []


def test_python_dash_m_conformance_lists_and_explains(tmp_path):
    listing = run([sys.executable, "-m", "conformance", "requirements", "AUTH-*"], tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[0] for line in listing.stdout.splitlines() if not line.startswith(" ")] == [
        f"AUTH-{n}" for n in range(1, 8)
    ]
    explained = run([str(SCRIPT), "explain", "lock-2"], tmp_path)
    assert explained.returncode == 0 and explained.stdout.startswith("LOCK-2  Lockout counting race-free")
    unknown = run([str(SCRIPT), "explain", "LOCK-9"], tmp_path)
    assert unknown.returncode == 2 and "unknown requirement ID 'LOCK-9'; did you mean LOCK-" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


@pytest.mark.timeout(300)
def test_a_real_run_from_a_foreign_directory_leaves_only_its_report(tmp_path):
    """Managed mode against the embedded reference: one requirement, report written where asked."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    done = run([str(SCRIPT), "--requirements", "RID-3", "--conformance-report", "report.json", "-q", "-rA"], cwd)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
    # node ids as the suites name them, not relative to the working directory
    assert "PASSED conformance/test_request_id.py::test_generated_request_ids_are_unique" in done.stdout
    assert sorted(p.name for p in cwd.iterdir()) == ["report.json"]
