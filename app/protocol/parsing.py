"""Validating a client's message into a command, and the JSON Schema of the whole protocol."""

from __future__ import annotations

import re
from typing import Any, get_args

import orjson
from pydantic import ValidationError

from app.protocol.commands import Command, Import, SessionState, command_adapter
from app.protocol.config import RunConfig
from app.protocol.frames import Error, Frame, frame_adapter
from app.protocol.wire import PROTOCOL_VERSION


def _tags(tagged_union: Any) -> tuple[str, ...]:
    """The `type` literals of a discriminated union, in declaration order."""
    members = get_args(get_args(tagged_union)[0])
    return tuple(get_args(m.model_fields["type"].annotation)[0] for m in members)


COMMAND_TYPES = _tags(Command)
FRAME_TYPES = _tags(Frame)

_RANGE_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_short",
    "too_long",
    "string_too_short",
    "string_too_long",
}


def parse_command(raw: str | bytes, max_bytes: int, max_import_bytes: int = 0) -> Command | Error:
    """Decode and validate a client message; anything wrong becomes an Error naming the field.

    Only an `import` may be larger than `max_bytes` (up to `max_import_bytes`): a saved session
    carries its weights.
    """
    size = len(raw.encode()) if isinstance(raw, str) else len(raw)
    if size > max(max_bytes, max_import_bytes):
        return _too_large(size, max_bytes)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Error(code="invalid_json", message=f"not valid JSON: {exc}")
    is_import = isinstance(data, dict) and data.get("type") == "import"
    if size > max_bytes and not is_import:
        return _too_large(size, max_bytes)
    try:
        return command_adapter.validate_python(data)
    except ValidationError as exc:
        return _refusal(exc, data)


def parse_state(raw: str | bytes) -> SessionState | Error:
    """A saved session on its own (the room's state a fork copies), validated exactly as an
    import command's state is: the same refusals, naming the same fields."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Error(code="invalid_json", message=f"not valid JSON: {exc}")
    message = {"type": "import", "state": data}
    try:
        command = command_adapter.validate_python(message)
    except ValidationError as exc:
        return _refusal(exc, message)
    assert isinstance(command, Import)
    return command.state


def _too_large(size: int, max_bytes: int) -> Error:
    return Error(code="too_large", message=f"message is {size} bytes; limit {max_bytes}")


# How pydantic names a member of a union (or a dict key) in an error's location: "float",
# "constrained-int", "list[list[constrained-int]]", "[key]". Not part of the field's path.
_MEMBER = re.compile(r"^(?:[a-z-]*\[.*\]|int|float|str|bool|none|constrained-\w+|function-\w+)$")


def _member(part: int | str) -> bool:
    return isinstance(part, str) and _MEMBER.match(part) is not None


def _path(loc: tuple[int | str, ...]) -> list[int | str]:
    """An error's location without the union members pydantic tried."""
    return [part for part in loc if not _member(part)]


def _closest(errors: list[Any]) -> Any:
    """The first error, or, where a union failed, the member that got furthest into the value."""
    first = errors[0]
    loc = first["loc"]
    site = next((i for i, part in enumerate(loc) if _member(part)), len(loc))
    rivals = [e for e in errors if e["loc"][:site] == loc[:site]]
    return max(rivals, key=lambda e: len(_path(e["loc"])))


def _refusal(exc: ValidationError, data: Any) -> Error:
    """The typed error for a message that is JSON but not a valid command."""
    command_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(command_id, int) or isinstance(command_id, bool):
        command_id = None
    first = _closest(exc.errors(include_url=False))
    kind = first["type"]
    known = ", ".join(COMMAND_TYPES)
    if kind == "model_attributes_type":
        message = "a command must be a JSON object with a 'type' field"
        return Error(code="invalid_message", message=message, command_id=command_id)
    if kind == "union_tag_not_found":
        message = f"missing 'type'; known types: {known}"
        return Error(code="invalid_message", field="type", message=message, command_id=command_id)
    if kind == "union_tag_invalid":
        message = f"unknown command type {data.get('type')!r}; known types: {known}"
        return Error(code="unknown_type", field="type", message=message, command_id=command_id)
    # The first loc entry is the matched tag (e.g. "configure"); the rest is the field path.
    field = ".".join(str(part) for part in _path(first["loc"])[1:]) or None
    code = "out_of_range" if kind in _RANGE_ERRORS else "invalid_message"
    return Error(code=code, field=field, message=first["msg"], command_id=command_id)


def json_schema() -> dict[str, Any]:
    """The protocol as one JSON Schema document: commands, frames and the run configuration.

    "config" is RunConfig's own schema, every option of a choice field listed as an `enum`: the
    one source the pages build their option lists from.
    """
    return {
        "title": "Unroll websocket protocol",
        "protocol_version": PROTOCOL_VERSION,
        "commands": command_adapter.json_schema(),
        "frames": frame_adapter.json_schema(),
        "config": RunConfig.model_json_schema(),
    }
