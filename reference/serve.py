"""`python -m reference serve`: configuration, defects, logging, Redis, then uvicorn.

The configuration is checked before the application stack is imported, so a
refused production start exits quickly even on a busy machine.
"""

from __future__ import annotations

import json
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path

from reference.config import ConfigError, Settings, resolve_database_url, resolve_secret, validate
from reference.defects import DefectError, production_checks


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def fail(message: str) -> int:
    """Report a start-up failure as a JSON line on stderr (logging is not configured yet)."""
    line = {
        "event": "startup failed", "level": "error", "error": message,
        "timestamp": datetime.now(timezone.utc).isoformat(),
    }
    print(json.dumps(line), file=sys.stderr, flush=True)
    return 2


def load_settings() -> Settings:
    settings = Settings()
    validate(settings, production_checks(settings.defect_names))
    return settings


def serve(host: str, port: int, data_dir: Path) -> int:
    try:
        settings = load_settings()
    except (ConfigError, DefectError) as exc:
        return fail(str(exc))
    except ValueError as exc:  # pydantic-settings: a value of the wrong type
        return fail("invalid configuration: " + " ".join(str(exc).split()))
    data_dir.mkdir(parents=True, exist_ok=True)

    import uvicorn

    from reference.app import create_app
    from reference.defects import build_components
    from reference.embedded_redis import EmbeddedRedis, RedisStartError
    from reference.logs import configure_logging, get_logger
    from reference.services import build_services

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
        services = build_services(
            settings, components,
            secret=resolve_secret(settings, data_dir),
            database_url=resolve_database_url(settings, data_dir),
            redis_url=redis_url,
        )
        app = create_app(components, services)
        log.info("starting", host=host, port=port, environment=settings.environment,
                 defects=list(settings.defect_names))
        # uvicorn re-raises the signal it caught once it has shut down; with this handler that
        # becomes SystemExit, so the `finally` below still stops the embedded Redis.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        uvicorn.run(
            app, host=host, port=port, log_config=None, access_log=False,
            server_header=False, timeout_graceful_shutdown=5,
        )
        return 0
    except RedisStartError as exc:
        log.error("startup failed", error=str(exc))
        return 2
    finally:
        if embedded is not None:
            embedded.stop()
            log.info("embedded redis stopped")
