"""The testcontainers CI lane (scripts/testcontainers_lane.py): its checks, and its skip where dockerd cannot start.

The lane itself runs in CI (.ci/run) against a private engine; here: that
its checks catch what they target, and that an engine that cannot start is one
line and a skip (exit code 0), with its temporary folder removed.
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "testcontainers_lane.py"
IMAGE = "hlc-redis:6.2.5-local"


@pytest.fixture(scope="module")
def lane():
    spec = importlib.util.spec_from_file_location("testcontainers_lane", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def passing_report(provider: str = f"testcontainers {IMAGE}") -> dict:
    return {
        "target": {"stores": {"redis": {"provider": provider}}},
        "requirements": {rid: {"verdict": "pass"} for rid in ("REV-3", "REV-5", "LOCK-4")},
    }


def test_a_report_of_the_container_passing_all_three_has_no_problem(lane):
    assert lane.report_problems(passing_report(), IMAGE) == []


def test_a_report_where_the_local_binary_served_redis_is_a_problem(lane):
    report = passing_report("local binary")
    report["target"]["stores"]["redis"]["note"] = "no Docker engine answered"
    assert lane.report_problems(report, IMAGE) == [
        f"the report says Redis was served by 'local binary', not by 'testcontainers {IMAGE}' "
        "(no Docker engine answered)"
    ]


def test_a_requirement_not_passed_is_a_problem(lane):
    report = passing_report()
    report["requirements"]["REV-5"]["verdict"] = "not run"
    assert lane.report_problems(report, IMAGE) == ["REV-5: verdict 'not run', expected 'pass'"]


def start(image: str = IMAGE) -> dict:
    return {"Type": "container", "Action": "start", "Actor": {"Attributes": {"image": image}}}


def test_two_starts_and_no_pull_is_what_the_outage_leaves(lane):
    assert lane.event_problems([start(), {"Type": "container", "Action": "die"}, start()], IMAGE) == []


def test_a_pull_or_a_missing_restart_is_a_problem(lane):
    pulled = lane.event_problems([start(), start(), {"Type": "image", "Action": "pull", "id": "redis:7"}], IMAGE)
    assert pulled == ["the engine pulled redis:7"]
    assert lane.event_problems([start(), start("redis:7")], IMAGE)[0].startswith(f"1 start(s) of {IMAGE}")


def test_the_engine_is_private_and_reaches_nothing(lane, tmp_path):
    command = lane.dockerd_command("dockerd", tmp_path)
    assert {"--iptables=false", "--ip-masq=false", "--bridge=none"} <= set(command)
    for option in ("--data-root", "--exec-root", "--pidfile", "--config-file"):
        assert command[command.index(option) + 1].startswith(str(tmp_path)), option
    assert command[command.index("--host") + 1] == f"unix://{tmp_path}/docker.sock"


def test_a_dockerd_that_cannot_start_is_one_line_and_a_skip(lane, tmp_path, monkeypatch, capsys):
    fake = tmp_path / "dockerd"
    fake.write_text(
        '#!/bin/sh\necho \'time="x" level=fatal msg="dockerd needs to be started with root privileges"\'\nexit 1\n'
    )
    fake.chmod(0o755)
    workdir = tmp_path / "tmp"
    workdir.mkdir()
    monkeypatch.setattr(lane, "find_dockerd", lambda: str(fake))
    monkeypatch.setattr(tempfile, "tempdir", str(workdir))
    assert lane.main(["python"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        'testcontainers lane: skipped: dockerd could not start (exit code 1): time="x" '
        'level=fatal msg="dockerd needs to be started with root privileges"'
    ]
    assert list(workdir.iterdir()) == [], "the lane's folder is removed"


def test_no_dockerd_and_no_root_is_one_line_and_a_skip(lane, monkeypatch, capsys):
    monkeypatch.setattr(lane, "find_dockerd", lambda: None)
    monkeypatch.setattr(lane.os, "geteuid", lambda: 1000)
    assert lane.main(["python"]) == 0
    assert capsys.readouterr().out == (
        "testcontainers lane: skipped: dockerd is not installed, and installing docker.io needs root\n"
    )


def test_no_dockerd_and_no_apt_get_is_one_line_and_a_skip(lane, monkeypatch, capsys):
    monkeypatch.setattr(lane, "find_dockerd", lambda: None)
    monkeypatch.setattr(lane.os, "geteuid", lambda: 0)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert lane.main(["python"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("testcontainers lane: skipped: docker.io could not be installed (apt-get update -q: ")
    assert out.count("\n") == 1
