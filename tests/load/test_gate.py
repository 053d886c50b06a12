"""The SLO gate's pure logic: thresholds, overrides, evaluation, CSV, table."""

from __future__ import annotations

import sys
import textwrap

import pytest

from load import gate
from load.gate import EndpointStats, Measurement, SloError, Threshold

CSV_HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)


def stats(method="GET", name="/api/users/me", requests=100, failures=0, rps=20.0, p50=10, p95=40, p99=80):
    return EndpointStats(method, name, requests, failures, rps, {0.5: p50, 0.95: p95, 0.99: p99})


def measurement(*entries, total=None, violations=None):
    total = total or stats("", "Aggregated")
    return Measurement(tuple(entries), total, violations or {})


def test_threshold_met_passes_and_exceeded_fails():
    result = gate.evaluate(
        "auth_read",
        [Threshold("total", "p95", 50), Threshold("total", "p99", 50)],
        measurement(total=stats("", "Aggregated", p95=40, p99=80)),
    )
    assert [(v.metric, v.measured, v.passed) for v in result.verdicts] == [("p95", 40, True), ("p99", 80, False)]
    assert not result.passed
    assert result.exit_code == 1
    assert result.failed_requirements == ["PERF-1"]


def test_min_rps_is_a_lower_bound():
    slow = gate.evaluate("p", [Threshold("total", "min_rps", 30)], measurement(total=stats("", "Aggregated", rps=20)))
    fast = gate.evaluate("p", [Threshold("total", "min_rps", 10)], measurement(total=stats("", "Aggregated", rps=20)))
    assert not slow.passed
    assert fast.passed and fast.exit_code == 0


def test_failure_ratio_is_failures_over_requests():
    entry = stats(requests=200, failures=3)
    result = gate.evaluate(
        "p",
        [Threshold("GET /api/users/me", "failure_ratio", 0.01), Threshold("GET /api/users/me", "failure_ratio", 0.02)],
        measurement(entry),
    )
    # Both thresholds share a (scope, metric) on purpose: evaluation keeps every listed threshold.
    assert [v.measured for v in result.verdicts] == [0.015, 0.015]
    assert [v.passed for v in result.verdicts] == [False, True]


def test_threshold_on_an_endpoint_without_requests_fails_as_not_measured():
    result = gate.evaluate(
        "p",
        [Threshold("GET /renamed", "p95", 100), Threshold("GET /api/users/me", "p50", 100)],
        measurement(stats(requests=0, failures=0)),
    )
    assert [v.measured for v in result.verdicts] == [None, None]
    assert not any(v.passed for v in result.verdicts)
    assert "not measured" in gate.render_table(result)


def test_conformance_violation_fails_whatever_the_thresholds_and_names_the_requirement():
    entries = [stats(), stats(gate.VIOLATION_TYPE, "AUTH-1 GET /api/users/me", requests=7, failures=7)]
    m = Measurement.from_entries(entries, stats("", "Aggregated"))
    assert m.violations == {"AUTH-1 GET /api/users/me": 7}
    assert [e.scope for e in m.endpoints] == ["GET /api/users/me"]
    result = gate.evaluate("auth_read", [Threshold("total", "p95", 10_000)], m)
    assert not result.passed
    assert result.failed_requirements == ["AUTH-1"]
    table = gate.render_table(result)
    assert "AUTH-1" in table and "FAIL (AUTH-1)" in table


def test_clean_run_without_thresholds_passes():
    result = gate.evaluate("unknown_profile", [], measurement(stats()))
    assert result.passed
    assert "RESULT: PASS" in gate.render_table(result)


def test_table_lists_threshold_measured_and_verdict():
    result = gate.evaluate("auth_read", [Threshold("GET /api/users/me", "p95", 50)], measurement(stats(p95=40)))
    line = next(line for line in gate.render_table(result).splitlines() if "GET /api/users/me" in line)
    assert line.split() == ["PERF-1", "GET", "/api/users/me", "p95", "<=", "50", "40", "pass"]


def test_load_thresholds_reads_the_profile_tables(tmp_path):
    slo = tmp_path / "slo.toml"
    slo.write_text(
        textwrap.dedent(
            """
            [auth_read.total]
            p95 = 800
            min_rps = 5
            [auth_read."GET /api/users/me"]
            failure_ratio = 0.0
            [mixed.total]
            p50 = 1
            """
        )
    )
    thresholds = gate.load_thresholds("auth_read", slo)
    assert set(thresholds) == {
        Threshold("total", "p95", 800),
        Threshold("total", "min_rps", 5),
        Threshold("GET /api/users/me", "failure_ratio", 0.0),
    }
    assert gate.load_thresholds("absent", slo) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[auth_read.total]\np96 = 1\n", "unknown metric 'p96'"),
        ("[auth_read.total]\np95 = -1\n", "non-negative"),
        ("[auth_read.total]\np95 = 'fast'\n", "non-negative"),
        ("[auth_read\n", "not valid TOML"),
        ("auth_read = 3\n", "must be a table"),
    ],
)
def test_bad_slo_file_is_refused_with_a_clear_message(tmp_path, content, message):
    slo = tmp_path / "slo.toml"
    slo.write_text(content)
    with pytest.raises(SloError, match=message):
        gate.load_thresholds("auth_read", slo)


def test_missing_slo_file_is_refused(tmp_path):
    with pytest.raises(SloError, match="no such file"):
        gate.load_thresholds("auth_read", tmp_path / "absent.toml")


def test_packaged_default_slo_covers_every_profile():
    for profile in ("auth_read", "login_storm", "revocation_churn", "mixed"):
        thresholds = gate.load_thresholds(profile)
        assert any(t.scope == "total" and t.metric == "failure_ratio" for t in thresholds), profile


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("total.p95=800", Threshold("total", "p95", 800)),
        ("GET /api/users/me.failure_ratio=0", Threshold("GET /api/users/me", "failure_ratio", 0)),
        ("GET /api/users/me [revoked].p99=1.5", Threshold("GET /api/users/me [revoked]", "p99", 1.5)),
    ],
)
def test_threshold_option_is_parsed(text, expected):
    assert gate.parse_override(text) == expected


@pytest.mark.parametrize("text", ["p95=800", "total.p95", "total.p95=fast", ".p95=3"])
def test_malformed_threshold_option_is_refused(text):
    with pytest.raises(SloError):
        gate.parse_override(text)


def test_override_replaces_same_scope_and_metric_and_adds_new_ones():
    merged = gate.merge(
        [Threshold("total", "p95", 800), Threshold("total", "p99", 900)],
        [Threshold("total", "p95", 100), Threshold("total", "min_rps", 2)],
    )
    assert sorted(merged, key=lambda t: t.metric) == [
        Threshold("total", "min_rps", 2),
        Threshold("total", "p95", 100),
        Threshold("total", "p99", 900),
    ]


def test_measurement_from_locust_csv(tmp_path):
    path = tmp_path / "run_stats.csv"
    path.write_text(
        "\n".join(
            [
                CSV_HEADER,
                "GET,/api/users/me,120,2,12,14.5,3,90,200,24.0,0.4,12,14,16,18,25,40,60,80,90,90,90",
                "CHECK,AUTH-1 GET /api/users/me,5,5,0,0,0,0,0,1.0,1.0,0,0,0,0,0,0,0,0,0,0,0",
                "GET,/api/never,0,0,0,0,0,0,0,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A",
                ",Aggregated,125,7,12,14,0,90,190,25.0,1.4,12,14,16,18,25,40,60,80,90,90,90",
            ]
        )
        + "\n"
    )
    m = gate.measurement_from_csv(path)
    me = m.scope("GET /api/users/me")
    assert (me.requests, me.failures, me.rps) == (120, 2, 24.0)
    assert me.percentiles == {0.5: 12, 0.95: 40, 0.99: 80}
    assert m.scope("GET /api/never").percentiles == {}
    assert m.total.requests == 125 and m.total.scope == "total"
    assert m.violations == {"AUTH-1 GET /api/users/me": 5}


def test_csv_without_aggregated_row_is_refused(tmp_path):
    path = tmp_path / "x_stats.csv"
    path.write_text(CSV_HEADER + "\n")
    with pytest.raises(SloError, match="Aggregated"):
        gate.measurement_from_csv(path)


def test_gate_module_does_not_import_locust():
    # gevent's monkey-patching would break the pytest process that imports the gate.
    assert "locust" not in sys.modules
    assert "gevent" not in sys.modules


def test_result_as_dict_is_json_ready():
    import json

    result = gate.evaluate("p", [Threshold("total", "p95", 1)], measurement())
    data = json.loads(json.dumps(gate.result_as_dict(result)))
    assert data["passed"] is False
    assert data["verdicts"][0] == {
        "requirement": "PERF-1",
        "scope": "total",
        "metric": "p95",
        "bound": "<=",
        "threshold": 1,
        "measured": 40.0,
        "passed": False,
    }


def test_measurement_as_dict_has_total_endpoints_and_violations():
    m = Measurement.from_entries(
        [stats(), stats(gate.VIOLATION_TYPE, "AUTH-1 GET /api/users/me", requests=2, failures=2)],
        stats("", "Aggregated", rps=50.0, p95=45),
    )
    data = gate.measurement_as_dict(m)
    assert data["total"] == {"requests": 100, "failures": 0, "rps": 50.0, "p50": 10, "p95": 45, "p99": 80}
    assert list(data["endpoints"]) == ["GET /api/users/me"]
    assert data["violations"] == {"AUTH-1 GET /api/users/me": 2}
