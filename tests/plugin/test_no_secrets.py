"""No secret in any output: failing runs (``--tb=long -vv``) are searched for every secret the run used.

The run is the real conformance suite against the managed reference with
defects that make failures print what they would leak (a SUT that logs
passwords, answers OTP failures with 200, echoes tracebacks); every secret the
harness made or received (passwords, codes, tokens) is dumped by the plugin's
self-test hook and looked for, raw and encoded, in the terminal output, the
JSON, JUnit, HTML and HAR reports.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from conformance.plugin import SECRETS_DUMP_ENV
from conformance.sut.process import run_bounded

REPO = Path(__file__).resolve().parents[2]
DEFECTS = "unmasked-logs,tuple-returns-otp,traceback-500,user-enumeration,http-exception-envelope,lax-guards"
REQUIREMENTS = "LOG-*,AUTH-*,ENV-*,REV-1,REV-2"


def forms(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value, safe=""), json.dumps(value)[1:-1]}


@pytest.mark.timeout(600)
def test_a_failing_runs_entire_output_holds_none_of_its_secrets(tmp_path):
    dump = tmp_path / "secrets.jsonl"
    outputs = {
        name: tmp_path / name for name in ("report.json", "junit.xml", "report.html", "exchanges.har", "report.sarif")
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "PYTEST_"))}
    env[SECRETS_DUMP_ENV] = str(dump)
    done = run_bounded(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--tb=long",
            "-vv",
            "-rA",
            "--showlocals",
            "--sut-env",
            f"REFERENCE_DEFECTS={DEFECTS}",
            f"--requirements={REQUIREMENTS}",
            "--startup-timeout=60",
            f"--conformance-report={outputs['report.json']}",
            f"--junitxml={outputs['junit.xml']}",
            f"--conformance-html={outputs['report.html']}",
            f"--conformance-har={outputs['exchanges.har']}",
            f"--conformance-sarif={outputs['report.sarif']}",
        ],
        timeout=540,
        env=env,
        cwd=REPO,
    )
    assert done.returncode == 1, done.output[-3000:]
    secrets = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(secrets) > 20, "the run made accounts (passwords, codes, tokens) and the dump has them"
    texts = {"terminal": done.output, **{name: path.read_text("utf-8") for name, path in outputs.items()}}
    leaks = [
        f"{where}: a secret of {len(secret)} characters ({form[:4]}...)"
        for secret in secrets
        for form in forms(secret)
        for where, text in texts.items()
        if form in text
    ]
    assert leaks == [], leaks[:10]
    report = json.loads(outputs["report.json"].read_text())
    failing = [rid for rid, entry in report["requirements"].items() if entry["verdict"] == "fail"]
    assert {"LOG-1", "AUTH-6", "ENV-6"} <= set(failing), "the defects did fail: the outputs were worth searching"


LEAKY_SUITE = """
import logging
import pytest
from conformance import redaction
from conformance.exchange import Exchange
from conformance.outcomes import Violation

SECRET = "Pw-Zq8#kP2-only-in-this-run"

@pytest.mark.requirement("ENV-6")
def test_the_sut_echoes_a_password_in_a_field_no_mask_knows(api):
    redaction.register(SECRET, "password")
    print("captured stdout holds", SECRET)
    logging.getLogger("x").warning("captured log holds %s", SECRET)
    exchange = api.record(Exchange.build("POST", "http://sut/api/auth/login?next=" + SECRET, 500,
                                         response_body={"message": f"user with password {SECRET} failed"}))
    raise Violation("ENV-6", expected="no internals", actual=f"the body quotes {SECRET}", exchange=exchange)

@pytest.mark.requirement("ENV-7")
def test_an_assertion_diff_shows_it():
    assert {"password": "x"} == {"password": SECRET}
"""


@pytest.mark.parametrize("tb", ["auto", "long"])
def test_every_output_redacts_a_registered_secret_wherever_it_appears(run, pytester, tb):
    junit = pytester.path / "junit.xml"
    html, sarif = pytester.path / "r.html", pytester.path / "r.sarif"
    result, report = run(
        LEAKY_SUITE,
        f"--tb={tb}",
        "-vv",
        "-rA",
        "--showlocals",
        f"--junitxml={junit}",
        f"--conformance-html={html}",
        f"--conformance-sarif={sarif}",
    )
    assert result.ret == 1
    outputs = {
        "stdout": result.stdout.str(),
        "stderr": result.stderr.str(),
        "json": json.dumps(report),
        "junit": junit.read_text(),
        "html": html.read_text(),
        "sarif": sarif.read_text(),
    }
    secret = "Pw-Zq8#kP2-only-in-this-run"
    leaked = [where for where, text in outputs.items() for form in forms(secret) if form in text]
    assert leaked == []
    assert "***" in outputs["stdout"], "masked, not dropped: the reader sees that something was there"


def test_the_shown_block_and_the_secret_options_are_masked_too():
    """The default output's block (its later one-line form and the Rerun line included) goes through the same
    redaction as the reports; a signing secret or fixed code given as an option is registered as a secret."""
    from conformance import redaction
    from conformance.plugin import ViolationRepr

    secret = "given-on-the-command-line-0123456789"
    redaction.register(secret, "signing secret")
    shown = ViolationRepr(
        f"AUTH-2  Guards: Actual: echoed {secret}\n  Rerun: python -m pytest --jwt-secret={secret}", "x.py", 1
    )
    assert secret not in shown.text and secret not in str(shown)
    assert "Rerun: python -m pytest --jwt-secret=" in shown.text
