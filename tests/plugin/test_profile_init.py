"""``heallog-conformance init`` and ``check-profile`` on two running services: the reference, and the reference
behind another surface (``/v2/`` paths, a JSON login with ``email``, camelCase operation ids, an advertised
login limit: tests/plugin/data/v2_reference.py). The profile init writes is accepted by a run on the first and
makes a run pass on the second (ENV-1, ENV-2, ENV-3, RID-1, AUTH-1, AUTH-2, HDR-1); the default profile does not
fit the second, and check-profile says where."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conformance import cli
from conformance.profile import check, init, load, mapping
from conformance.profile.model import Rate
from conformance.sut.ports import free_port
from tests.reference.server import FIXED_OTP, SECRET, ServerProcess, base_env

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = Path(__file__).parent / "data" / "v2_reference.py"
#: What a run on the second surface judges (each passes there with the profile init wrote).
JUDGED_ON_V2 = ("ENV-1", "ENV-3", "RID-1", "AUTH-1", "AUTH-2", "HDR-1")


class V2Server(ServerProcess):
    def spawn(self) -> None:
        self.port = free_port()
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(WRAPPER), "--port", str(self.port), "--data-dir", str(self.data_dir)],
                env={**self.env, "PYTHONPATH": str(ROOT)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("init-services")
    reference = ServerProcess(root / "reference", base_env())
    v2 = V2Server(root / "v2", base_env(RATE_LIMIT_LOGIN="100/60"))
    try:
        reference.spawn()
        v2.spawn()
        yield reference.wait_ready(), v2.wait_ready()
    finally:
        reference.stop()
        v2.stop()


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(list(args))
    return code, capsys.readouterr().out


def _run(base_url: str, profile: Path, report: Path, requirements: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "conformance",
        "--base-url",
        base_url,
        "--profile",
        str(profile),
        "--fixed-otp",
        FIXED_OTP,
        "--jwt-secret",
        SECRET,
        "--requirements",
        requirements,
        "--conformance-report",
        str(report),
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=report.parent)


def test_init_on_the_reference_writes_a_profile_a_run_accepts(services, tmp_path, capsys):
    reference, _ = services
    profile = tmp_path / "reference.toml"
    code, out = _cli(capsys, "init", "--base-url", reference.base_url, "--output", str(profile))
    assert code == 0, out
    assert "16 of 16 operations found" in out
    written = tomllib.loads(profile.read_text())
    assert written == {"profile": {"name": "heallog-reference"}}, "the reference is the default: nothing else"
    code, out = _cli(capsys, "check-profile", f"--profile={profile}", "--base-url", reference.base_url)
    assert code == 0 and "18 of 18 operations match the profile" in out, out
    run = _run(reference.base_url, profile, tmp_path / "report.json", "HDR-1,RID-1")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert json.loads((tmp_path / "report.json").read_text())["profile"]["source"] == str(profile)


def test_init_on_another_surface_writes_the_differences_and_a_run_passes_there(services, tmp_path, capsys):
    _, v2 = services
    profile = tmp_path / "v2.toml"
    code, out = _cli(
        capsys,
        "init",
        "--base-url",
        v2.base_url,
        "--openapi",
        v2.base_url + "/v2/openapi.json",
        "--output",
        str(profile),
    )
    assert code == 0, out
    text = profile.read_text()
    written = tomllib.loads(text)
    assert written["profile"]["api_prefix"] == "/v2/"
    assert written["operations"]["login"] == {"path": "/v2/auth/login", "body": "json", "username_field": "email"}
    assert written["operations"]["me"] == {"path": "/v2/users/me"}
    assert written["operations"]["openapi"] == {"path": "/v2/openapi.json"}
    assert written["rate_limits"] == {"login": "100/60"}, "the advertised limit, from one request"
    assert "# POST /v2/auth/login (operationId signIn)" in text, "each entry says where it was read"
    assert "password_field" not in written["operations"]["login"], "what equals the default is left out"
    loaded = load(profile)
    assert loaded.login.body("a@b.c", "pw") == {"json": {"email": "a@b.c", "password": "pw"}}

    code, out = _cli(capsys, "check-profile", f"--profile={profile}", "--base-url", v2.base_url)
    assert code == 0 and "18 of 18 operations match the profile" in out, out

    run = _run(v2.base_url, profile, tmp_path / "report.json", ",".join(JUDGED_ON_V2))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    verdicts = {
        rid: entry["verdict"]
        for rid, entry in json.loads((tmp_path / "report.json").read_text())["requirements"].items()
    }
    assert {rid: verdicts[rid] for rid in JUDGED_ON_V2} == dict.fromkeys(JUDGED_ON_V2, "pass")
    assert run.stdout.strip().splitlines()[-1].startswith("conformance: PASS — ")


def test_check_profile_lists_what_does_not_match(services, tmp_path, capsys):
    _, v2 = services
    default = tmp_path / "default.toml"
    default.write_text('[profile]\nname = "heallog"\n')
    code, out = _cli(capsys, "check-profile", f"--profile={default}", "--base-url", v2.base_url)
    assert code == 1, out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith(("ok", "MISMATCH"))}
    assert lines["health"].startswith("ok")
    assert lines["login"].startswith("MISMATCH") and "404" in lines["login"]
    assert "17 do not" in out.splitlines()[-1]


def test_check_profile_refuses_an_unreadable_profile(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[limitz]\nx = 1\n")
    assert cli.main(["check-profile", f"--profile={bad}", "--base-url", "http://127.0.0.1:9"]) == cli.BAD_INPUT


def test_init_without_a_service_is_bad_input(tmp_path, capsys):
    port = free_port()
    code = cli.main(["init", "--base-url", f"http://127.0.0.1:{port}", "--output", str(tmp_path / "p.toml")])
    assert code == cli.BAD_INPUT
    assert "no OpenAPI document found" in capsys.readouterr().err
    assert not (tmp_path / "p.toml").exists()


# -- pure parts -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "rate"),
    [
        ({"RateLimit-Policy": "10;w=60"}, Rate(10, 60.0)),
        ({"RateLimit-Policy": '"login";q=5;w=900, "burst";q=2;w=1'}, Rate(5, 900.0)),
        ({"X-RateLimit-Limit": "30", "X-RateLimit-Window": "60"}, Rate(30, 60.0)),
        ({"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "29"}, None),
        ({"Content-Type": "application/json"}, None),
    ],
)
def test_advertised_rate(headers, rate):
    found, said = init.advertised_rate(headers)
    assert found == rate
    assert bool(said) == any(k.lower().startswith(("ratelimit", "x-ratelimit")) for k in headers)


def test_mapping_by_operation_id_summary_and_path_shape():
    document = {
        "paths": {
            "/svc/session": {
                "post": {
                    "operationId": "createSession",
                    "summary": "Sign in",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"properties": {"login": {}, "secret": {}}}}}
                    },
                }
            },
            "/svc/accounts/current": {"get": {"operationId": "getCurrentAccount"}},
            "/svc/patients/{patientId}": {
                "get": {"operationId": "readPatient"},
                "patch": {"operationId": "editPatient"},
            },
            "/svc/patients": {"get": {"operationId": "searchPatients"}},
        }
    }
    defaults = {
        "login": {"method": "POST", "path": "/api/auth/login"},
        "me": {"method": "GET", "path": "/api/users/me"},
        "get_patient": {"method": "GET", "path": "/api/patients/{id}"},
        "update_patient": {"method": "PUT", "path": "/api/patients/{id}"},
        "list_patients": {"method": "GET", "path": "/api/patients/"},
        "delete_patient": {"method": "DELETE", "path": "/api/patients/{id}"},
    }
    found = mapping.match_operations(document, defaults)
    assert (found["login"].path, found["login"].body) == ("/svc/session", "json")
    assert (found["login"].username_field, found["login"].password_field) == ("login", "secret")
    assert found["me"].path == "/svc/accounts/current"
    assert found["get_patient"].path == "/svc/patients/{patientId}"
    assert (found["update_patient"].method, found["update_patient"].path) == ("PATCH", "/svc/patients/{patientId}")
    assert found["list_patients"].path == "/svc/patients"
    assert "delete_patient" not in found, "no DELETE is documented: no guess"


def test_check_reads_each_answer():
    profile = load()
    ops = profile.operations
    assert check.problem(profile, ops["me"], 401, "application/json", b"{}") is None
    assert "guard user" in check.problem(profile, ops["me"], 200, "application/json", b"{}")
    assert "no such route" in check.problem(profile, ops["me"], 404, "application/json", b"{}")
    assert check.problem(profile, ops["login"], 401, "application/json", b"{}") is None
    assert "credential field names" in check.problem(profile, ops["login"], 422, "application/json", b"{}")
    assert "guard none" in check.problem(profile, ops["register"], 401, "application/json", b"{}")
    assert check.problem(profile, ops["register"], 422, "application/json", b"{}") is None
    assert "415" in check.problem(profile, ops["refresh"], 415, "application/json", b"{}")
