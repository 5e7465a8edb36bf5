"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.web import api, catalog, classroom, lesson_pages, live, pages
from app.web.broker import make_broker
from app.web.paths import asset_dir
from app.web.rooms.registry import Rooms
from app.web.sessions import SessionRegistry
from app.web.settings import Settings, get_settings
from app.web.workers.pool import Workers


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the workers and connect the rooms' broker; at shutdown end this process's rooms
    politely, then stop the workers."""
    await app.state.workers.start()
    try:
        await app.state.rooms.start()
        try:
            yield
        finally:
            await app.state.rooms.stop()
    finally:
        await app.state.workers.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: pages, JSON API, the live websockets (playground and rooms), static files."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Unroll", version=__version__, docs_url="/api/docs", redoc_url=None, lifespan=lifespan
    )
    app.state.settings = settings
    app.state.workers = Workers(settings)
    app.state.sessions = SessionRegistry(settings.max_sessions, app.state.workers)
    app.state.rooms = Rooms(settings, app.state.sessions, make_broker(settings.redis_url))
    app.include_router(pages.router)
    app.include_router(lesson_pages.router)
    app.include_router(api.router)
    app.include_router(catalog.router)
    app.include_router(live.router)
    app.include_router(classroom.router)
    app.mount("/static", StaticFiles(directory=asset_dir("static")), name="static")
    return app
