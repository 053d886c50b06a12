"""The testcontainers path against a real Docker engine (scripts/testcontainers_lane.py starts a private one).

Without an engine every test here is skipped, saying so. With one, the Redis
image is the lane's (``HLC_LANE_REDIS_IMAGE``) or built here from the packaged
redis-server (``FROM scratch``, no pull): no test contacts a registry. An image
that cannot be had is named with a registry on a loopback port where nothing
listens.
"""

from __future__ import annotations

import os

import pytest
import redis

from conformance.sut import TargetError
from conformance.sut.providers import (
    ContainerRedis,
    Containers,
    LocalRedis,
    check_services,
    docker_available,
    start_redis,
)

pytestmark = pytest.mark.skipif(not docker_available(), reason="no Docker engine answers (the CI lane starts one)")
ABSENT = "127.0.0.1:9/hlc-absent:test"  # a pull fails at once: nothing listens on port 9


@pytest.fixture(scope="module")
def engine():
    import docker

    return docker.from_env()


@pytest.fixture(scope="module")
def image(engine) -> str:
    from conformance.sut import redis_image

    return os.environ.get("HLC_LANE_REDIS_IMAGE") or redis_image.build(engine)


@pytest.fixture(autouse=True)
def ryuk_disabled(monkeypatch):
    """Ryuk's image is not on a private engine, and cannot be pulled."""
    from testcontainers.core.config import testcontainers_config

    monkeypatch.setattr(testcontainers_config, "_ryuk_disabled", True)


@pytest.fixture
def no_pull(monkeypatch):
    """Any pull fails the test: an image that is present is never pulled."""
    from docker.models.images import ImageCollection

    def pull(self, repository, tag=None, **kwargs):
        raise AssertionError(f"pulled {repository}:{tag}")

    monkeypatch.setattr(ImageCollection, "pull", pull)


def client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def test_container_redis_keeps_port_and_data_across_stop_and_start_and_close_removes_it(engine, image, no_pull):
    service = ContainerRedis(image, "host").open()
    try:
        url = service.url
        assert url.startswith("redis://127.0.0.1:"), "host network: a loopback port of its own"
        client(url).set("revoked:abc", "1")
        service.stop()
        with pytest.raises(redis.ConnectionError):
            client(url).ping()
        service.start()
        assert service.url == url
        assert client(url).get("revoked:abc") == b"1", "AOF: the outage keeps the data"
        ours = [c for c in engine.containers.list(all=True) if c.image.tags and c.image.tags[0] == image]
        assert ours and ours[0].attrs["HostConfig"]["NetworkMode"] == "host"
    finally:
        service.close()
    assert not service.running
    assert not [c for c in engine.containers.list(all=True) if image in c.image.tags], "close() removes it"


def test_the_provider_chain_uses_a_present_image_without_pulling_and_says_so(tmp_path, image, no_pull):
    service = start_redis(tmp_path, Containers(redis_image=image))
    try:
        assert isinstance(service, ContainerRedis)
        assert service.describe() == {"provider": f"testcontainers {image}"}
        assert client(service.url).ping()
    finally:
        service.close()


def test_an_image_that_cannot_be_had_is_one_line_then_the_local_binary(tmp_path):
    service = start_redis(tmp_path, Containers(redis_image=ABSENT))
    try:
        assert isinstance(service, LocalRedis)
        assert service.provider == "local binary"
        assert service.note.startswith(f"the image {ABSENT} is not on the Docker engine at ")
        assert "could not be pulled (" in service.note and "give it with --redis-image" in service.note
        assert "\n" not in service.note
        assert client(service.url).ping()
    finally:
        service.close()


def test_mongo_with_an_image_that_cannot_be_had_is_refused_in_one_line_naming_it():
    with pytest.raises(TargetError) as refused:
        check_services(["mongo"], containers=Containers(mongo_image=ABSENT))
    message = str(refused.value)
    assert message.startswith(f"--services mongo: the image {ABSENT} is not on the Docker engine")
    assert "--mongo-image" in message and "--mongo-url" in message and "\n" not in message
