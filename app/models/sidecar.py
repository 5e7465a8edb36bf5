"""The small JSON file beside a weights file: what the model's inputs and outputs mean.

A .safetensors file holds arrays only, so the names of things travel beside it:

    {"kind": "tokens", "vocab": ["a", "b", ...]}                      token in, token out
    {"kind": "tokens", "vocab": [...], "output_vocab": ["neg", "pos"]}  token in, class out
    {"kind": "features", "inputs": ["temp", "rain"], "outputs": ["temp"]}  real in, real out

Token ids are positions in `vocab`; `output_vocab` defaults to `vocab`, `outputs` to `inputs`.
An nn.RNN adds "nonlinearity": "tanh" or "relu", the argument it was built with, since the
weights cannot tell. Unknown keys are refused, so a misspelt key is not silently ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from app.inputs import InputError, decode_utf8

KINDS = {
    "tokens": ("vocab", "output_vocab"),
    "features": ("inputs", "outputs"),
}
NONLINEARITIES = ("tanh", "relu")  # torch.nn.RNN's choices
MAX_NAME_CHARS = 100


@dataclass(frozen=True)
class Sidecar:
    """What the sidecar says: the kind of model, its names for inputs and outputs."""

    kind: str  # "tokens" or "features"
    inputs: tuple[str, ...]  # input tokens by id, or input feature names
    outputs: tuple[str, ...]  # output tokens by id, or output feature names
    nonlinearity: Literal["tanh", "relu"] | None = None  # nn.RNN's; None when it does not say

    @property
    def tokens(self) -> bool:
        """Whether inputs are token ids rather than real-valued features."""
        return self.kind == "tokens"


def _load_json(text: str | bytes) -> Any:
    """The parsed JSON, or InputError naming the line and column where it stops parsing."""
    if isinstance(text, bytes):
        text = decode_utf8(text, "sidecar")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            "sidecar", f"is not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from exc


def _names(data: dict[str, Any], key: str, limit: int) -> tuple[str, ...]:
    """A non-empty list of distinct, non-empty strings of at most `limit` entries."""
    value = data[key]
    field = f"sidecar.{key}"
    if not isinstance(value, list) or not value:
        raise InputError(field, "must be a non-empty list of strings")
    if len(value) > limit:
        raise InputError(field, f"has {len(value)} entries; the limit is {limit}")
    seen: set[str] = set()
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS:
            raise InputError(
                f"{field}[{i}]", f"must be a string of 1 to {MAX_NAME_CHARS} characters"
            )
        if name in seen:
            raise InputError(f"{field}[{i}]", f"repeats {name!r}: every entry must be distinct")
        seen.add(name)
    return tuple(value)


def parse_sidecar(text: str | bytes, *, max_vocab: int, max_features: int) -> Sidecar:
    """Read and check a sidecar; InputError names the key (and JSON position) that is wrong."""
    data = _load_json(text)
    if not isinstance(data, dict):
        raise InputError("sidecar", 'must be a JSON object such as {"kind": "tokens", ...}')
    kind = data.get("kind")
    if kind not in KINDS:
        raise InputError("sidecar.kind", f"must be one of {', '.join(KINDS)}; got {kind!r}")
    first, second = KINDS[kind]
    unknown = sorted(set(data) - {"kind", "nonlinearity", first, second})
    if unknown:
        raise InputError(f"sidecar.{unknown[0]}", f"is not a {kind} sidecar key")
    if first not in data:
        raise InputError(f"sidecar.{first}", "is missing")
    limit = max_vocab if kind == "tokens" else max_features
    inputs = _names(data, first, limit)
    outputs = _names(data, second, limit) if second in data else inputs
    nonlinearity = data.get("nonlinearity")
    if nonlinearity is not None and nonlinearity not in NONLINEARITIES:
        raise InputError(
            "sidecar.nonlinearity", f"must be tanh or relu (nn.RNN's); got {nonlinearity!r}"
        )
    return Sidecar(kind, inputs, outputs, nonlinearity)
