"""Pages that turn the playground's machinery into lessons: gradient lab, gallery, guided cards."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app import __version__
from app.web.pages import templates

router = APIRouter()


def _page(request: Request, name: str) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"version": __version__})


@router.get("/lab", response_class=HTMLResponse, include_in_schema=False)
async def gradient_lab(request: Request) -> HTMLResponse:
    """The gradient lab: why gradients vanish or explode (Pascanu, Mikolov & Bengio 2013)."""
    return _page(request, "lab.html")


@router.get("/gallery", response_class=HTMLResponse, include_in_schema=False)
async def gallery(request: Request) -> HTMLResponse:
    """The four architectures of the lessons, each a small live unrolled diagram."""
    return _page(request, "gallery.html")


@router.get("/lessons", response_class=HTMLResponse, include_in_schema=False)
async def lessons(request: Request) -> HTMLResponse:
    """Guided lesson cards over the playground's views; the card number lives in the URL."""
    return _page(request, "lessons.html")
