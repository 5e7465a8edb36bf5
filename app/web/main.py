"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.web import api, catalog, classroom, lesson_pages, live, pages, uploads
from app.web.assets import IMMUTABLE, REVALIDATE, load_assets
from app.web.broker import make_broker
from app.web.edges import Edges
from app.web.hosts import HostPolicy
from app.web.paths import asset_dir
from app.web.rooms.registry import Rooms
from app.web.sessions import SessionRegistry
from app.web.settings import Settings, get_settings
from app.web.throttle import RoomLimits
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
        title="Unroll", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan
    )  # the API docs page is api.py's, with a policy of its own
    app.state.settings = settings
    app.state.hosts = HostPolicy(settings)
    app.add_middleware(Edges, settings=settings, hosts=app.state.hosts)
    app.state.workers = Workers(settings)
    app.state.sessions = SessionRegistry(settings.max_sessions, app.state.workers)
    app.state.room_limits = RoomLimits(settings)
    app.state.rooms = Rooms(settings, app.state.sessions, make_broker(settings.redis_url))
    app.include_router(pages.router)
    app.include_router(lesson_pages.router)
    app.include_router(api.router)
    app.include_router(catalog.router)
    app.include_router(live.router)
    app.include_router(classroom.router)
    app.include_router(uploads.router)
    # Pages link /static/<version>/... (url_for "static"): cached for good, as any change to the
    # tree changes the version. The plain /static/... answers too, revalidated by its ETag.
    assets = load_assets(asset_dir("static"))
    app.mount(f"/static/{assets.version}", assets.app(IMMUTABLE), name="static")
    app.mount("/static", assets.app(REVALIDATE), name="static-latest")
    return app
