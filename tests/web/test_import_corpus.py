"""Every crafted bad export is refused with a typed error naming its field; the session goes on."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from app.web.sessions import limits_from
from app.web.settings import Settings
from app.web.workers.host import Host
from app.web.workers.messages import Request
from tests.web.import_corpus import BASES, CASES, Case, base_state, message
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


IMPORT_PREFIX = '{"type": "import", "id": 7, "state": '


def fork_state(case: Case) -> bytes:
    """The case's export alone, as the JSON text a fork receives from the room."""
    text = message(case)
    assert text.startswith(IMPORT_PREFIX) and text.endswith("}")
    return text[len(IMPORT_PREFIX) : -1].encode()


@pytest.mark.parametrize("base", sorted(BASES))
def test_a_forks_copy_is_refused_exactly_as_the_import_of_it_is(base: str) -> None:
    settings = Settings()
    host = Host(limits_from(settings), settings.max_import_bytes)  # a worker's, in this process
    cases = [case for case in CASES if case.base == base]
    refusals = {}
    for key, case in enumerate(cases):
        reply = host.handle(Request(key, "open", key, (fork_state(case), None, None)))
        assert reply.refusal is not None, case.name
        refusals[case.name] = (reply.refusal.code, reply.refusal.field)
    assert refusals == {case.name: (case.code, case.field) for case in cases}
    assert host.sessions == {}  # no copy was opened
