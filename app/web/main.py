"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.web import api, live, pages
from app.web.paths import asset_dir
from app.web.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: pages, JSON API, the live websocket and static files."""
    settings = settings or get_settings()
    app = FastAPI(title="Unroll", version=__version__, docs_url="/api/docs", redoc_url=None)
    app.state.settings = settings
    app.state.sessions = live.SessionRegistry(settings.max_sessions)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(directory=asset_dir("static")), name="static")
    return app
