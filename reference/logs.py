"""Logging: every line on stdout is one JSON object with event, level and timestamp (LOG-2).

structlog and the standard library (uvicorn's loggers, warnings) share one
ProcessorFormatter, so third-party lines are rendered the same way; request-scoped
lines get `request_id` from structlog's contextvars.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from reference.masking import mask_sensitive

Processor = Callable[[Any, str, dict[str, Any]], Any]


@dataclass
class LogFormat:
    """Which processors run before rendering, and the renderer."""

    renderer: Processor = field(default_factory=lambda: structlog.processors.JSONRenderer(sort_keys=False))
    scrubbers: list[Processor] = field(default_factory=lambda: [mask_sensitive])


def configure_logging(log_format: LogFormat, *, level: int = logging.INFO) -> None:
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    pre_chain: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        timestamper,
    ]
    structlog.configure(
        processors=[*pre_chain, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            *log_format.scrubbers,
            log_format.renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "asyncio", "py.warnings"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.captureWarnings(True)


def get_logger(name: str = "heallog") -> Any:
    return structlog.get_logger(name)
