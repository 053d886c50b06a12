"""The runner's own logic: target safety, options, the locust command line (no SUT, no locust)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import profile as profiles
from load import runner


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.0.0.2:8000", True),
        ("http://localhost:8000/", True),
        ("http://[::1]:8000", True),
        ("https://api.example.org", False),
        ("http://10.0.0.5:8000", False),
        ("http://127.0.0.1.evil.example", False),
    ],
)
def test_loopback_detection(url, loopback):
    assert runner.is_loopback(url) is loopback


def test_non_loopback_target_is_refused_without_the_ownership_flag(capsys):
    code = runner.main(["auth_read", "--base-url", "https://api.example.org", "--out", "unused"])
    assert code == 2
    err = capsys.readouterr().err
    assert "not a loopback address" in err and "--i-own-this-system" in err


def test_unknown_profile_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        runner.main(["write_storm"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--users", "0"], ["--duration", "-1"], ["--threshold", "total.p95"]])
def test_bad_numbers_are_refused_before_anything_starts(argv, capsys):
    assert runner.main(["auth_read", "--base-url", "http://127.0.0.1:9", *argv]) == 2
    assert "python -m load:" in capsys.readouterr().err


def test_sut_env_pairs_are_parsed_and_malformed_ones_refused():
    assert runner.parse_env(["REFERENCE_DEFECTS=multi-decode", "A=b=c"]) == {
        "REFERENCE_DEFECTS": "multi-decode",
        "A": "b=c",
    }
    with pytest.raises(runner.RunnerError, match="KEY=VALUE"):
        runner.parse_env(["REFERENCE_DEFECTS"])


def test_embedded_sut_gets_rate_limits_above_any_run():
    env = runner.load_sut_env(profiles.load())
    assert set(env) == {"RATE_LIMIT_LOGIN", "RATE_LIMIT_REGISTER", "RATE_LIMIT_VERIFY_OTP", "RATE_LIMIT_REFRESH"}
    for value in env.values():
        count, seconds = value.split("/")
        assert int(count) / int(seconds) > 1000


def test_locust_command_passes_the_run_to_the_locust_process(tmp_path):
    run = runner.LoadRun(
        profile="revocation_churn",
        users=7,
        spawn_rate=2.5,
        duration=12,
        out=tmp_path,
        slo_file=Path("/x/slo.toml"),
        thresholds=["total.p95=900"],
        checks=False,
    )
    command = runner.locust_command(run, "http://127.0.0.1:5000", tmp_path / "accounts.json")
    assert command[1:3] == ["-m", "locust"]
    assert command[command.index("-f") + 1].endswith("load/profiles/revocation_churn.py")
    pairs = dict(zip(command, command[1:]))
    assert pairs["--host"] == "http://127.0.0.1:5000"
    assert pairs["--users"] == "7" and pairs["--spawn-rate"] == "2.5" and pairs["--run-time"] == "12s"
    assert pairs["--csv"] == str(tmp_path / "locust") and pairs["--html"] == str(tmp_path / "report.html")
    assert pairs["--slo-file"] == "/x/slo.toml" and pairs["--threshold"] == "total.p95=900"
    assert pairs["--slo-profile"] == "revocation_churn"
    assert "--headless" in command and "--no-conformance-checks" in command


def test_every_profile_has_a_locustfile_and_needs():
    for name in runner.PROFILES:
        assert (runner.PROFILES_DIR / f"{name}.py").is_file()
        needs = runner.NEEDS[name](1)
        assert needs.accounts >= 1


def test_mixed_provisions_one_session_per_user():
    for users in (1, 4, 5, 6, 23):
        needs = runner.NEEDS["mixed"](users)
        assert needs.accounts * needs.sessions_per_account >= users


def test_sut_env_with_an_external_target_is_refused(capsys):
    code = runner.main(["auth_read", "--base-url", "http://127.0.0.1:9", "--sut-env", "REFERENCE_DEFECTS=multi-decode"])
    assert code == 2
    assert "--sut-env configures the embedded SUT" in capsys.readouterr().err
