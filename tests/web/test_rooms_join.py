"""Join addresses: a loopback teacher is offered the LAN addresses, or told plainly why not."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest
import zxingcpp
from fastapi.testclient import TestClient

from app.web import lan
from app.web.main import create_app
from app.web.settings import Settings
from tests.web.hostutil import small

LAN = ["192.168.1.20", "10.0.0.7"]


def decode_qr(svg: bytes) -> str:
    """Draw segno's SVG path (M/m moves, h runs of dark modules) and read it with zxing."""
    text = svg.decode()
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', text).group(1))  # type: ignore[union-attr]
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    image = np.full((size, size), 255, np.uint8)
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            image[int(y), int(x) : int(x + float(a))] = 0
            x += float(a)
    scaled = np.kron(image, np.ones((8, 8), np.uint8))
    found = zxingcpp.read_barcodes(scaled)
    assert found, "no QR code found"
    return str(found[0].text)


@pytest.fixture
def no_container(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lan, "in_container", lambda: False)


def client_for(base_url: str, **settings: object) -> TestClient:
    app = create_app(small(Settings(**settings)))  # type: ignore[arg-type]
    return TestClient(app, base_url=base_url)


def create(client: TestClient, origin: str) -> dict[str, object]:
    response = client.post("/api/rooms", headers={"origin": origin})
    assert response.status_code == 201, response.text
    answer: dict[str, object] = response.json()
    return answer


@pytest.fixture
def lan_addresses(monkeypatch: pytest.MonkeyPatch, no_container: None) -> Iterator[list[str]]:
    monkeypatch.setattr(lan, "lan_addresses", lambda: list(LAN))
    yield LAN


def test_a_loopback_teacher_is_offered_the_lan_addresses_and_the_qr_reads_the_best(
    lan_addresses: list[str],
) -> None:
    with client_for("http://localhost:8000", host="0.0.0.0") as client:
        room = create(client, "http://localhost:8000")
        code = room["code"]
        wanted = [f"http://{ip}:8000/room/{code}" for ip in lan_addresses]
        assert room["join_urls"] == wanted and room["join_url"] == wanted[0]
        assert room["join_hint"] is None
        assert decode_qr(client.get(f"/room/{code}/qr.svg").content) == wanted[0]
        page = client.get(f"/room/{code}/teach").text
        assert wanted[0] in page
        with client.websocket_connect(f"ws://localhost:8000/ws/room/{code}") as ws:
            frame = ws.receive_json()
            assert frame["type"] == "room" and frame["join_urls"] == wanted


def test_the_public_url_wins(lan_addresses: list[str]) -> None:
    public = "https://class.example.org"
    with client_for("http://localhost:8000", host="0.0.0.0", public_url=public) as client:
        room = create(client, "http://localhost:8000")
        url = f"{public}/room/{room['code']}"
        assert (room["join_url"], room["join_urls"], room["join_hint"]) == (url, [url], None)
        assert decode_qr(client.get(f"/room/{room['code']}/qr.svg").content) == url


def test_a_teacher_at_a_lan_address_shares_that_address(lan_addresses: list[str]) -> None:
    with client_for("http://192.168.1.20:8000", host="0.0.0.0") as client:
        room = create(client, "http://192.168.1.20:8000")
        assert room["join_urls"] == [f"http://192.168.1.20:8000/room/{room['code']}"]


@pytest.mark.parametrize(
    ("settings", "addresses", "container", "hint"),
    [
        ({"host": "127.0.0.1"}, LAN, False, "--host 0.0.0.0"),
        ({"host": "0.0.0.0"}, [], False, "UNROLL_PUBLIC_URL"),
        ({"host": "0.0.0.0"}, LAN, True, "-e UNROLL_PUBLIC_URL=http://<laptop-LAN-IP>:8000"),
    ],
    ids=["bound-to-loopback", "no-address", "in-docker"],
)
def test_without_a_usable_address_the_teacher_is_told_why_and_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, object],
    addresses: list[str],
    container: bool,
    hint: str,
) -> None:
    monkeypatch.setattr(lan, "lan_addresses", lambda: addresses)
    monkeypatch.setattr(lan, "in_container", lambda: container)
    with client_for("http://127.0.0.1:8000", **settings) as client:
        room = create(client, "http://127.0.0.1:8000")
        assert room["join_url"] == f"http://127.0.0.1:8000/room/{room['code']}"
        assert isinstance(room["join_hint"], str) and hint in room["join_hint"]
        assert "Phones cannot open this link" in room["join_hint"]


def test_discovery_finds_only_addresses_other_devices_could_reach() -> None:
    found = lan.discover()
    for address in found:
        assert lan._usable(address)
        assert not address.startswith(("127.", "169.254."))
    assert len(found) == len(set(found))
    assert not lan._usable("127.0.0.1") and not lan._usable("169.254.3.4")
    assert lan._usable("192.168.1.20")
