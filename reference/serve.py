"""`python -m reference serve`: configuration, defects, logging, Redis, then uvicorn.

The configuration is checked before the application stack is imported, so a
refused production start exits quickly even on a busy machine.

`--workers N` (N > 1) runs N server processes on one listening socket, under
uvicorn's own supervisor (it replaces a worker that dies and stops them all on
SIGTERM or SIGINT). This process does what must happen once: it checks the
configuration, starts the embedded Redis, creates the signing secret and the
SQLite schema, then hands the data dir and the Redis URL to the workers in
their environment. Everything the workers share already lives outside them:
revocations, lockout counters, rate-limit windows and the list cache in Redis
(atomic scripts and INCR), users, patients and the patient-id counter in
SQLite (WAL, a busy timeout, and write transactions that begin IMMEDIATE, see
reference.db). Each worker asks the kernel for SIGTERM when this process dies
(PR_SET_PDEATHSIG), like the embedded Redis, so none outlives a SIGKILL.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reference.config import ConfigError, Settings, resolve_database_url, resolve_secret, validate
from reference.defects import DefectError, production_checks

#: Environment variable that tells a worker process where the data dir is (set by the parent only).
WORKER_DATA_DIR = "REFERENCE_WORKER_DATA_DIR"
PR_SET_PDEATHSIG = 1
GRACEFUL_SHUTDOWN_SECONDS = 5


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def fail(message: str) -> int:
    """Report a start-up failure as a JSON line on stderr (logging is not configured yet)."""
    line = {
        "event": "startup failed",
        "level": "error",
        "error": message,
        "timestamp": datetime.now(UTC).isoformat(),
    }
    print(json.dumps(line), file=sys.stderr, flush=True)
    return 2


def load_settings() -> Settings:
    settings = Settings()
    validate(settings, production_checks(settings.defect_names))
    return settings


def build_app(settings: Settings, components: Any, data_dir: Path, redis_url: str) -> Any:
    """The application with its services (one set per process: connections are not shared across processes)."""
    from reference.app import create_app
    from reference.services import build_services

    services = build_services(
        settings,
        components,
        secret=resolve_secret(settings, data_dir),
        database_url=resolve_database_url(settings, data_dir),
        redis_url=redis_url,
    )
    return create_app(components, services)


def worker_app() -> Any:
    """The app factory of one worker process of `--workers N` (uvicorn imports it by name)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    from reference.defects import build_components
    from reference.logs import configure_logging

    settings = load_settings()
    components = build_components(settings.defect_names)
    configure_logging(components.log_format)
    # uvicorn switched its access log off before calling this factory, and configure_logging
    # just routed it to the root again: off once more (its lines would carry query strings).
    access = logging.getLogger("uvicorn.access")
    access.handlers, access.propagate = [], False
    return build_app(settings, components, Path(os.environ[WORKER_DATA_DIR]), str(settings.redis_url))


async def _create_schema(database_url: str) -> None:
    from reference.db import Database

    db = Database(database_url)
    try:
        await db.create_schema()
    finally:
        await db.close()


def serve(host: str, port: int, data_dir: Path, workers: int = 1) -> int:
    try:
        settings = load_settings()
    except (ConfigError, DefectError) as exc:
        return fail(str(exc))
    except ValueError as exc:  # pydantic-settings: a value of the wrong type
        return fail("invalid configuration: " + " ".join(str(exc).split()))
    if workers < 1:
        return fail(f"--workers must be at least 1, got {workers}")
    data_dir.mkdir(parents=True, exist_ok=True)

    import uvicorn

    from reference.defects import build_components
    from reference.embedded_redis import EmbeddedRedis, RedisStartError
    from reference.logs import configure_logging, get_logger

    components = build_components(settings.defect_names)
    configure_logging(components.log_format)
    log = get_logger("heallog.serve")
    embedded = None
    redis_url = settings.redis_url
    try:
        if redis_url is None:
            embedded = EmbeddedRedis(data_dir)
            embedded.start()
            redis_url = embedded.url
            log.info("embedded redis started", port=embedded.port)
        if workers > 1:
            log.info(
                "starting",
                host=host,
                port=port,
                environment=settings.environment,
                defects=list(settings.defect_names),
                workers=workers,
            )
            return _serve_workers(host, port, data_dir, workers, settings, redis_url, log)
        app = build_app(settings, components, data_dir, redis_url)
        log.info(
            "starting", host=host, port=port, environment=settings.environment, defects=list(settings.defect_names)
        )
        # uvicorn re-raises the signal it caught once it has shut down; with this handler that
        # becomes SystemExit, so the `finally` below still stops the embedded Redis.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        return 0
    except RedisStartError as exc:
        log.error("startup failed", error=str(exc))
        return 2
    finally:
        if embedded is not None:
            embedded.stop()
            log.info("embedded redis stopped")


def _serve_workers(
    host: str, port: int, data_dir: Path, workers: int, settings: Settings, redis_url: str, log: Any
) -> int:
    """Run `workers` server processes under uvicorn's supervisor; 2 if one of them could not start."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    resolve_secret(settings, data_dir)  # generated once, here, if it must be: every worker reads the same file
    asyncio.run(_create_schema(resolve_database_url(settings, data_dir)))
    os.environ[WORKER_DATA_DIR] = str(data_dir.resolve())
    os.environ["REDIS_URL"] = redis_url
    config = uvicorn.Config(
        "reference.serve:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = [process.pid for process in supervisor.processes if process.exitcode == STARTUP_FAILURE]
    if failed:
        log.error("startup failed", error=f"worker process(es) {failed} could not start")
        return 2
    return 0
