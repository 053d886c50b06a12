"""The benchmark's pure parts: run order, figures, the printed comparison."""

from __future__ import annotations

import json

from load import bench


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
