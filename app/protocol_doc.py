"""Write docs/protocol.md from app.protocol: `python -m app.protocol_doc > docs/protocol.md`."""

from __future__ import annotations

import re
import sys
from typing import Any, get_args

from pydantic import BaseModel

from app import protocol as p

HEADER = """# The Unroll websocket protocol

Generated from `app/protocol/` by `python -m app.protocol_doc`; do not edit by hand.
The same models give the JSON Schema served at `/api/protocol.json`: its `commands` and
`frames`, and `config`, the schema of `RunConfig` whose choice fields list their options as
`enum` (the one source of the pages' option lists).

Protocol version: **{version}**.

## Connection and encoding

- Connect to `/ws`. The server answers with a `hello` frame, then one frame or more per command.
- Every message is one JSON text frame. Every command may carry an integer `id`; the server's
  `ack` (success) or `error` (refusal) for that command echoes it as `command_id`.
- Arrays of floats are rounded to float32 before encoding (orjson, encoded once per frame).
  Real values travel as numbers, never as text: real inputs in `input_values` and `x`, a
  linear head's targets in `target_values` and `target_value`.
- JSON has no NaN or Infinity: a non-finite number (an exploding run) is sent as the string
  `"NaN"`, `"Infinity"` or `"-Infinity"`. `static/js/protocol.js` turns them back into numbers.
- Frames for the client's own commands are never dropped. Frames from `play` and `train` are
  animation: a client that reads too slowly gets the newest of them and loses the oldest.
- Refusals never end the session: an `error` frame names the `code`, the `field` (a dotted path
  where there is one) and a human `message`, and the session goes on as it was.
- Client messages over `max_message_bytes` (64 KiB by default) are refused with `too_large`;
  commands beyond `max_commands_per_second` with `rate_limited`. A browser whose `Origin` is not
  the server's own (or listed in `UNROLL_ALLOWED_ORIGINS`) is refused at the handshake (HTTP 403).
  When the server holds `max_sessions` sessions, a new connection gets `error` `server_busy` and
  close code 1013.
"""


NUMBER = re.compile(
    r"float \| Literal\['NaN', 'Infinity', '-Infinity'\]"
    r"|Union\[float, Literal\['NaN', 'Infinity', '-Infinity'\]\]"
)


def _type_name(annotation: Any) -> str:
    text = re.sub(r"app\.protocol\.(\w+\.)?", "", repr(annotation).replace("typing.", ""))
    text = text.replace("<class '", "").replace("'>", "")
    return NUMBER.sub("number", text).replace("|", "\\|")


def _section(title: str, model: type[BaseModel]) -> str:
    lines = [f"### {title}", "", (model.__doc__ or "").strip(), ""]
    lines += ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, info in model.model_fields.items():
        if name == "type":
            continue
        default = "required" if info.is_required() else f"`{info.default!r}`"
        constraints = ", ".join(str(m) for m in info.metadata)
        meaning = "; ".join(x for x in (info.description or "", constraints) if x)
        lines.append(f"| `{name}` | `{_type_name(info.annotation)}` | {default} | {meaning} |")
    return "\n".join(lines).replace("|`", "| `") + "\n"


def _tagged(model: type[BaseModel]) -> str:
    return _section(f"`{get_args(model.model_fields['type'].annotation)[0]}`", model)


def render() -> str:
    """The whole document."""
    parts = [HEADER.format(version=p.PROTOCOL_VERSION), "## Commands (client to server)\n"]
    parts += [_tagged(m) for m in get_args(get_args(p.Command)[0])]
    parts.append("## Frames (server to client)\n")
    parts += [_tagged(m) for m in get_args(get_args(p.Frame)[0])]
    parts.append("## Shared models\n")
    parts += [_section(f"`{m.__name__}`", m) for m in (p.RunConfig, p.Limits, p.TokenProb)]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
