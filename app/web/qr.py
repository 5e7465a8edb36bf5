"""QR codes of join links, drawn by the server (segno: pure Python, no outside service)."""

from __future__ import annotations

import io
from functools import lru_cache

import segno


@lru_cache(maxsize=256)
def qr_svg(text: str) -> bytes:
    """`text` as a QR code: SVG with a white quiet zone, scaling to whatever size it is shown at."""
    code = segno.make(text, error="m", micro=False)  # M: still reads with 15% of it smudged
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        scale=1,
        border=4,  # the quiet zone the standard asks for
        dark="#000",
        light="#fff",
        omitsize=True,  # a viewBox only: the page decides the size
        xmldecl=False,
        title="QR code: " + text,
    )
    return buffer.getvalue()
