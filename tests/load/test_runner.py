"""The runner's own logic: target safety, options, the locust command line (no SUT, no locust)."""

from __future__ import annotations

import os
import sys
import time
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
    profile = profiles.load()
    env = runner.load_sut_env(profile)
    assert set(env) == set(profile.config.rate_limits.values()) >= {"RATE_LIMIT_LOGIN", "RATE_LIMIT_REGISTER"}
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


# -- several load processes ------------------------------------------------------


def distribution(*argv: str) -> runner.Distribution:
    return runner.distribution_of(runner.build_parser().parse_args(["auth_read", *argv]))


def test_processes_fork_workers_that_meet_their_master_on_a_free_loopback_port():
    dist = distribution("--processes", "3")
    assert dist.workers == 3
    args = dist.locust_args()
    pairs = dict(zip(args, args[1:]))
    assert pairs["--processes"] == "3"
    assert pairs["--master-bind-host"] == "127.0.0.1" and pairs["--master-host"] == "127.0.0.1"
    assert pairs["--master-bind-port"] == pairs["--master-port"] == str(dist.bind_port)
    assert "--master" not in args and "--worker" not in args  # locust refuses --master with --processes


def test_master_waits_for_its_workers_and_a_worker_takes_only_the_master_address(tmp_path):
    master = distribution("--master", "--expect-workers", "4", "--master-bind-port", "6000", "--workers-wait", "30")
    assert master.workers == 4
    pairs = dict(zip(master.locust_args(), master.locust_args()[1:]))
    assert pairs["--expect-workers"] == "4" and pairs["--master-bind-port"] == "6000"
    assert pairs["--expect-workers-max-wait"] == "30"

    worker = distribution("--worker", "--master-host", "10.0.0.7", "--processes", "2")
    run = runner.LoadRun(profile="auth_read", out=tmp_path, distribution=worker)
    command = runner.locust_command(run, None, None)
    pairs = dict(zip(command, command[1:]))
    assert "--worker" in command and pairs["--master-host"] == "10.0.0.7" and pairs["--processes"] == "2"
    for master_option in ("--host", "--users", "--run-time", "--csv", "--html", "--accounts-file", "--gate-out"):
        assert master_option not in command


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--master", "--worker"], "exclude each other"),
        (["--master"], "--expect-workers"),
        (["--expect-workers", "2"], "needs --master"),
        (["--master", "--expect-workers", "2", "--processes", "2"], "cannot be combined with --processes"),
        (["--processes", "0"], "positive count"),
        (["--worker", "--base-url", "http://127.0.0.1:9"], "--base-url"),
        (["--worker", "--sut-env", "REFERENCE_DEFECTS=multi-decode"], "--sut-env"),
    ],
)
def test_contradictory_distribution_options_are_refused_in_one_line(argv, message, capsys):
    assert runner.main(["auth_read", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("users", "workers", "space"), [(5, 1, 5), (5, 2, 6), (6, 2, 6), (1, 4, 4), (23, 3, 24)])
def test_every_worker_numbers_its_users_within_the_provisioned_space(users, workers, space):
    assert runner.index_space(users, workers) == space
    # locust spreads users evenly; worker w numbers its k-th user w + workers * k.
    counts = [users // workers + (1 if w < users % workers else 0) for w in range(workers)]
    for uneven in (counts, counts[::-1]):
        indexes = [w + workers * k for w, n in enumerate(uneven) for k in range(n)]
        assert len(set(indexes)) == users and max(indexes) < space


def test_mixed_gets_a_session_per_index_of_a_distributed_run():
    needs = runner.NEEDS["mixed"](runner.index_space(7, 2))
    assert needs.accounts * needs.sessions_per_account >= 8


# -- the bounded subprocess --------------------------------------------------------

FORKS_A_CHILD = """
import os, sys, time
pid = os.fork()
if pid == 0:
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only SIGKILL stops it
    time.sleep(120)
    os._exit(0)
open(sys.argv[1], "w").write(str(pid))
time.sleep(float(sys.argv[2]))
"""


def child_pid(path: Path) -> int:
    for _ in range(100):
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError("the child never wrote its pid")


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_a_process_over_its_bound_is_stopped_with_everything_it_forked(tmp_path, monkeypatch):
    """The runner's locust process is run by the harness's one bounded-subprocess helper."""
    monkeypatch.setattr("conformance.sut.process.INTERRUPT_GRACE", 1.0)
    pid_file = tmp_path / "child.pid"
    command = [sys.executable, "-c", FORKS_A_CHILD, str(pid_file), "120"]
    done = runner.run_bounded(command, output_path=tmp_path / "out.log", cwd=tmp_path, env=dict(os.environ), timeout=2)
    assert done.returncode is None
    assert gone(child_pid(pid_file)), "a forked child outlived its stopped group"


def test_a_forked_child_does_not_outlive_a_normal_exit(tmp_path):
    pid_file = tmp_path / "child.pid"
    command = [sys.executable, "-c", FORKS_A_CHILD, str(pid_file), "0.2"]
    done = runner.run_bounded(command, output_path=tmp_path / "out.log", cwd=tmp_path, env=dict(os.environ), timeout=60)
    assert done.returncode == 0
    assert gone(child_pid(pid_file))
