"""How uvicorn runs the app: one place for the CLI, the tests and the benchmarks."""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn
from fastapi import FastAPI

from app.web.settings import Settings

log = logging.getLogger("unroll.server")

FAREWELL_SECONDS = 1.0  # rooms ending and their viewers told, before uvicorn closes every socket
GRACEFUL_SECONDS = 0.5  # then for requests and sockets to finish, before they are cancelled


class UnrollServer(uvicorn.Server):
    """uvicorn's server, but the rooms say goodbye before it closes every socket.

    uvicorn closes websockets (1012) before the app hears of the shutdown, too late for a room
    to tell its students why. And a stop is bounded: `docker stop` waits 10 s, then kills.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        app = self.config.app
        try:
            async with asyncio.timeout(FAREWELL_SECONDS):
                if isinstance(app, FastAPI):
                    await app.state.rooms.farewell()
        except TimeoutError:
            log.warning("rooms did not finish saying goodbye in %s s", FAREWELL_SECONDS)
        await super().shutdown(sockets)


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
        # A stop is bounded (UnrollServer): requests still running after it are cancelled.
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
        **overrides,
    }
    config = uvicorn.Config(app, **options)  # type: ignore[arg-type]
    quiet_bad_text()  # after Config, which configures uvicorn's logging
    return config
