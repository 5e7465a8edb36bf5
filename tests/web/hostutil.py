"""Worker processes for tests that build a server's parts by hand (a connection, rooms)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson

from app.run.shelf import UploadFile
from app.web.driver import Driver
from app.web.sessions import SessionRegistry
from app.web.settings import Settings
from app.web.uploads import limits_of
from app.web.workers.pool import Workers
from tests.run.uploadutil import weather_csv


def small(settings: Settings) -> Settings:
    """The same settings with one worker of each kind, quick to start; the heavy one at the
    normal OS priority (a machine saturated by others would starve it)."""
    update = {"workers": 1, "heavy_workers": 1, "heavy_nice": 0, "light_nice": 0}
    return settings.model_copy(update=update)


@asynccontextmanager
async def running_workers(settings: Settings) -> AsyncIterator[Workers]:
    """A started pool of workers, stopped on exit."""
    workers = Workers(small(settings))
    await workers.start()
    try:
        yield workers
    finally:
        await workers.stop()


@asynccontextmanager
async def registry(settings: Settings, capacity: int = 10) -> AsyncIterator[SessionRegistry]:
    """A session registry over a started pool of workers."""
    async with running_workers(settings) as workers:
        yield SessionRegistry(capacity, workers)


async def upload_csv(driver: Driver) -> str:
    """Upload the weather series to the driver's session, as the upload route does; its id."""
    settings = driver.settings
    file = UploadFile("csv", weather_csv(), "weather.csv", limits_of(settings), capacity=4)
    reply = await driver.upload(file)
    assert reply.refusal is None and not reply.failed, reply
    upload_id: str = orjson.loads(reply.frames[0].data)["id"]
    return upload_id
