"""Start and stop real `python -m reference serve` processes for the reference tests.

Everything middleware-level must be seen through a real HTTP server: the ASGI
transport alone would hide exactly the bugs this project is about.

Redis for these tests and free ports come from the harness (``conformance.sut.providers.LocalRedis``,
``conformance.sut.ports.free_port``): one way to start redis-server, one ``free_port``. The reference's
own embedded Redis stays the reference's: a SUT does not depend on the harness that tests it.

The servers are deliberately not the harness's ``conformance.sut.process.ManagedProcess``:
that one stops a SUT by killing its whole process group, which would also kill
an orphaned ``redis-server`` and so hide exactly what the lifecycle tests look
for (``ServerProcess.stop`` records the survivors first, then kills them).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from conformance.sut.ports import free_port
from conformance.sut.providers import LocalRedis, local_redis_binary

# Generous: several servers boot at once on a busy 2-core machine.
STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0
FIXED_OTP = "123456"
SECRET = "k" * 24 + "-reference-tests-signing-key-0123456789"


def base_env(**extra: str) -> dict[str, str]:
    """The server's environment: ours minus any HealLog setting, plus the test defaults and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFERENCE_", "REDIS_", "SMTP_", "EMAIL_"))}
    for name in (
        "SECRET_KEY",
        "ENVIRONMENT",
        "DATABASE_URL",
        "DEBUG_JWT_DECODES",
        "ALLOWED_ORIGINS",
        "MAX_BODY_BYTES",
        "RATE_LIMIT_LOGIN",
        "RATE_LIMIT_REGISTER",
        "RATE_LIMIT_VERIFY_OTP",
        "RATE_LIMIT_REFRESH",
    ):
        env.pop(name, None)
    env.update(
        {
            "SECRET_KEY": SECRET,
            "REFERENCE_FIXED_OTP": FIXED_OTP,
            "DEBUG_JWT_DECODES": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class ServerProcess:
    data_dir: Path
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path = field(init=False)
    children: list[int] = field(default_factory=list)
    survivors: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "server.out"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        """Start the process without waiting (several servers can then boot in parallel)."""
        self.port = free_port()
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "reference",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> ServerProcess:
        """Wait for /health; on failure retry on another port (it may have been taken meanwhile)."""
        for attempt in range(3):
            if attempt:
                self.spawn()
            if self._wait_healthy():
                self.children = child_pids(self.process.pid)
                return self
            self.stop()
        raise RuntimeError(f"reference server did not start; output:\n{self.output()[-3000:]}")

    def start(self) -> ServerProcess:
        self.spawn()
        return self.wait_ready()

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(self.base_url + "/health", timeout=1).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return False

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_SECONDS)
        time.sleep(0.1)
        self.survivors = [pid for pid in self.children if is_alive(pid)]
        for pid in self.survivors:  # recorded for the tests, then never left behind
            os.kill(pid, signal.SIGKILL)
        return self.process.returncode

    def restart(self) -> None:
        self.stop()
        self.start()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_mark(self) -> int:
        return len(self.output().splitlines())

    def log_lines(self, since: int = 0) -> list[str]:
        return self.output().splitlines()[since:]

    def wait_for_log(self, text: str, since: int = 0, timeout: float = 10.0) -> list[str]:
        """The lines since `since`, once one contains `text` (lines are written after the response)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.log_lines(since)
            if any(text in line for line in lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def json_lines(self, since: int = 0) -> list[dict]:
        return [json.loads(line) for line in self.log_lines(since)]


def run_command(args: list[str], env: dict[str, str], timeout: float = 20.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reference", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def ExternalRedis(tmp_path) -> LocalRedis:  # noqa: N802 - reads like the class it was
    """A redis-server the test controls (stop/start on the same port and data): the harness's own provider."""
    return LocalRedis(local_redis_binary(), Path(tmp_path)).open()
