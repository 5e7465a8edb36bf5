"""The protocol: parsing, errors naming fields, encoding, and the documents derived from it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from app import protocol as p
from app.engine import ACTIVATIONS, CELLS, CLIP_MODES, INIT_SCHEMES, OPTIMIZERS
from app.protocol_doc import render
from app.session import Session
from tests.test_session import LIMITS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        (b"{", "invalid_json", None),
        (b"[1, 2]", "invalid_message", None),
        (b"{}", "invalid_message", "type"),
        (b'{"type": "fly"}', "unknown_type", "type"),
        (b'{"type": "train", "iterations": 0}', "out_of_range", "iterations"),
        (b'{"type": "train", "iterations": "many"}', "invalid_message", "iterations"),
        (b'{"type": "step_forward", "speed": 3}', "invalid_message", "speed"),
        (
            b'{"type": "configure", "config": {"hidden_size": 0}}',
            "out_of_range",
            "config.hidden_size",
        ),
        (b'{"type": "configure", "config": {"cell": "tcn"}}', "invalid_message", "config.cell"),
        (b'{"type": "play", "steps_per_second": -1}', "out_of_range", "steps_per_second"),
    ],
)
def test_bad_commands_become_typed_errors_naming_the_field(
    raw: bytes, code: str, field: str | None
) -> None:
    error = p.parse_command(raw, max_bytes=65536)
    assert isinstance(error, p.Error)
    assert (error.code, error.field) == (code, field)
    assert error.message


def test_oversized_message_is_refused_before_parsing() -> None:
    raw = b'{"type": "reset", "pad": "' + b"x" * 70000 + b'"}'
    error = p.parse_command(raw, max_bytes=65536)
    assert isinstance(error, p.Error) and error.code == "too_large"


def test_command_id_is_echoed_in_errors() -> None:
    error = p.parse_command(b'{"type": "train", "iterations": -5, "id": 42}', 65536)
    assert isinstance(error, p.Error) and error.command_id == 42


def test_every_command_type_round_trips() -> None:
    session = Session(p.RunConfig(), LIMITS)
    exported = orjson.loads(p.encode(session.export()))["state"]
    examples = {
        "configure": {"config": {"hidden_size": 8}},
        "import": {"state": exported},
        "join": {"token": "the-room-token"},
        "fork": {"nickname": "Ada"},
        "resume_fork": {"fork_id": "f1", "secret": "s"},
        "spotlight": {"fork_id": "f1"},
        "lock_forks": {"locked": True},
        "use_text": {"text": "the cat sat on the mat. " * 4},
        "rescale": {"spectral_radius": 1.2},
        "use_upload": {"upload_id": "an-upload", "target": "temperature", "inputs": ["rain"]},
    }
    for tag in p.COMMAND_TYPES:
        message = {"type": tag, "id": 7, **examples.get(tag, {})}
        command = p.parse_command(orjson.dumps(message), 65536, 1 << 22)
        assert not isinstance(command, p.Error), command
        assert command.type == tag and command.id == 7
        again = p.parse_command(command.model_dump_json(exclude_none=True), 65536, 1 << 22)
        assert again == command


def test_non_finite_numbers_travel_as_markers() -> None:
    array = np.array([1.0, np.nan, np.inf, -np.inf])
    decoded = orjson.loads(p.encode(p.TokenProb(token="a", p=p.wire_number(np.inf))))
    assert decoded == {"token": "a", "p": "Infinity"}
    assert p.wire_array(array) == [1.0, "NaN", "Infinity", "-Infinity"]
    finite = p.wire_array(np.array([0.1, 2.0]))
    assert orjson.loads(orjson.dumps(finite, option=orjson.OPT_SERIALIZE_NUMPY)) == [
        pytest.approx(0.1, rel=1e-7),
        2.0,
    ]


def test_schema_is_served(client: TestClient) -> None:
    schema = client.get("/api/protocol.json").json()
    assert schema["protocol_version"] == p.PROTOCOL_VERSION
    text = orjson.dumps(schema).decode()
    for tag in p.COMMAND_TYPES + p.FRAME_TYPES:
        assert f'"{tag}"' in text


def test_the_config_schema_lists_every_option_from_the_engine() -> None:
    schema = p.json_schema()["config"]
    assert schema == p.RunConfig.model_json_schema()
    fields = schema["properties"]
    options = {
        "cell": CELLS,
        "activation": ACTIVATIONS,
        "init": INIT_SCHEMES,
        "optimizer": tuple(OPTIMIZERS),
        "clip_mode": CLIP_MODES,
    }
    for name, values in options.items():
        assert fields[name]["enum"] == list(values), name
        assert fields[name]["default"] in values
    assert "enum" not in fields["task"]  # tasks come from /api/tasks
    assert fields["hidden_size"]["minimum"] == 1
    radius = fields["spectral_radius"]["anyOf"]  # nullable: null means no rescaling
    assert {"type": "null"} in radius
    assert any(r.get("exclusiveMinimum") == 0 and r.get("maximum") == 10 for r in radius)
    hyper = p.json_schema()["commands"]["$defs"]["SetHyper"]["properties"]["clip_mode"]
    assert {"enum": list(CLIP_MODES), "type": "string"} in hyper["anyOf"]


def test_sample_temperature_is_optional_and_bounded() -> None:
    command = p.parse_command(b'{"type": "sample", "length": 5}', 65536)
    assert isinstance(command, p.Sample) and command.temperature is None
    error = p.parse_command(b'{"type": "sample", "temperature": 0}', 65536)
    assert isinstance(error, p.Error) and (error.code, error.field) == (
        "out_of_range",
        "temperature",
    )


def test_protocol_doc_is_generated_from_the_models() -> None:
    committed = (ROOT / "docs" / "protocol.md").read_text()
    assert committed == render(), "regenerate: python -m app.protocol_doc > docs/protocol.md"


def test_js_mirror_has_the_same_tags() -> None:
    source = (ROOT / "static" / "js" / "protocol.js").read_text()

    def js_list(name: str) -> list[str]:
        body = re.search(rf"export const {name} = \[(.*?)\];", source, re.S)
        assert body, name
        return re.findall(r'"([a-z_]+)"', body.group(1))

    assert js_list("COMMAND_TYPES") == list(p.COMMAND_TYPES)
    assert js_list("FRAME_TYPES") == list(p.FRAME_TYPES)
    version = re.search(r"PROTOCOL_VERSION = (\d+);", source)
    assert version and int(version.group(1)) == p.PROTOCOL_VERSION
