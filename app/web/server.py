"""How uvicorn runs the app: one place for the CLI, the tests and the benchmarks."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI

from app.web.settings import Settings


class OneLineForBadText(logging.Filter):
    """A text frame that is not UTF-8: uvicorn closes the socket (1007) and logs a traceback of
    the decode error; one line says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], UnicodeDecodeError):
            record.msg, record.args = "closed a websocket (1007): a text frame was not UTF-8", ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_bad_text() -> None:
    """Install the filter on the logger uvicorn's websocket protocols use (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, OneLineForBadText) for f in logger.filters):
        logger.addFilter(OneLineForBadText())


def uvicorn_config(app: FastAPI, settings: Settings, **overrides: object) -> uvicorn.Config:
    """uvicorn settings tuned for streaming small float frames to many clients."""
    options: dict[str, object] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        # Per-message deflate costs 6-20x throughput for float frames and barely shrinks them.
        "ws_per_message_deflate": False,
        # Protocol-level cap; the app refuses anything over its own limits with a typed error.
        "ws_max_size": max(settings.max_message_bytes, settings.max_import_bytes) + 1024,
        # Keepalive: a client that stops answering pings is closed and its session freed.
        "ws_ping_interval": settings.keepalive_seconds,
        "ws_ping_timeout": settings.keepalive_seconds,
        **overrides,
    }
    config = uvicorn.Config(app, **options)  # type: ignore[arg-type]
    quiet_bad_text()  # after Config, which configures uvicorn's logging
    return config
