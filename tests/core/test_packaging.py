"""What an installed copy holds: the wheel built from this checkout serves the standard and the command.

The editable install of the checkout reads every file from the source tree,
so only a real wheel shows that the package data (the catalogue, the pytest
configuration, the default profile) and the entry points are declared. The
wheel is built from a copy of the tree, so that build/ stays out of it, and
its contents are imported from the unpacked wheel alone.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache", "tests", "reports"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source") / "heallog-conformance"
    shutil.copytree(ROOT, source, ignore=SKIP)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("heallog_conformance-*.whl")
    return path


def test_wheel_holds_the_catalogue_the_configuration_and_the_profile(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "conformance/requirements.toml",
        "conformance/run/harness.ini",
        "conformance/profile/default.toml",
        "conformance/render/html.py",
        "conformance/__main__.py",
        "scenarios/conftest.py",
    ):
        assert name in names, name


def test_wheel_declares_the_command_and_both_pytest_plugins(wheel):
    (entry_points,) = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(zipfile.ZipFile(wheel).read(entry_points).decode())
    assert parser["console_scripts"]["heallog-conformance"] == "conformance.cli:main"
    assert dict(parser["pytest11"]) == {
        "conformance.plugin": "conformance.plugin",
        "conformance.run.spaced_options": "conformance.run.spaced_options",
    }


def test_installed_package_explains_a_requirement_from_its_own_files(wheel, tmp_path):
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    code = (
        "import sys, conformance; assert conformance.__file__.startswith(sys.argv[1]), conformance.__file__; "
        "from conformance.cli import main; raise SystemExit(main(['explain', 'AUTH-7']))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code, str(unpacked)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("AUTH-7  Signing secret not guessable  (MUST")
    assert "your-secret-key" in shown.stdout and "How a backend fixes a failure:" in shown.stdout
