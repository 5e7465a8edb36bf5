"""Plain HTTP: health, pages, static files and the local plotly.js."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from app import __version__
from app.web.paths import plotly_js


def test_healthz_reports_status_and_version(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__


def test_playground_page_renders_and_loads_only_local_assets(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert 'data-view="unrolled"' in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, "the page should load scripts and styles"
    for source in sources:
        assert not source.startswith(("http://", "https://", "//")) or "127.0.0.1" in source
    for source in sources:
        if source.startswith("data:"):
            continue
        path = re.sub(r"^https?://[^/]+", "", source)
        assert client.get(path).status_code == 200, path


def test_plotly_is_served_from_the_installed_package(client: TestClient) -> None:
    response = client.get("/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == plotly_js().read_bytes()


STATIC = Path(__file__).resolve().parents[2] / "static"
TEMPLATES = STATIC.parent / "templates"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
IMPORT = re.compile(r'^import\s+(?:\{([^}]*)\}\s+from\s+|\*\s+as\s+\w+\s+from\s+)?"([^"]+)";', re.M)
EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:const|let|function|class)\s+(\w+)", re.M)
RE_EXPORT = re.compile(r"^export\s+\{([^}]*)\}", re.M)


def _exports(module: Path) -> set[str]:
    text = module.read_text(encoding="utf-8")
    names = set(EXPORT.findall(text))
    for group in RE_EXPORT.findall(text):
        names.update(name.strip() for name in group.split(",") if name.strip())
    return names


def test_every_static_file_is_served_with_its_type(client: TestClient) -> None:
    files = sorted(path for path in STATIC.rglob("*") if path.is_file())
    assert len(files) > 50
    for path in files:
        relative = path.relative_to(STATIC).as_posix()
        response = client.get(f"/static/{relative}")
        assert response.status_code == 200, relative
        assert response.headers["content-type"].startswith(MEDIA_TYPES[path.suffix]), relative
        assert response.content == path.read_bytes(), relative


def test_every_module_import_resolves_to_a_file_that_exports_the_names() -> None:
    modules = sorted(STATIC.rglob("*.js"))
    for module in modules:
        text = module.read_text(encoding="utf-8")
        imports = IMPORT.findall(text)
        assert len(imports) == len(re.findall(r"^import\b", text, re.M)), module.name  # all read
        for names, spec in imports:
            assert spec.startswith("."), f"{module.name}: {spec} is not a local module"
            target = (module.parent / spec).resolve()
            assert target.is_file(), f"{module.name} imports {spec}, which does not exist"
            wanted = {name.split(" as ")[0].strip() for name in names.split(",") if name.strip()}
            missing = wanted - _exports(target)
            assert not missing, f"{module.name} imports {missing} that {spec} does not export"


def test_every_page_script_is_a_static_module(client: TestClient) -> None:
    pages = ["/", "/lab", "/gallery", "/lessons", "/room"]
    scripts = {
        s for page in pages for s in re.findall(r'src="/static/([^"]+)"', client.get(page).text)
    }
    assert {"js/main.js", "js/lab/main.js", "js/gallery/main.js", "js/lessons/main.js"} <= scripts
    for script in scripts:
        assert (STATIC / script).is_file(), script


def test_unknown_path_is_404(client: TestClient) -> None:
    assert client.get("/no-such-page").status_code == 404


def test_tasks_and_presets_are_listed_with_their_lessons(client: TestClient) -> None:
    from app.protocol import RunConfig
    from app.tasks import PRESETS, TASKS

    tasks = client.get("/api/tasks").json()
    assert {t["name"] for t in tasks} == set(TASKS)
    assert all(t["summary"] and t["architecture"] for t in tasks)
    presets = client.get("/api/presets").json()
    assert {p["name"] for p in presets} == set(PRESETS)
    for preset in presets:
        assert preset["lesson"]
        RunConfig.model_validate(preset["config"])  # a preset is a run the server accepts


def _enums() -> dict[str, list[str]]:
    """The choice fields of RunConfig and their options, from the protocol's JSON Schema."""
    from app import protocol as p

    schema = p.RunConfig.model_json_schema()
    enums = {}
    for name, node in schema["properties"].items():
        values = [v for member in node.get("anyOf", [node]) for v in member.get("enum", [])]
        if values:
            enums[name] = values
    return enums


def _select_options(html: str, name: str) -> list[list[str]]:
    selects = re.findall(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    return [re.findall(r'<option value="([^"]+)"', select) for select in selects]


def test_option_lists_come_from_the_protocol_schema(client: TestClient) -> None:
    enums = _enums()
    assert set(enums) == {"cell", "activation", "init", "optimizer", "clip_mode"}
    playground = client.get("/").text
    for field in enums:
        assert _select_options(playground, field) == [enums[field]], field
    lab = client.get("/lab").text
    for name, field in [("cell", "cell"), ("activation", "activation"), ("clip", "clip_mode")]:
        assert _select_options(lab, name) == [enums[field]] * 2, name  # runs A and B
    assert _select_options(lab, "init") == [enums["init"]]
    # The table the scripts read their options and URL parsing from (static/js/run_config.js).
    embedded = re.search(r'<script type="application/json" id="run-config">(.*?)</script>', lab)
    assert embedded
    fields = json.loads(embedded.group(1))["fields"]
    assert {name: f["options"] for name, f in fields.items() if f["options"]} == enums
    assert fields["seed"]["type"] == "integer" and not fields["seed"]["nullable"]
    assert fields["truncation"]["type"] == "integer" and fields["truncation"]["nullable"]
    assert fields["spectral_radius"]["type"] == "number" and fields["spectral_radius"]["nullable"]
    assert fields["temperature"]["type"] == "number" and not fields["temperature"]["nullable"]


def test_no_page_source_lists_option_values_by_hand() -> None:
    """A list of a field's options (three or more) or an <option> tag written into a page source.

    Two values side by side are a lesson's comparison (tanh against linear), not a list.
    """
    sources = [*STATIC.rglob("*.js"), *TEMPLATES.rglob("*.html")]
    for source in sources:
        text = source.read_text(encoding="utf-8")
        for field, values in _enums().items():
            quoted = [rf"[\"']{re.escape(value)}[\"']" for value in values]
            for literal in re.findall(r"\[[^\[\]]*\]", text):  # a JS array of options
                listed = [
                    value for value, q in zip(values, quoted, strict=True) if re.search(q, literal)
                ]
                assert len(listed) < 3, f"{source.name} lists {field} options {listed} by hand"
            options = re.findall(r"<option[^>]*value=[\"']([^\"']+)", text)
            assert not set(options) & set(values), f"{source.name} has {field} <option>s by hand"
