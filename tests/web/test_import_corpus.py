"""Every crafted bad export is refused with a typed error naming its field; the session goes on."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from tests.web.import_corpus import BASES, CASES, base_state, message
from tests.web.wsutil import greet, receive, until_ack


def test_the_corpus_has_sixty_cases_and_every_base_and_code() -> None:
    assert len(CASES) >= 60
    assert {case.base for case in CASES} == set(BASES)
    codes = Counter(case.code for case in CASES)
    assert set(codes) == {"out_of_range", "invalid_message", "invalid_json"}


def _export(ws: WebSocketTestSession, command_id: int) -> Any:
    frames = until_ack(ws, {"type": "export", "id": command_id})
    assert [f["type"] for f in frames] == ["export", "ack"]
    return frames[0]["state"]


@pytest.mark.parametrize("base", sorted(BASES))
def test_bad_exports_are_refused_naming_the_field(client: TestClient, base: str) -> None:
    cases = [case for case in CASES if case.base == base]
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        imported = until_ack(ws, {"type": "import", "id": 1, "state": base_state(base)})
        assert [f["type"] for f in imported] == ["hello", "spectrum", "ack"]
        before = _export(ws, 2)
        refusals = {}
        for case in cases:
            ws.send_text(message(case))
            error = receive(ws)
            assert error["type"] == "error", case.name
            refusals[case.name] = (error["code"], error["field"])
        assert refusals == {case.name: (case.code, case.field) for case in cases}
        # Still alive, and unchanged by any of it.
        assert orjson.dumps(_export(ws, 3)) == orjson.dumps(before)
        assert [f["type"] for f in until_ack(ws, {"type": "advance", "id": 4})][-1] == "ack"
