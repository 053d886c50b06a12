"""The Redis image built here (``FROM scratch``, the packaged redis-server and what ``ldd`` lists): its context."""

from __future__ import annotations

import os

from conformance.sut import redis_image
from conformance.sut.providers import local_redis_binary

LDD = """\tlinux-vdso.so.1 (0x00007ffd5a1f2000)
\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f3b96305000)
\tlibpthread.so.0 => /lib/x86_64-linux-gnu/libpthread.so.0 (0x00007f3b962f6000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3b96114000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f3b963f9000)
"""


def test_the_libraries_and_the_loader_are_read_from_ldd_but_not_the_vdso():
    assert redis_image.shared_libraries(LDD) == [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/x86_64-linux-gnu/libpthread.so.0",
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/ld-linux-x86-64.so.2",
    ]
    assert redis_image.shared_libraries("\tnot a dynamic executable\n") == []


def test_the_context_holds_the_binary_its_libraries_and_a_scratch_dockerfile(tmp_path):
    binary = local_redis_binary()
    redis_image.build_context(binary, tmp_path)
    dockerfile = (tmp_path / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM scratch\n") and 'ENTRYPOINT ["/usr/local/bin/redis-server"]' in dockerfile
    packaged = tmp_path / "rootfs/usr/local/bin/redis-server"
    assert packaged.is_file() and os.access(packaged, os.X_OK)
    libraries = [path for path in (tmp_path / "rootfs").rglob("*") if path.is_file() and path != packaged]
    assert any(path.name.startswith("ld-linux") for path in libraries), "the loader"
    assert any(path.name.startswith("libc.so") for path in libraries)
    assert not any(path.is_symlink() for path in (tmp_path / "rootfs").rglob("*")), "files, not links to the host"


def test_the_default_tag_names_the_packaged_version():
    tag = redis_image.default_tag(local_redis_binary())
    assert tag.startswith("hlc-redis:") and tag.endswith("-local") and "unknown" not in tag
