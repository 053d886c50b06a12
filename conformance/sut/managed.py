"""The managed target: the harness starts the SUT, its stores and an SMTP sink, and stops them all.

Layout of one run's temporary directory::

    hlc-run-<pid>-XXXX/   (pid: the harness's; the next run removes a SIGKILLed run's, see rundirs)
      data/        {data_dir} of the SUT (and of the peer: same stores)
      redis/       the local Redis's AOF and log (no Docker)
      sut.log      the SUT's stdout+stderr, across restarts (log_mark/log_lines)
      peer.log     the second instance's output
      conf-N/      CONF-1 starts: their own data dir and output

The SUT gets its settings as environment variables named by the profile's
``[config]`` (REDIS_URL, SMTP_HOST, ...), then ``--sut-env`` on top, and the
same values as ``{placeholders}`` of ``--sut-cmd`` (see ``process.PLACEHOLDERS``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from conformance import redaction
from conformance.outcomes import NotRun
from conformance.sut import health, rundirs
from conformance.sut.base import PrivilegedAccount, StartResult, Target
from conformance.sut.errors import TargetError
from conformance.sut.logs import LogFile
from conformance.sut.otp import CommandOtp, FixedOtp, MailboxOtp
from conformance.sut.ports import LOOPBACK, free_port, port_in_use_message
from conformance.sut.privileged import new_credentials, run_seed
from conformance.sut.process import PLACEHOLDERS, ManagedProcess, render_command
from conformance.sut.providers import ExistingStore, Service, check_services, start_service
from conformance.sut.smtp_sink import SmtpSink
from conformance.wire.target_watch import unwatched

if TYPE_CHECKING:
    from conformance.profile import Profile
    from conformance.sut import TargetSettings

DEFAULT_SUT_CMD = "{python} -m reference serve --host {host} --port {port} --data-dir {data_dir}"
DEFAULT_SEED_CMD = "{python} -m reference seed-user --email {email} --password-stdin --data-dir {data_dir}"
PORT_ATTEMPTS = 3
RUN_DIR_PREFIX = "hlc-run-"
STORE_NAMES = {"redis": "redis", "mongo": "mongo", "mongodb": "mongo"}


class ManagedTarget(Target):
    """The SUT as a child process of the harness, with every capability of :class:`Target`."""

    def __init__(self, settings: TargetSettings, profile: Profile) -> None:
        super().__init__(base_url="", profile=profile, mode="managed", jwt_secret=settings.jwt_secret)
        self.settings = settings
        self.sink = SmtpSink()  # nothing runs before start()
        self._otp = _otp_source(settings, self.sink, profile.accounts.otp_length)
        rundirs.sweep(RUN_DIR_PREFIX)  # what SIGKILLed runs left behind
        self.root = rundirs.new(RUN_DIR_PREFIX)
        self.data_dir = self.root / "data"
        self.data_dir.mkdir()
        self.services: dict[str, Service] = {}
        self.sut_cmd = settings.sut_cmd or DEFAULT_SUT_CMD
        self.startup_timeout = settings.startup_timeout
        self._main: ManagedProcess | None = None
        self._peer: ManagedProcess | None = None
        self._log = LogFile(self.root / "sut.log")
        self._lock = threading.RLock()
        self._privileged: dict[tuple[str | None, str | None], PrivilegedAccount] = {}
        self._conf_runs = 0
        #: Every SUT process made, so that close() stops one an interrupt caught before it was assigned.
        self._made: list[ManagedProcess] = []
        self._closed = False

    def __repr__(self) -> str:
        """Never the signing secret: reprs end up in failure reports."""
        return f"<{type(self).__name__} {self.base_url} {self.mode}>"

    @classmethod
    def open(cls, settings: TargetSettings, profile: Profile) -> ManagedTarget:
        """Start stores, SMTP sink and SUT; on any failure (Ctrl-C too) stop what already started."""
        services = check_settings(settings)
        target = cls(settings, profile)
        try:
            target._start(services)
        except BaseException:
            target.close()
            raise
        return target

    def _start(self, services: list[str]) -> None:
        given = given_stores(self.settings)
        for name in services:
            if name in given:
                self.services[name] = ExistingStore(name, given[name], f"--{name}-url")
            else:
                self.services[name] = start_service(name, self.root, self.settings.containers)
        self.sink.start()
        self.jwt_secret = self.jwt_secret or secrets.token_hex(32)
        redaction.register(self.jwt_secret, "signing secret")
        self._main = self._spawn(self.data_dir, self.root / "sut.log", name="the SUT")
        self.base_url = _url_of(self._main)
        with health.health_client(5.0) as client:
            wrong = health.surface_problem(client, self.base_url, self.profile)
        if wrong is not None:
            raise TargetError(f"the started SUT ({self.sut_cmd}): {wrong}")
        self.extra.update(
            data_dir=str(self.data_dir),
            log_file=str(self._log.path),
            smtp=f"{self.sink.host}:{self.sink.port}",
            **{f"{name}_url": service.url for name, service in self.services.items()},
            stores={name: service.describe() for name, service in self.services.items()},
        )

    # -- environment and command ------------------------------------------
    def sut_env(self, *, instrumented: bool = True) -> dict[str, str]:
        """The SUT's environment: inherited, then the profile's settings, then ``--sut-env``."""
        names, profile = self.profile.config, self.profile
        inherited = {k: v for k, v in os.environ.items() if k not in names.variable_names()}
        settings = {
            names.environment: "development",
            names.secret_key: self.jwt_secret,
            names.smtp_host: self.sink.host,
            names.smtp_port: str(self.sink.port),
            names.allowed_origins: profile.cors.allowed_origin,
            names.max_body_bytes: str(profile.limits.max_body_bytes),
            names.debug_decodes: "1" if instrumented else None,
            names.redis_url: self.services["redis"].url if "redis" in self.services else None,
            names.mongo_url: self.services["mongo"].url if "mongo" in self.services else None,
        }
        for operation, variable in names.rate_limits.items():
            rate = profile.rate_limits.of(operation)
            settings[variable] = str(rate) if rate is not None else None
        env = dict(inherited, PYTHONUNBUFFERED="1")
        env.update({name: value for name, value in settings.items() if value is not None})
        env.update(self.settings.sut_env or {})
        return env

    def placeholders(self, port: int, data_dir: Path) -> dict[str, object]:
        values: dict[str, object] = {
            "python": sys.executable,
            "host": LOOPBACK,
            "port": port,
            "data_dir": data_dir,
            "smtp_host": self.sink.host,
            "smtp_port": self.sink.port,
        }
        values.update({f"{name}_url": service.url for name, service in self.services.items()})
        return values

    def _spawn(self, data_dir: Path, log_path: Path, *, name: str, env: dict[str, str] | None = None) -> ManagedProcess:
        """Start one SUT process on a free port and wait until its health operation answers."""
        for attempt in range(PORT_ATTEMPTS):
            process = self._process(free_port(), data_dir, log_path, name=name, env=env)
            try:
                self._start_and_wait(process)
                return process
            except TargetError:
                process.stop()
                if attempt + 1 == PORT_ATTEMPTS or not port_in_use_message("\n".join(process.tail())):
                    raise
        raise AssertionError("unreachable")

    def _process(self, port: int, data_dir: Path, log_path: Path, *, name: str, env=None) -> ManagedProcess:
        command = render_command(self.sut_cmd, self.placeholders(port, data_dir))
        process = ManagedProcess(command, env=env or self.sut_env(), log_path=log_path, name=name, port=port)
        self._made.append(process)
        return process

    def _start_and_wait(self, process: ManagedProcess) -> None:
        process.start()
        url = health.health_url(_url_of(process), self.profile)
        method = health.health_method(self.profile)
        with health.health_client(2.0) as client:
            process.wait_ready(
                lambda: health.problem(client, method, url),
                timeout=self.startup_timeout,
                what=f"{method} {url} never answered 200 JSON",
            )

    def require(self, capability: str) -> None:
        """Managed mode has every capability, except stopping a store the run did not start."""
        if capability.startswith("store:"):
            store = self._store(capability.split(":", 1)[1])
            if isinstance(store, ExistingStore):
                store.stop()  # raises NotRun: the harness never stops a store it did not start

    # -- accounts -------------------------------------------------------
    def otp_code(self, email: str, *, timeout: float = 10.0) -> str:
        return self._otp.code(email, timeout)

    def privileged_account(self, *, plan: str | None = None, role: str | None = None) -> PrivilegedAccount:
        """A fresh verified account made by the seed command, one per (plan, role) and run."""
        template = self.settings.seed_cmd
        if template is None:
            if self.settings.sut_cmd and self.settings.sut_cmd != DEFAULT_SUT_CMD:
                raise NotRun("no seed command for this --sut-cmd", option="--seed-cmd")
            template = DEFAULT_SEED_CMD + (" --plan {plan}" if plan else "") + (" --role {role}" if role else "")
        with self._lock:
            if (plan, role) not in self._privileged:
                self._privileged[(plan, role)] = self._seed(template, plan, role)
            return self._privileged[(plan, role)]

    def _seed(self, template: str, plan: str | None, role: str | None) -> PrivilegedAccount:
        email, password = new_credentials("-".join(filter(None, (plan, role))) or "user")
        plan = plan or self.profile.accounts.default_plan
        role = role or self.profile.accounts.default_role
        port = self._main.port if self._main else 0
        values = dict(self.placeholders(port, self.data_dir), email=email, plan=plan, role=role)
        run_seed(template, values, password, env=self.sut_env())
        return PrivilegedAccount(email=email, password=password, plan=plan, role=role)

    # -- logs -----------------------------------------------------------
    def log_mark(self) -> int:
        return self._log.mark()

    def log_lines(self, since: int = 0, *, settle: float = 0.3) -> list[str]:
        return self._log.lines(since, settle=settle)

    # -- process control --------------------------------------------------
    @unwatched
    def restart(self) -> None:
        """Stop the SUT and start it again on the same port, data dir and stores."""
        with self._lock:
            assert self._main is not None, "not started"
            self._main.stop()
            for attempt in range(PORT_ATTEMPTS):
                try:
                    self._start_and_wait(self._main)
                    return
                except TargetError:
                    self._main.stop()
                    if attempt + 1 == PORT_ATTEMPTS or not port_in_use_message("\n".join(self._main.tail())):
                        raise
                    time.sleep(0.5)

    def peer_url(self) -> str:
        """A second SUT process on the same data dir and stores, started on first use."""
        with self._lock:
            if self._peer is None or not self._peer.running:
                if self._peer is not None:
                    self._peer.stop()
                self._peer = self._spawn(self.data_dir, self.root / "peer.log", name="the peer SUT")
            return _url_of(self._peer)

    def stop_store(self, name: str = "redis") -> None:
        self._store(name).stop()

    def start_store(self, name: str = "redis") -> None:
        self._store(name).start()

    def _store(self, name: str) -> Service:
        service = self.services.get(STORE_NAMES.get(name, name))
        if service is None:
            raise NotRun(f"this run started no {name} store", option=f"--services {name}")
        return service

    def start_with(self, env: dict[str, str], *, timeout: float = 10.0) -> StartResult:
        """Start a fresh SUT (own data dir) with ``env`` added; it is always stopped again.

        The base environment is the run's without the debug instrumentation, so
        that ``env`` alone decides the configuration under test; a value of
        ``None`` removes a variable.
        """
        with self._lock:
            self._conf_runs += 1
            where = self.root / f"conf-{self._conf_runs}"
        data_dir = where / "data"
        data_dir.mkdir(parents=True)
        full_env = self.sut_env(instrumented=False)
        for key, value in env.items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        for attempt in range(PORT_ATTEMPTS):
            log_path = where / f"output-{attempt}.log"
            process = self._process(free_port(), data_dir, log_path, name="the SUT (configuration start)", env=full_env)
            started = time.monotonic()
            try:
                process.start()
                code = _exit_or_ready(process, self.profile, timeout)
            finally:
                process.stop()
            seconds = time.monotonic() - started
            output = process.output()
            if code is not None and code != 0 and port_in_use_message(output) and attempt + 1 < PORT_ATTEMPTS:
                continue
            return StartResult(exit_code=code, output=output, seconds=seconds)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop every process, the sink and the stores, then remove the run's directory."""
        if self._closed:
            return
        self._closed = True
        for process in (self._peer, self._main, *self._made):  # stop() is idempotent
            if process is not None:
                _quietly(process.stop)
        _quietly(self.sink.stop)
        for service in reversed(list(self.services.values())):
            _quietly(service.close)
        shutil.rmtree(self.root, ignore_errors=True)


def check_settings(settings: TargetSettings) -> list[str]:
    """The services to start; :class:`TargetError` on a placeholder typo or a service this machine cannot give."""
    services = list(settings.services)
    _check_command(settings.sut_cmd or DEFAULT_SUT_CMD, services)  # first: it asks no Docker engine
    check_services(services, given_stores(settings), settings.containers)
    return services


def given_stores(settings: TargetSettings) -> dict[str, str]:
    """The stores the run was given instead of starting them (CI service containers)."""
    return {name: url for name, url in (("redis", settings.redis_url), ("mongo", settings.mongo_url)) if url}


def _check_command(template: str, services: list[str]) -> None:
    """Fail before anything starts on a placeholder typo or a store the command wants but will not get."""
    for name in ("redis", "mongo"):
        if "{" + name + "_url}" in template and name not in services:
            raise TargetError(f"--sut-cmd uses {{{name}_url}}, but --services does not include {name}")
    dummy = {name: "" for name in PLACEHOLDERS if not name.endswith("_url")}
    render_command(template, dummy | {f"{name}_url": "" for name in services})


def _exit_or_ready(process: ManagedProcess, profile: Profile, timeout: float) -> int | None:
    """The exit code if the process exits within ``timeout`` s; ``None`` once it is ready or still running."""
    url = health.health_url(_url_of(process), profile)
    method = health.health_method(profile)
    deadline = time.monotonic() + timeout
    with health.health_client(1.0) as client:
        while time.monotonic() < deadline:
            code = process.wait_exit(0.1)
            if code is not None:
                return code
            if health.problem(client, method, url) is None:
                return None
    return process.wait_exit(0)


def _url_of(process: ManagedProcess) -> str:
    return f"http://{LOOPBACK}:{process.port}"


def _otp_source(settings: TargetSettings, sink: SmtpSink, length: int):
    if settings.fixed_otp:
        return FixedOtp(settings.fixed_otp)
    if settings.otp_cmd:
        return CommandOtp(settings.otp_cmd, length)
    return MailboxOtp(sink, length)


def _quietly(action) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001 - closing must go on with the rest
        pass
