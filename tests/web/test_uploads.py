"""Uploads over HTTP: a file goes onto its session's shelf (201 and a receipt), or is refused with
its field, line and column (422), past its size (413), for an unknown session (404) or past the
uploads' memory budget (503); then use_upload over the socket switches the run to it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from app import protocol as p
from app.web.main import create_app
from app.web.sessions import SessionRegistry
from app.web.settings import Settings
from app.web.workers.pool import Workers
from tests.run.uploadutil import COLUMNS, RHYME, series_upload, torch_files, weather_csv
from tests.web.hostutil import small
from tests.web.wsutil import greet, until_ack


@pytest.fixture
def settings() -> Settings:
    return small(
        Settings(max_commands_per_second=1000, max_upload_bytes=4096, max_uploads_per_session=3)
    )


def post(client: TestClient, kind: str, body: bytes, **query: str) -> Any:
    return client.post(f"/api/uploads/{kind}", params=query, content=body)


@pytest.fixture
def connected(client: TestClient) -> Iterator[tuple[WebSocketTestSession, str]]:
    """A playground connection and its session id, as the page knows it from hello."""
    with client.websocket_connect("/ws") as ws:
        yield ws, greet(ws)["session_id"]


def test_a_csv_file_is_read_and_the_socket_learns_from_it(
    client: TestClient, connected: tuple[WebSocketTestSession, str]
) -> None:
    ws, session = connected
    response = post(client, "csv", weather_csv(), session=session, name="weather.csv")
    assert response.status_code == 201, response.text
    receipt = p.UploadReceipt.model_validate(response.json())
    assert (receipt.kind, receipt.name, receipt.bytes) == ("csv", "weather.csv", len(weather_csv()))
    assert receipt.table is not None and receipt.table.columns == ["day", "temperature", "rain"]
    command = {"type": "use_upload", "id": 1, "upload_id": receipt.id, "target": "temperature"}
    frames = until_ack(ws, command)
    assert [f["type"] for f in frames] == ["hello", "spectrum", "ack"]
    hello = frames[0]
    assert hello["config"]["task"] == "uploaded"
    assert hello["upload"]["target"] == "temperature" and hello["upload"]["inputs"] == [
        "temperature"
    ]
    assert (
        hello["upload"]["scaling"]["temperature"]
        == receipt.table.scaling["temperature"].model_dump()
    )
    script = until_ack(ws, {"type": "export_script", "id": 2, "iterations": 5})
    assert [f["type"] for f in script] == ["script", "ack"]
    assert script[0]["filename"] == "unroll-uploaded-seed0-iterations-1-5.py"
    assert script[0]["source"].startswith('"""An Unroll run as one standalone NumPy script')


def test_a_bad_file_is_refused_with_its_line_and_column_and_the_run_goes_on(
    client: TestClient, connected: tuple[WebSocketTestSession, str]
) -> None:
    ws, session = connected
    until_ack(ws, {"type": "step_forward", "id": 1})
    bad = b"a,b\n1,2\n3,oops\n"
    response = post(client, "csv", bad, session=session, name="bad.csv")
    assert response.status_code == 422
    assert response.json() == {
        "field": "csv",
        "message": "'oops' in column 'b' is not a number",
        "line": 3,
        "column": 2,
    }
    latin = post(client, "text", "Café crème, s'il vous plaît".encode("latin-1"), session=session)
    assert latin.status_code == 422
    assert (latin.json()["field"], latin.json()["line"], latin.json()["column"]) == ("text", 1, 4)
    frames = until_ack(ws, {"type": "step_forward", "id": 2})  # the run never moved
    assert frames[0]["t"] == 1


def test_a_body_past_its_cap_is_refused_before_it_is_read(
    client: TestClient, connected: tuple[WebSocketTestSession, str]
) -> None:
    _, session = connected
    response = post(client, "text", RHYME.encode() * 20, session=session)
    assert response.status_code == 413
    assert response.json()["field"] == "text"
    assert "is larger than 4096 bytes" in response.json()["message"]


def test_an_unknown_session_is_refused(client: TestClient) -> None:
    response = post(client, "csv", weather_csv(), session="no-such-session")
    assert response.status_code == 404
    assert response.json()["field"] == "session"
    missing = client.post("/api/uploads/csv", content=weather_csv())
    assert missing.status_code == 422  # FastAPI's own refusal: session is required


def test_a_model_arrives_as_its_sidecar_then_its_weights(
    client: TestClient, connected: tuple[WebSocketTestSession, str], settings: Settings
) -> None:
    ws, session = connected
    files = torch_files("nn.GRU", "features")
    no_sidecar = post(client, "weights", files.weights, session=session)
    assert no_sidecar.status_code == 422 and no_sidecar.json()["field"] == "sidecar"
    side = post(client, "sidecar", files.sidecar, session=session, name="model.json")
    assert side.status_code == 201 and side.json()["model"]["inputs"] == COLUMNS
    too_big = post(
        client, "weights", files.weights + b"\x00" * settings.max_weights_bytes, session=session
    )
    assert too_big.status_code == 413
    weights = post(
        client,
        "weights",
        files.weights,
        session=session,
        sidecar=side.json()["id"],
        name="m.safetensors",
    )
    assert weights.status_code == 201, weights.text
    model = weights.json()
    assert (model["kind"], model["model"]["module"], model["model"]["has_head"]) == (
        "weights",
        "nn.GRU",
        True,
    )
    again = post(client, "weights", files.weights, session=session, sidecar=side.json()["id"])
    assert (
        again.status_code == 422 and "no upload" in again.json()["message"]
    )  # read into the model
    data = post(client, "csv", weather_csv(), session=session).json()
    frames = until_ack(
        ws, {"type": "use_upload", "id": 1, "upload_id": data["id"], "model_id": model["id"]}
    )
    hello = frames[0]
    assert hello["upload"]["model"] == "nn.GRU from m.safetensors"
    assert (hello["config"]["cell"], hello["config"]["hidden_size"]) == ("gru", 5)


def test_a_session_keeps_its_newest_uploads(
    client: TestClient, connected: tuple[WebSocketTestSession, str]
) -> None:
    ws, session = connected
    ids = [post(client, "csv", weather_csv(), session=session).json()["id"] for _ in range(4)]
    error = until_ack(ws, {"type": "use_upload", "id": 1, "upload_id": ids[0]})[-1]
    assert (error["type"], error["code"], error["field"]) == ("error", "out_of_range", "upload_id")
    assert until_ack(ws, {"type": "use_upload", "id": 2, "upload_id": ids[1]})[-1]["type"] == "ack"


def test_a_text_file_reads_as_words_when_asked(
    client: TestClient, connected: tuple[WebSocketTestSession, str]
) -> None:
    ws, session = connected
    words = post(client, "text", RHYME.encode(), session=session, level="word", name="rhyme.txt")
    assert words.status_code == 201 and words.json()["text"]["level"] == "word"
    bad_level = post(client, "text", RHYME.encode(), session=session, level="line")
    assert bad_level.status_code == 422
    hello = until_ack(ws, {"type": "use_upload", "id": 1, "upload_id": words.json()["id"]})[0]
    assert hello["upload"] == {
        "name": "rhyme.txt",
        "kind": "text",
        "level": "word",
        "target": None,
        "inputs": None,
        "scaling": None,
        "model": None,
    }


def test_uploads_past_the_memory_budget_get_try_again_later() -> None:
    settings = small(Settings(max_upload_memory_bytes=2**20, max_upload_bytes=1_000_000))
    big = "x\n" * 200_000  # 400 kB: reading it holds three times as much
    with TestClient(create_app(settings)) as client, client.websocket_connect("/ws") as ws:
        session = greet(ws)["session_id"]
        response = post(client, "text", big.encode(), session=session)
        assert response.status_code == 503
        assert "try again" in response.json()["message"]
        assert post(client, "csv", weather_csv(), session=session).status_code == 201


def test_a_sessions_uploads_go_with_it(app: FastAPI, client: TestClient) -> None:
    registry: SessionRegistry = app.state.sessions
    workers: Workers = app.state.workers
    with client.websocket_connect("/ws") as ws:
        session = greet(ws)["session_id"]
        assert post(client, "csv", weather_csv(), session=session).status_code == 201
        assert registry.find(session) is not None
        assert sum(workers.uploads.values()) == series_upload().nbytes  # held in its worker
    deadline = time.monotonic() + 30
    while registry.find(session) is not None or workers.uploads:  # the server closes it
        assert time.monotonic() < deadline, "the session outlived its connection"
        time.sleep(0.01)
    assert workers.reading == 0 and workers.committed == {}
    assert post(client, "csv", weather_csv(), session=session).status_code == 404


def test_the_receipt_and_refusals_are_documented(client: TestClient) -> None:
    schema: dict[str, Any] = client.get("/openapi.json").json()
    post_upload = schema["paths"]["/api/uploads/{kind}"]["post"]
    assert set(post_upload["responses"]) == {"201", "404", "413", "422", "503"}
