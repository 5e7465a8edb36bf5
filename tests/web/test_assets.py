"""Static files: hashed URLs cached for good, precompressed bodies, the vendored plotly.js."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from pathlib import Path

import brotli
import pytest
from fastapi.testclient import TestClient

from app.web.assets import IMMUTABLE, StaticAssets, load_assets
from app.web.paths import asset_dir

STATIC = Path(__file__).resolve().parents[2] / "static"
VENDOR = STATIC / "vendor" / "plotly"
MANIFEST = json.loads((VENDOR / "manifest.json").read_text())


def versioned(client: TestClient, path: str) -> str:
    """The URL a page links for a static file (under the tree's version)."""
    return f"/static/{load_assets(asset_dir('static')).version}/{path}"


def test_vendored_plotly_matches_its_pinned_hash_and_brotli_form() -> None:
    body = (VENDOR / MANIFEST["file"]).read_bytes()
    assert (
        MANIFEST["sha384"] == "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
    )
    assert MANIFEST["bytes"] == len(body)
    assert body.startswith(
        f"/**\n* plotly.js (cartesian - minified) v{MANIFEST['version']}".encode()
    )
    assert brotli.decompress((VENDOR / (MANIFEST["file"] + ".br")).read_bytes()) == body
    licence = (VENDOR / MANIFEST["licence_file"]).read_text()
    assert MANIFEST["licence"] == "MIT" and licence.startswith("MIT License")
    assert MANIFEST["npm_integrity"].startswith("sha512-")


# A link or a default URL that would reach another host: a classroom may have no internet.
OFF_HOST = re.compile(rb"""(?:href|src)\s*=\s*["']https?://|dflt:\s*["']https?://""")


def test_no_static_file_or_template_points_off_the_server() -> None:
    roots = (STATIC, STATIC.parent / "templates")
    files = [f for root in roots for f in root.rglob("*") if f.suffix in (".js", ".css", ".html")]
    assert VENDOR / MANIFEST["file"] in files
    assert [f.name for f in files if OFF_HOST.search(f.read_bytes())] == []
    # Plotly's own off-host defaults were blanked where it was vendored, each found once.
    assert len(MANIFEST["off_host_defaults_blanked"]) == 3
    assert MANIFEST["upstream_sha384"] != MANIFEST["sha384"]


def test_pages_name_the_bundle_and_its_integrity_and_load_no_other_plotly(
    client: TestClient,
) -> None:
    html = client.get("/").text
    url = versioned(client, f"vendor/plotly/{MANIFEST['file']}")
    assert f'data-plotly="{url}"' in html
    assert f'data-plotly-integrity="{MANIFEST["sha384"]}"' in html
    assert "plotly.min.js" not in html and client.get("/vendor/plotly.min.js").status_code == 404
    response = client.get(url, headers={"accept-encoding": "br"})
    assert response.headers["content-encoding"] == "br"
    assert response.num_bytes_downloaded == (VENDOR / (MANIFEST["file"] + ".br")).stat().st_size
    assert response.content == (VENDOR / MANIFEST["file"]).read_bytes()  # httpx decodes it


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("identity", None),
        ("", None),
    ],
)
def test_static_files_come_in_the_best_encoding_the_client_accepts(
    client: TestClient, accept: str, encoding: str | None
) -> None:
    body = (STATIC / "js" / "main.js").read_bytes()
    response = client.get(versioned(client, "js/main.js"), headers={"accept-encoding": accept})
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == encoding
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.content == body


def test_versioned_urls_are_immutable_and_plain_ones_revalidate(client: TestClient) -> None:
    fresh = client.get(versioned(client, "css/app.css"))
    assert fresh.headers["cache-control"] == IMMUTABLE
    plain = client.get("/static/css/app.css", headers={"accept-encoding": "gzip"})
    assert plain.headers["cache-control"] == "no-cache"
    etag = plain.headers["etag"]
    again = client.get(
        "/static/css/app.css", headers={"accept-encoding": "gzip", "if-none-match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    other = client.get(
        "/static/css/app.css", headers={"accept-encoding": "br", "if-none-match": etag}
    )
    assert other.status_code == 200  # another encoding is another representation


def test_head_unknown_paths_and_other_methods(client: TestClient) -> None:
    head = client.head(versioned(client, "js/main.js"), headers={"accept-encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == (STATIC / "js" / "main.js").stat().st_size
    assert client.get(versioned(client, "js/nothing.js")).status_code == 404
    assert client.get(versioned(client, "../pyproject.toml")).status_code == 404
    assert client.post(versioned(client, "js/main.js")).status_code == 405
    stale = "/static/000000000000/js/main.js"  # an old version's URL: no such file
    assert client.get(stale).status_code == 404


def test_the_version_covers_the_whole_tree(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("export const a = 1;\n" * 50)
    (tmp_path / "b.css").write_text("p { color: red; }\n")
    first = StaticAssets(tmp_path)
    assert set(first.files) == {"js/a.js", "b.css"}
    assert StaticAssets(tmp_path).version == first.version
    (tmp_path / "b.css").write_text("p { color: blue; }\n")
    assert StaticAssets(tmp_path).version != first.version
    encoded = first.files["js/a.js"]
    assert gzip.decompress(encoded.bodies["gzip"]) == encoded.bodies["identity"]
    assert "br" not in first.files["b.css"].bodies  # too small to be worth compressing


def test_a_stale_brotli_form_is_remade_not_served(tmp_path: Path) -> None:
    (tmp_path / "lib.js").write_text("export const x = 2;\n" * 40)
    (tmp_path / "lib.js.br").write_bytes(brotli.compress(b"an older version of the file"))
    assets = StaticAssets(tmp_path)
    assert set(assets.files) == {"lib.js"}
    assert (
        brotli.decompress(assets.files["lib.js"].bodies["br"]) == (tmp_path / "lib.js").read_bytes()
    )


def test_module_imports_resolve_under_the_versioned_prefix(client: TestClient) -> None:
    """A relative import from a versioned module is itself versioned, so it is cached for good."""
    main = versioned(client, "js/main.js")
    for spec in re.findall(r'from "(\./[^"]+)"', (STATIC / "js" / "main.js").read_text()):
        url = main.rsplit("/", 1)[0] + "/" + spec.removeprefix("./")
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == IMMUTABLE


def test_pages_and_catalogs_are_compressed_and_catalogs_revalidate(client: TestClient) -> None:
    page = client.get("/lab", headers={"accept-encoding": "br"})
    assert page.headers["content-encoding"] == "br" and "<h1" in page.text
    presets = client.get("/api/presets", headers={"accept-encoding": "br"})
    assert presets.headers["content-encoding"] == "br"
    assert len(presets.json()) > 10
    etag = presets.headers["etag"]
    again = client.get("/api/presets", headers={"accept-encoding": "br", "if-none-match": etag})
    assert again.status_code == 304
