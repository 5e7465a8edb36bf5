"""Plain HTTP: health, pages, static files and the local plotly.js."""

from __future__ import annotations

import re

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


def test_every_static_module_is_served(client: TestClient) -> None:
    for module in ("js/main.js", "js/stream.js", "js/protocol.js", "js/views/unrolled.js"):
        response = client.get(f"/static/{module}")
        assert response.status_code == 200, module
        assert "javascript" in response.headers["content-type"]


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
