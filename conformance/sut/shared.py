"""One managed target for a parallel run (pytest-xdist): the controller owns it, the workers attach.

The controller process starts a :class:`TargetServer` (a ``multiprocessing``
listener on loopback with a random key) when the run is distributed; it opens
the target only when the first worker asks for it (a worker asks once it has
collected a test with a requirement, so ``pytest tests -n 2`` starts no SUT).
Each worker gets an :class:`AttachedTarget`: the same base URL and signing
secret, and every capability (one-time codes from the controller's mailbox,
seeded accounts, logs, restart, the peer, store outages, configuration starts)
forwarded to the controller, which alone starts and stops processes.

Tests with global side effects (a restart, a store outage) take the run's
:class:`ExclusiveLock`, so that no other worker's test runs meanwhile.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import threading
from collections.abc import Callable
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener
from pathlib import Path
from typing import Any

from conformance.sut.base import PrivilegedAccount, StartResult, Target
from conformance.wire.target_watch import unwatched

#: What a worker may ask of the controller's target.
FORWARDED = (
    "otp_code",
    "privileged_account",
    "log_mark",
    "log_lines",
    "restart",
    "peer_url",
    "stop_store",
    "start_store",
    "start_with",
    "require",
)


class TargetServer:
    """The controller's side: serves the one target to the workers, opening it on the first request."""

    def __init__(self, open_target: Callable[[], Target], lock_dir: Path) -> None:
        self._open_target = open_target
        self._target: Target | None = None
        self._open_lock = threading.Lock()
        self.authkey = secrets.token_bytes(16)
        self._listener = Listener(("127.0.0.1", 0), authkey=self.authkey)
        self.address = self._listener.address
        self.lock_path = lock_dir / "exclusive.lock"
        self._stopping = False
        threading.Thread(target=self._accept, name="conformance-target-server", daemon=True).start()

    @property
    def target(self) -> Target | None:
        return self._target

    def worker_input(self) -> dict[str, Any]:
        return {"address": list(self.address), "authkey": self.authkey.hex(), "lock": str(self.lock_path)}

    def _accept(self) -> None:
        while not self._stopping:
            try:
                connection = self._listener.accept()
            except (EOFError, AuthenticationError):
                continue  # a worker gone mid-handshake, a stray local connection: keep serving the others
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: Any) -> None:
        with connection:
            while True:
                try:
                    name, args, kwargs = connection.recv()
                except (EOFError, OSError):
                    return
                try:
                    result = ("ok", self._call(name, args, kwargs))
                except BaseException as exc:  # noqa: BLE001 - every outcome goes back to the worker
                    result = ("raise", exc)
                try:
                    connection.send(result)
                except (OSError, TypeError, AttributeError):  # an exception that does not pickle
                    connection.send(("raise", RuntimeError(f"{type(result[1]).__name__}: {result[1]}")))

    def _call(self, name: str, args: tuple, kwargs: dict) -> Any:
        target = self.open()
        if name == "attach":
            return {
                "base_url": target.base_url,
                "mode": target.mode,
                "jwt_secret": target.jwt_secret,
                "extra": dict(target.extra),
                "startup_timeout": getattr(target, "startup_timeout", None),
            }
        if name not in FORWARDED:
            raise AttributeError(f"the shared target does not forward {name!r}")
        return getattr(target, name)(*args, **kwargs)

    def open(self) -> Target:
        with self._open_lock:
            if self._target is None:
                self._target = self._open_target()
            return self._target

    def close(self) -> None:
        self._stopping = True
        self._listener.close()
        if self._target is not None:
            self._target.close()
            self._target = None


class AttachedTarget(Target):
    """A worker's view of the controller's target; capabilities are forwarded to the controller."""

    def __init__(self, profile: Any, worker_input: dict[str, Any]) -> None:
        self._connection = Client(tuple(worker_input["address"]), authkey=bytes.fromhex(worker_input["authkey"]))
        self._lock = threading.Lock()
        attached = self._ask("attach")
        super().__init__(
            base_url=attached["base_url"],
            profile=profile,
            mode=attached["mode"],
            jwt_secret=attached["jwt_secret"],
            extra=attached["extra"],
        )
        self.startup_timeout = attached["startup_timeout"]

    def __repr__(self) -> str:
        return f"<AttachedTarget {self.base_url} {self.mode}>"

    def _ask(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._connection.send((name, args, kwargs))
            kind, value = self._connection.recv()
        if kind == "raise":
            raise value
        return value

    def otp_code(self, email: str, *, timeout: float = 10.0) -> str:
        return self._ask("otp_code", email, timeout=timeout)

    def privileged_account(self, *, plan: str | None = None, role: str | None = None) -> PrivilegedAccount:
        return self._ask("privileged_account", plan=plan, role=role)

    def log_mark(self) -> int:
        return self._ask("log_mark")

    def log_lines(self, since: int = 0, *, settle: float = 0.3) -> list[str]:
        return self._ask("log_lines", since, settle=settle)

    @unwatched
    def restart(self) -> None:
        self._ask("restart")

    def peer_url(self) -> str:
        return self._ask("peer_url")

    def stop_store(self, name: str = "redis") -> None:
        self._ask("stop_store", name)

    def start_store(self, name: str = "redis") -> None:
        self._ask("start_store", name)

    def start_with(self, env: dict[str, str], *, timeout: float = 10.0) -> StartResult:
        return self._ask("start_with", env, timeout=timeout)

    def require(self, capability: str) -> None:
        self._ask("require", capability)

    def close(self) -> None:
        """The controller closes the target; a worker only hangs up."""
        self._connection.close()


class ExclusiveLock:
    """A readers-writer lock over a file shared by the workers: ordinary tests share it, a test with global
    side effects holds it alone. A turnstile lock keeps new readers out while a writer waits."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._turnstile = Path(f"{path}.turnstile")
        self._fd: int | None = None

    def acquire(self, exclusive: bool) -> None:
        turnstile = os.open(self._turnstile, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(turnstile, fcntl.LOCK_EX)
            self._fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            if not exclusive:
                fcntl.flock(turnstile, fcntl.LOCK_UN)  # a reader passes the turnstile at once
            fcntl.flock(self._fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            os.close(turnstile)  # a writer holds the turnstile only until it holds the lock itself

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
