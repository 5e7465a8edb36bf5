"""Pages that turn the playground's machinery into lessons: gradient lab, gallery, guided cards."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.web.pages import render

router = APIRouter()


def _page(request: Request, name: str) -> Response:
    return render(request, name, {})


@router.get("/lab", response_class=HTMLResponse, include_in_schema=False)
async def gradient_lab(request: Request) -> Response:
    """The gradient lab: why gradients vanish or explode (Pascanu, Mikolov & Bengio 2013)."""
    return _page(request, "lab.html")


@router.get("/gallery", response_class=HTMLResponse, include_in_schema=False)
async def gallery(request: Request) -> Response:
    """The four architectures of the lessons, each a small live unrolled diagram."""
    return _page(request, "gallery.html")


@router.get("/lessons", response_class=HTMLResponse, include_in_schema=False)
async def lessons(request: Request) -> Response:
    """Guided lesson cards over the playground's views; the card number lives in the URL."""
    return _page(request, "lessons.html")
