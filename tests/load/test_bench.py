"""The benchmarks' pure parts: run order, figures, the printed comparison, callgrind's arithmetic, /proc."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest

from load.lab import bench, instructions, procfs, replay


def test_rounds_alternate_abba_so_drift_hits_both_sides():
    assert bench.order(3) == [(0, 0), (0, 1), (1, 1), (1, 0), (2, 0), (2, 1)]


def test_figures_come_from_the_gate_json_total(tmp_path):
    path = tmp_path / "gate.json"
    path.write_text(json.dumps({"measurement": {"total": {"requests": 90, "failures": 1, "rps": 30.0, "p95": 44.0}}}))
    assert bench.figures_of(path) == bench.Figures(rps=30.0, p95=44.0, requests=90, failures=0 + 1)


def test_report_prints_rounds_medians_and_ratios():
    comparison = bench.COMPARISONS["decode-cost"]
    clean = [bench.Figures(100.0, 50.0, 1000, 0), bench.Figures(120.0, 40.0, 1200, 0)]
    defect = [bench.Figures(50.0, 100.0, 500, 0), bench.Figures(60.0, 80.0, 600, 0)]
    text = bench.report(comparison, [clean, defect])
    assert "median clean" in text and "median multi-decode" in text
    assert "clean serves 2.00x the requests per second of multi-decode" in text
    assert "p95 of multi-decode is 2.00x that of clean" in text
    assert "CPUs" in text


def test_workers_comparison_starts_a_two_process_reference_and_two_locust_workers():
    comparison = bench.COMPARISONS["workers"]
    baseline, variant = bench.sides(comparison, {"RATE_LIMIT_LOGIN": "1000000/60"})
    assert baseline.sut_cmd is None and baseline.seed_cmd is None
    assert variant.sut_cmd.endswith("--workers 2")
    # A SUT command of its own needs the seed command spelled out, plan and role included.
    assert "{plan}" in variant.seed_cmd and "{role}" in variant.seed_cmd
    assert variant.sut_env == baseline.sut_env == {"RATE_LIMIT_LOGIN": "1000000/60"}
    assert comparison.processes == 2 and comparison.checks is True


def test_report_shows_the_cpu_of_the_sut_and_of_each_locust_process():
    comparison = bench.COMPARISONS["workers"]
    processes = (
        {"role": "master", "requests": 0, "cpu_seconds": 0.1, "wall_seconds": 10.0, "cpu_share": 0.01},
        {"role": "worker", "requests": 2000, "cpu_seconds": 2.0, "wall_seconds": 10.0, "cpu_share": 0.2},
        {"role": "worker", "requests": 1500, "cpu_seconds": 1.0, "wall_seconds": 10.0, "cpu_share": 0.1},
    )
    one = [bench.Figures(300.0, 30.0, 3000, 0, sut_cores=0.98, processes=processes)]
    two = [bench.Figures(450.0, 20.0, 4500, 0, sut_cores=1.6, processes=processes)]
    text = bench.report(comparison, [one, two])
    assert "m 0.01  w 0.20  w 0.10" in text
    assert "0.98" in text and "1.60" in text
    # Per CPU-second of each worker: 1000 and 1500, median 1250.
    assert "requests per CPU-second of a locust process running users: 1 worker 1250 (checks on)" in text


# -- instruction counts (callgrind) ------------------------------------------------

CALLGRIND_ANSWER = """PID 11095: /usr/bin/python -m reference serve --port 18123 --data-dir data

  Totals:         Ir 
   Th 1  168,018,649 
   Th 8    4,059,258 
"""


def test_thread_totals_are_summed_over_every_thread():
    assert instructions.parse_thread_totals(CALLGRIND_ANSWER) == 168_018_649 + 4_059_258


def test_an_answer_without_totals_is_an_error_not_zero():
    with pytest.raises(instructions.InstructionError, match="no per-thread totals"):
        instructions.parse_thread_totals("PID 1: python\n  OK.\n")


def test_the_cost_of_a_request_is_the_difference_of_two_windows():
    # A window costs 5M whatever its length (control commands) plus 4M per request.
    fixed, per = 5_000_000, 4_000_000
    assert instructions.per_request(fixed + 20 * per, fixed + 40 * per, 20) == per
    with pytest.raises(instructions.InstructionError):
        instructions.per_request(100, 100, 10)


def test_ratios_are_stable_when_they_differ_by_less_than_two_percent():
    assert instructions.spread([1.10, 1.11]) == pytest.approx(0.01 / 1.10)
    assert instructions.is_stable([1.117, 1.118])
    assert not instructions.is_stable([1.10, 1.13])


def test_measure_zeroes_sends_and_reads_two_windows():
    calls = []
    counts = iter([1_000 + 10 * 50, 1_000 + 20 * 50])

    class FakeCallgrind:
        def zero(self):
            calls.append("zero")

        def instructions(self):
            calls.append("read")
            return next(counts)

    class FakeSession:
        def cycles(self, count):
            calls.append(f"send {count}")
            return count * len(instructions.SEQUENCE)

    assert instructions.measure(FakeCallgrind(), FakeSession(), 1) == 50
    assert calls == ["zero", "send 1", "read", "zero", "send 2", "read"]


def test_callgrind_control_is_asked_about_one_pid_and_a_refusal_is_an_error():
    seen = []

    def fake_run(argv, **_kwargs):
        seen.append(argv)
        code = 1 if "--zero" in argv else 0
        return subprocess.CompletedProcess(argv, code, stdout=CALLGRIND_ANSWER, stderr="no callgrind run with pid 42")

    control = instructions.Callgrind(42, run=fake_run)
    assert control.instructions() == 172_077_907
    control.instrument()
    assert seen == [["callgrind_control", "-e", "Ir", "42"], ["callgrind_control", "--instr=on", "42"]]
    with pytest.raises(instructions.InstructionError, match="no callgrind run"):
        control.zero()


def test_instruction_report_prints_both_sides_the_ratio_and_its_stability():
    reps = [instructions.Repetition(4_250_000, 4_750_000), instructions.Repetition(4_260_000, 4_760_000)]
    text = instructions.report(("clean", "multi-decode"), 20, reps)
    assert "4,250,000" in text and "4,760,000" in text
    assert "1.1176" in text and "stable: the bound is 2 %" in text and "NOT" not in text


def test_the_sequence_is_auth_reads_mix():
    operations = [operation for operation, _status in instructions.SEQUENCE]
    assert {op: operations.count(op) for op in operations} == {
        "me": 4,
        "list_patients": 2,
        "get_patient": 2,
        "pro_feature": 1,
        "list_users": 1,
    }


# -- /proc ----------------------------------------------------------------------


def fake_proc(root, processes, parents=None):
    for pid, (comm, pgid, ticks, cmdline) in processes.items():
        entry = root / str(pid)
        entry.mkdir()
        parent = (parents or {}).get(pid, 1)
        rest = ["S", str(parent), str(pgid)] + ["0"] * 8 + [str(t) for t in ticks] + ["0"] * 5
        (entry / "stat").write_text(f"{pid} ({comm}) " + " ".join(rest) + "\n")
        (entry / "cmdline").write_bytes(cmdline.replace(" ", "\0").encode())
    (root / "self").mkdir()
    return root


def test_group_cpu_counts_every_member_and_what_they_reaped(tmp_path):
    proc = fake_proc(
        tmp_path,
        {
            10: ("python", 10, (100, 50, 7, 3), "python -m reference serve --data-dir /d"),
            11: ("python (spawn) x", 10, (200, 20, 0, 0), "python -c spawn_main"),
            12: ("redis-server", 12, (999, 999, 0, 0), "redis-server"),
        },
    )
    ticks = os.sysconf("SC_CLK_TCK")
    assert procfs.group_cpu_seconds(10, proc) == pytest.approx((160 + 220) / ticks)


def test_find_pid_wants_exactly_one_match(tmp_path):
    proc = fake_proc(
        tmp_path,
        {
            10: ("python", 10, (0, 0, 0, 0), "python -m reference serve --data-dir /a"),
            11: ("python", 11, (0, 0, 0, 0), "python -m reference serve --data-dir /b"),
        },
    )
    assert procfs.find_pid("--data-dir /a", proc) == 10
    with pytest.raises(procfs.ProcError, match="found none"):
        procfs.find_pid("--data-dir /c", proc)
    with pytest.raises(procfs.ProcError, match=r"\[10, 11\]"):
        procfs.find_pid("reference serve", proc)


def test_find_pid_skips_the_shell_that_runs_the_command(tmp_path):
    command = "valgrind --callgrind-out-file=/d/out python -m reference serve"
    proc = fake_proc(
        tmp_path,
        {
            20: ("sh", 20, (0, 0, 0, 0), f"/bin/sh -c {command}"),
            21: ("memcheck", 20, (0, 0, 0, 0), command),
        },
        parents={21: 20},
    )
    assert procfs.find_pid("--callgrind-out-file=/d/out", proc) == 21


# -- the replay server (generator benchmark) -------------------------------------------


def test_replayed_answers_are_byte_for_byte_with_their_length_recomputed():
    original = httpx.Response(
        403,
        headers=[("content-type", "application/json"), ("x-debug-jwt-decodes", "1"), ("transfer-encoding", "chunked")],
        content=b'{"success": false}',
    )
    raw = replay.raw_response(original)
    assert raw.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"x-debug-jwt-decodes: 1\r\n" in raw and b"transfer-encoding" not in raw
    assert raw.endswith(b"content-length: 18\r\n\r\n" + b'{"success": false}')


def test_the_replay_server_answers_recorded_paths_on_one_connection_and_404_otherwise():
    answer = replay.raw_response(httpx.Response(200, json={"id": "me"}))
    server = replay.ReplayServer({"/api/users/me": answer}).start()
    try:
        with httpx.Client(base_url=server.base_url) as client:
            for _ in range(3):  # keep-alive: the same connection answers again
                assert client.get("/api/users/me?x=1", headers={"Authorization": "Bearer t"}).json() == {"id": "me"}
            assert client.post("/api/other", json={"a": 1}).status_code == 404
        assert server.served == 4
    finally:
        server.stop()


def test_auth_read_recordings_use_the_token_each_request_will_carry():
    from conformance import profile as profiles

    session = lambda token: {"sessions": [{"access_token": token}]}  # noqa: E731
    data = {
        "accounts": [{**session("a1"), "patients": ["p1"]}, {**session("a2"), "patients": ["p2"]}],
        "pro": session("pro"),
        "admin": None,
    }
    recorded = {r.path: r.token for r in bench.auth_read_recordings(data, profiles.load())}
    assert recorded == {
        "/api/patients/p1": "a1",
        "/api/patients/p2": "a2",
        "/api/users/me": "a1",
        "/api/patients/": "a1",
        "/api/patients/pro-feature/": "pro",
        "/api/users/": "a1",
    }
