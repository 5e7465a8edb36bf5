"""What a room tells people: where to join it, and why it closed."""

from __future__ import annotations

from app import protocol as p
from app.web.settings import Settings


def public_base(url: object, settings: Settings) -> str:
    """Where students reach this server: the configured public URL, else the request's origin."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    text = str(url)
    scheme, _, rest = text.partition("://")
    host = rest.split("/", 1)[0]
    return f"{'https' if scheme in ('https', 'wss') else 'http'}://{host}"


def join_url(base: str, code: str) -> str:
    """The student page of a room."""
    return f"{base}/room/{code}"


def closed_data(code: str, reason: str) -> str:
    """Why a room's viewers are being let go: the room_closed frame, encoded."""
    messages = {
        "ended": f"The teacher ended room {code}.",
        "expired": f"Room {code} was idle for too long and has closed.",
        "not_found": f"There is no room {code}: check the code; it may have ended.",
    }
    frame = p.RoomClosed.model_validate(
        {"code": code, "reason": reason, "message": messages[reason]}
    )
    return p.encode(frame).decode()
