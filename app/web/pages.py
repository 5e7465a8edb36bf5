"""HTML pages and the assets they load (all served locally: a classroom may have no internet)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app.web.paths import asset_dir, plotly_js

router = APIRouter()
templates = Jinja2Templates(directory=str(asset_dir("templates")))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def playground(request: Request) -> HTMLResponse:
    """The playground: watch an RNN unroll, predict and learn.

    ?presenter=1 and ?embed=1 are applied to the page as served, so it never flashes the
    full layout before the script applies them.
    """
    flags = {name: request.query_params.get(name) == "1" for name in ("presenter", "embed")}
    return templates.TemplateResponse(request, "playground.html", {"version": __version__, **flags})


@router.get("/vendor/plotly.min.js", include_in_schema=False)
async def plotly_bundle() -> FileResponse:
    """plotly.js from the installed `plotly` package."""
    return FileResponse(
        plotly_js(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )
