"""HTML pages and the assets they load (all served locally: a classroom may have no internet)."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app import protocol as p
from app.web.paths import asset_dir, plotly_js

router = APIRouter()
templates = Jinja2Templates(directory=str(asset_dir("templates")))

# How a choice reads on a page where its value alone would not (any other value shows as itself).
OPTION_LABELS = {
    "rnn": "RNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "relu": "ReLU",
    "gaussian": "Gaussian",
    "none": "off",
    "norm": "by norm",
    "value": "by value",
}


@cache
def run_config_schema() -> dict[str, Any]:
    """The JSON Schema of RunConfig, as the protocol publishes it (/api/protocol.json "config")."""
    return p.json_schema()["config"]


def _variants(schema: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """A property's schema, or the members of its anyOf, with $refs resolved."""
    members = node.get("anyOf", [node])
    definitions = schema.get("$defs", {})
    return [definitions[m["$ref"].rsplit("/", 1)[-1]] if "$ref" in m else m for m in members]


def config_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each RunConfig field as pages read it: its JSON type, whether it is nullable, its options."""
    fields = {}
    for name, node in schema["properties"].items():
        variants = _variants(schema, node)
        kinds = [v["type"] for v in variants if v.get("type") not in (None, "null")]
        fields[name] = {
            "type": kinds[0] if kinds else "string",
            "nullable": any(v.get("type") == "null" for v in variants),
            "options": [value for v in variants for value in v.get("enum", [])],
        }
    return fields


CONFIG_FIELDS = config_fields(run_config_schema())
templates.env.globals.update(
    config_fields=CONFIG_FIELDS,
    run_config={"fields": CONFIG_FIELDS, "labels": OPTION_LABELS},
    option_labels=OPTION_LABELS,
)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def playground(request: Request) -> HTMLResponse:
    """The playground: watch an RNN unroll, predict and learn.

    ?presenter=1 and ?embed=1 are applied to the page as served, so it never flashes the
    full layout before the script applies them.
    """
    flags = {name: request.query_params.get(name) == "1" for name in ("presenter", "embed")}
    return templates.TemplateResponse(request, "playground.html", {"version": __version__, **flags})


@router.get("/vendor/plotly.min.js", include_in_schema=False)
async def plotly_bundle() -> FileResponse:
    """plotly.js from the installed `plotly` package."""
    return FileResponse(
        plotly_js(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )
