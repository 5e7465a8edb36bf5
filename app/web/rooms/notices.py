"""What a room tells people: where to join it, and why it closed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import protocol as p
from app.web.lan import join_bases
from app.web.settings import Settings


@dataclass(frozen=True)
class JoinInfo:
    """How students join a room: the best link, every link, and why none may work."""

    url: str
    urls: list[str]
    hint: str | None

    def fields(self) -> dict[str, Any]:
        """As the room frame (and the room's HTTP answers) carry it."""
        return {"join_url": self.url, "join_urls": self.urls, "join_hint": self.hint}


def join_info(url: object, settings: Settings, code: str) -> JoinInfo:
    """The join links of room `code` for someone who reached this server at `url`."""
    found = join_bases(url, settings)
    urls = [join_url(base, code) for base in found.bases]
    return JoinInfo(urls[0], urls, found.hint)


def teacher_frame(url: object, settings: Settings, code: str, students: int) -> p.RoomFrame:
    """What a teacher's page shows about the room, for a teacher who reached us at `url`."""
    join = join_info(url, settings, code)
    return p.RoomFrame(code=code, role="teacher", students=students, **join.fields())


def join_url(base: str, code: str) -> str:
    """The student page of a room."""
    return f"{base}/room/{code}"


def closed_data(code: str, reason: str) -> str:
    """Why a room's viewers are being let go: the room_closed frame, encoded."""
    messages = {
        "ended": f"The teacher ended room {code}.",
        "expired": f"Room {code} was idle for too long and has closed.",
        "not_found": f"There is no room {code}: check the code; it may have ended.",
        "stopped": f"The server running room {code} stopped, so the room has ended.",
    }
    frame = p.RoomClosed.model_validate(
        {"code": code, "reason": reason, "message": messages[reason]}
    )
    return p.encode(frame).decode()
