"""Bad input, early: --help and --version work, unwritable report paths and a bad target stop the run at once.

The command-line cases run the real command in a subprocess (what a user
types); the report-path cases run in-process with the fake target, so that
"before any traffic" is "before the target is opened".
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata

import pytest

from conformance.run import launch, report_paths
from conformance.run.options import OPTIONS

COMMAND = [sys.executable, "-m", "conformance"]
#: Options added besides the OPTIONS table.
FLAGS = ("--sut-env", "--baseline-update", "--conformance-require-all", "--conformance-strict")
#: The issue's bound for the bad-target line; the slack absorbs a loaded 2-core machine (measured: 1-2 s).
FIRST_LINE_BOUND = 5.0
SLACK = 2.5


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


# -- --help, -h, --version ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        [*COMMAND, "--help"],
        [*COMMAND, "-h"],
        [sys.executable, "-m", "pytest", "--help"],  # in the checkout, as a contributor would
    ],
    ids=["heallog-conformance --help", "-h", "pytest --help"],
)
def test_help_renders_every_option(command):
    """argparse expands every option's help with %: a literal % in one of them crashed the whole --help."""
    result = _run(command, cwd=launch.ROOT_DIR)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    for option in [*OPTIONS, *FLAGS]:
        assert option in result.stdout, f"{option} is missing from --help"
    assert "80% of pytest-timeout" in " ".join(result.stdout.split()), "a literal % is shown as one"


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_names_the_harness_and_its_version_then_pytest(flag):
    result = _run([*COMMAND, flag])
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"heallog-conformance {metadata.version('heallog-conformance')}",
        f"pytest {pytest.__version__}",
    ]


# -- report paths --------------------------------------------------------------------------------------------
SUITE = """
import pytest

@pytest.mark.requirement("ENV-1")
def test_envelope(target):
    pass
"""


@pytest.mark.parametrize(
    "option", ["--conformance-report", "--conformance-html", "--conformance-har", "--conformance-summary", "--junitxml"]
)
def test_an_unwritable_report_path_stops_the_run_before_any_traffic(run, fake_target, pytester, option):
    blocker = pytester.path / "a-file"
    blocker.write_text("not a folder")
    path = blocker / "reports" / "out.txt"
    result, _ = run(SUITE, f"{option}={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stdout.lines + result.stderr.lines if line.strip()]
    assert lines == [
        f"ERROR: conformance: {option} {path}: cannot write the report there: {blocker} is not a directory"
    ], lines
    assert fake_target.calls == [], "the target was not even opened"


def test_a_report_path_that_is_a_directory_is_refused(run, fake_target, pytester):
    result, _ = run(SUITE, f"--conformance-html={pytester.path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: conformance: --conformance-html {pytester.path}: cannot write the report there: it is a directory"]
    )
    assert fake_target.calls == []


def test_the_check_writes_nothing(tmp_path):
    existing = tmp_path / "existing.json"
    existing.write_text("kept")
    assert report_paths.problem(existing) is None
    assert existing.read_text() == "kept"
    assert report_paths.problem(tmp_path / "new" / "deeper" / "report.json") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.json"], "no folder created, no file left"


# -- the target: unreachable or slow, said first ---------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def slow_server():
    """A server whose health answer comes after ``delay`` s, or trickles its body one byte per ``trickle`` s."""
    servers = []

    def start(*, delay: float = 0.0, trickle: float = 0.0) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                time.sleep(delay)
                body = b'{"status": "ok", "padding": "' + b"x" * 40 + b'"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(trickle)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _preflight_error(base_url: str, budget: float) -> str:
    from conformance.profile import load
    from conformance.sut import TargetError, health

    with pytest.raises(TargetError) as raised:
        health.preflight(base_url, load(None), budget=budget)
    return str(raised.value)


def test_an_unreachable_target_is_told_apart_from_a_slow_one(slow_server):
    port = _closed_port()
    refused = _preflight_error(f"http://127.0.0.1:{port}", 1.0)
    assert refused == f"--base-url: cannot reach http://127.0.0.1:{port}/health (connection refused)"
    late = _preflight_error(slow_server(delay=3.0), 1.0)
    assert " is too slow: it accepted the connection, but did not answer within 1." in late
    assert "--health-timeout 1 s: raise it for a slow target" in late and "cannot reach" not in late
    trickling = _preflight_error(slow_server(trickle=0.1), 1.0)
    assert " is too slow: its answer was still arriving after 1." in trickling and "cannot reach" not in trickling


def test_the_health_timeout_option_reaches_the_target(run, fake_target):
    run(SUITE, "--health-timeout", "12.5")
    assert fake_target.settings.health_timeout == 12.5
    run(SUITE)
    assert fake_target.settings.health_timeout == 2.5, "the bound before the option"
    result, _ = run(SUITE, "--health-timeout", "soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--health-timeout 'soon': expected seconds*"])


def _first_line(args: list[str]) -> tuple[str, float, int]:
    """The first line the command prints, how many seconds in, and its exit code."""
    started = time.monotonic()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = process.stdout.readline()
        seconds = time.monotonic() - started
        process.communicate(timeout=60)
    finally:
        process.kill()
    return first.rstrip("\n"), seconds, process.wait()


def test_the_unreachable_target_line_is_the_first_line_printed_within_5_seconds():
    port = _closed_port()
    first, seconds, code = _first_line([*COMMAND, "--base-url", f"http://127.0.0.1:{port}"])
    assert first == f"ERROR: conformance: --base-url: cannot reach http://127.0.0.1:{port}/health (connection refused)"
    assert code == pytest.ExitCode.USAGE_ERROR
    assert seconds < FIRST_LINE_BOUND + SLACK, f"after {seconds:.1f} s"


def test_the_slow_target_line_is_the_first_line_printed_within_5_seconds(slow_server):
    base_url = slow_server(delay=30.0)
    first, seconds, code = _first_line([*COMMAND, "--base-url", base_url, "--health-timeout", "1"])
    assert first.startswith(f"ERROR: conformance: --base-url: {base_url}/health is too slow"), first
    assert code == pytest.ExitCode.USAGE_ERROR
    assert seconds < FIRST_LINE_BOUND + SLACK, f"after {seconds:.1f} s"


def test_a_managed_command_with_a_typo_is_the_first_line_printed_within_5_seconds(tmp_path):
    first, seconds, code = _first_line([*COMMAND, "--sut-cmd", "{python} -m reference serve --port {prot}"])
    assert first.startswith("ERROR: conformance: --sut-cmd: unknown placeholder {prot}"), first
    assert code == pytest.ExitCode.USAGE_ERROR
    assert seconds < FIRST_LINE_BOUND + SLACK, f"after {seconds:.1f} s"
