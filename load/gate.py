"""The SLO gate: thresholds against measured load statistics, as pure data.

PERF-1 asks two things of a load run: the profile meets its service-level
objectives (latency percentiles, failure ratio, throughput) and every response
under load still satisfies the conformance checks. This module decides both
from plain numbers, so it is unit-tested without locust (importing locust
monkey-patches the process with gevent). The locust side
(:mod:`load.common`) feeds it ``environment.stats``; :func:`measurement_from_csv`
feeds it the CSV that locust writes, for re-evaluating a finished run.

Conformance violations reach the gate as locust request entries of type
:data:`VIOLATION_TYPE` named ``"<REQUIREMENT> <METHOD> <path>"``: any such
entry fails the gate whatever the thresholds say.
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

#: locust request type under which conformance violations are recorded.
VIOLATION_TYPE = "CHECK"
#: Scope name of the whole run (locust's "Aggregated" row).
TOTAL = "total"
#: Latency metrics and the percentile each one reads.
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
#: Metrics whose threshold is an upper bound; ``min_rps`` is the only lower bound.
METRICS = (*PERCENTILES, "failure_ratio", "min_rps")
REQUIREMENT_PREFIX = re.compile(r"^([A-Z]+-\d+) ")


class SloError(ValueError):
    """The SLO file or a threshold option cannot be used."""


@dataclass(frozen=True)
class EndpointStats:
    """What locust measured for one request name (or the whole run)."""

    method: str
    name: str
    requests: int
    failures: int
    rps: float
    #: Latency in milliseconds by percentile (0.5, 0.95, 0.99); empty without requests.
    percentiles: Mapping[float, float] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        return f"{self.method} {self.name}" if self.method else TOTAL

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Measurement:
    """A finished run: its endpoints, its total, and the conformance violations it recorded."""

    endpoints: tuple[EndpointStats, ...]
    total: EndpointStats
    #: ``"AUTH-1 GET /api/users/me"`` -> occurrences.
    violations: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_entries(cls, entries: Iterable[EndpointStats], total: EndpointStats) -> Measurement:
        """Split locust's entries into endpoints and conformance violations."""
        endpoints, violations = [], {}
        for entry in entries:
            if entry.method == VIOLATION_TYPE:
                violations[entry.name] = violations.get(entry.name, 0) + max(entry.failures, entry.requests)
            else:
                endpoints.append(entry)
        return cls(tuple(endpoints), total, violations)

    def scope(self, name: str) -> EndpointStats | None:
        if name == TOTAL:
            return self.total
        return next((e for e in self.endpoints if e.scope == name), None)


@dataclass(frozen=True)
class Threshold:
    scope: str  # TOTAL or "METHOD name"
    metric: str  # one of METRICS
    limit: float

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise SloError(f"unknown metric {self.metric!r} for {self.scope!r}: use one of {', '.join(METRICS)}")
        if not isinstance(self.limit, (int, float)) or isinstance(self.limit, bool) or self.limit < 0:
            raise SloError(f"{self.scope}.{self.metric} must be a non-negative number, not {self.limit!r}")

    @property
    def bound(self) -> str:
        return ">=" if self.metric == "min_rps" else "<="


@dataclass(frozen=True)
class Verdict:
    """One line of the gate's table."""

    scope: str
    metric: str
    bound: str
    limit: float
    measured: float | None  # None: nothing was measured for this scope
    passed: bool

    @property
    def requirement(self) -> str:
        match = REQUIREMENT_PREFIX.match(self.scope)
        return match.group(1) if match else "PERF-1"


@dataclass(frozen=True)
class GateResult:
    profile: str
    verdicts: tuple[Verdict, ...]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    @property
    def failed_requirements(self) -> list[str]:
        """Requirement IDs with a failing verdict, in order of first failure."""
        return list(dict.fromkeys(v.requirement for v in self.verdicts if not v.passed))

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


# -- thresholds ------------------------------------------------------------


def default_slo_path() -> Path:
    return Path(str(resources.files("load").joinpath("slo.toml")))


def load_thresholds(profile: str, path: str | Path | None = None) -> list[Threshold]:
    """The thresholds of ``profile`` in the SLO file (the packaged default without ``path``).

    The file maps ``[<profile>.<scope>]`` tables to metrics, where scope is
    ``total`` or ``"METHOD /path"`` (the name locust reports); a profile absent
    from the file has no thresholds (the gate then only judges conformance).
    """
    path = Path(path) if path is not None else default_slo_path()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise SloError(f"--slo {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SloError(f"--slo {path}: not valid TOML: {exc}") from None
    scopes = data.get(profile, {})
    if not isinstance(scopes, dict):
        raise SloError(f"{path}: [{profile}] must be a table of scopes")
    thresholds = []
    for scope, metrics in scopes.items():
        if not isinstance(metrics, dict):
            raise SloError(f"{path}: [{profile}.{scope}] must be a table of metrics")
        thresholds += [Threshold(scope, metric, limit) for metric, limit in metrics.items()]
    return thresholds


def parse_override(text: str) -> Threshold:
    """A threshold from an option: ``total.p95=800`` or ``GET /api/users/me.failure_ratio=0``."""
    target, sep, value = text.rpartition("=")
    scope, dot, metric = target.rpartition(".")
    if not sep or not dot or not scope:
        raise SloError(f"--threshold {text!r}: expected SCOPE.METRIC=VALUE, e.g. total.p95=800")
    try:
        limit = float(value)
    except ValueError:
        raise SloError(f"--threshold {text!r}: {value!r} is not a number") from None
    return Threshold(scope.strip(), metric.strip(), limit)


def merge(thresholds: Iterable[Threshold], overrides: Iterable[Threshold]) -> list[Threshold]:
    """``thresholds`` with each (scope, metric) of ``overrides`` replaced or added."""
    merged = {(t.scope, t.metric): t for t in thresholds}
    merged.update({(t.scope, t.metric): t for t in overrides})
    return list(merged.values())


# -- evaluation ------------------------------------------------------------


def measured_value(stats: EndpointStats, metric: str) -> float | None:
    """The value of ``metric`` for ``stats``; None when there were no requests to measure."""
    if not stats.requests:
        return None
    if metric == "failure_ratio":
        return stats.failure_ratio
    if metric == "min_rps":
        return stats.rps
    value = stats.percentiles.get(PERCENTILES[metric])
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def evaluate(profile: str, thresholds: Iterable[Threshold], measurement: Measurement) -> GateResult:
    """Every threshold against the measurement, then one failing line per conformance violation.

    A threshold whose scope saw no request fails: an SLO that was not measured
    was not met (typically a renamed endpoint or a profile that never ran).
    """
    verdicts = []
    for threshold in thresholds:
        stats = measurement.scope(threshold.scope)
        measured = measured_value(stats, threshold.metric) if stats is not None else None
        if measured is None:
            passed = False
        elif threshold.bound == ">=":
            passed = measured >= threshold.limit
        else:
            passed = measured <= threshold.limit
        verdicts.append(Verdict(threshold.scope, threshold.metric, threshold.bound, threshold.limit, measured, passed))
    for name, count in sorted(measurement.violations.items()):
        verdicts.append(Verdict(name, "violations", "<=", 0, float(count), count == 0))
    return GateResult(profile, tuple(verdicts))


# -- rendering -------------------------------------------------------------


def render_table(result: GateResult) -> str:
    """The gate as a table: requirement, scope, metric, threshold, measured, verdict."""
    header = ("req", "scope", "metric", "threshold", "measured", "verdict")
    rows = [header]
    for v in result.verdicts:
        rows.append(
            (
                v.requirement,
                v.scope,
                v.metric,
                f"{v.bound} {_number(v.limit)}",
                "not measured" if v.measured is None else _number(v.measured),
                "pass" if v.passed else "FAIL",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"SLO gate for profile {result.profile!r}"]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * width for width in widths))
    if not result.verdicts:
        lines.append("(no thresholds for this profile and no conformance violation)")
    failed = result.failed_requirements
    lines.append(f"RESULT: {'PASS' if result.passed else 'FAIL (' + ', '.join(failed) + ')'}")
    return "\n".join(lines)


def result_as_dict(result: GateResult) -> dict[str, Any]:
    """The gate as JSON-ready data (written next to the CSV files)."""
    return {
        "profile": result.profile,
        "passed": result.passed,
        "failed_requirements": result.failed_requirements,
        "verdicts": [
            {
                "requirement": v.requirement,
                "scope": v.scope,
                "metric": v.metric,
                "bound": v.bound,
                "threshold": v.limit,
                "measured": v.measured,
                "passed": v.passed,
            }
            for v in result.verdicts
        ],
    }


def measurement_as_dict(measurement: Measurement) -> dict[str, Any]:
    """The measured figures as JSON-ready data (the benchmark reads the total from here)."""

    def figures(stats: EndpointStats) -> dict[str, Any]:
        return {
            "requests": stats.requests,
            "failures": stats.failures,
            "rps": stats.rps,
            **{metric: stats.percentiles.get(p) for metric, p in PERCENTILES.items()},
        }

    return {
        "total": figures(measurement.total),
        "endpoints": {e.scope: figures(e) for e in measurement.endpoints},
        "violations": dict(measurement.violations),
    }


def _number(value: float) -> str:
    value = float(value)
    return f"{value:.0f}" if value.is_integer() or abs(value) >= 100 else f"{value:.3g}"


# -- locust's CSV ----------------------------------------------------------


def measurement_from_csv(stats_csv: str | Path) -> Measurement:
    """A measurement from locust's ``<prefix>_stats.csv``."""
    entries, total = [], None
    with open(stats_csv, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stats = EndpointStats(
                method=row["Type"],
                name=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                percentiles={
                    p: float(row[f"{p * 100:g}%"]) for p in PERCENTILES.values() if _is_number(row[f"{p * 100:g}%"])
                },
            )
            if stats.method == "" and stats.name == "Aggregated":
                total = EndpointStats("", "Aggregated", stats.requests, stats.failures, stats.rps, stats.percentiles)
            else:
                entries.append(stats)
    if total is None:
        raise SloError(f"{stats_csv}: no Aggregated row; is this a locust stats CSV?")
    return Measurement.from_entries(entries, total)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
