"""Static files served light: compressed once per process, under a content-hashed URL.

Every file of static/ is read at startup, compressed with brotli and gzip once (a vendored file
may ship its brotli form beside it, `NAME.br`, made when it was vendored: quality 11 on 1.5 MB
takes seconds), and served under `/static/<version>/...`, where the version is a hash of the
whole tree. Any change to any file changes every URL, so those responses are cached for a year
as immutable, and an ES module's relative imports resolve under the same prefix. The plain
`/static/...` path still answers, revalidated with its ETag, for anything that links it directly.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import brotli
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
PLAIN_TEXT = "text/plain; charset=utf-8"  # LICENSE and other files without a known suffix
PRECOMPRESSED = ".br"
ENCODINGS = ("br", "gzip")  # preferred first, when the client accepts both


def negotiate(request_headers: Headers, offered: Iterable[str]) -> str:
    """The best of our encodings the client accepts ("identity" when none)."""
    accepted = set()
    for part in request_headers.get("accept-encoding", "").lower().split(","):
        name, _, params = part.strip().partition(";")
        refused = params.replace(" ", "").startswith("q=0") and not re.search(r"[1-9]", params)
        if not refused:
            accepted.add(name.strip())
    return next((e for e in ENCODINGS if e in offered and e in accepted), "identity")


@dataclass(frozen=True)
class Encoded:
    """One body in every encoding worth sending, with an ETag per encoding."""

    media_type: str
    digest: str
    bodies: Mapping[str, bytes]  # "identity" always; "br" and "gzip" where they are smaller

    @classmethod
    def of(cls, body: bytes, media_type: str, *, brotli_body: bytes | None = None) -> Encoded:
        """Compress `body` (reusing a brotli form made earlier, if it is the same content)."""
        if brotli_body is None or brotli.decompress(brotli_body) != body:
            brotli_body = brotli.compress(body, quality=11)
        candidates = {"br": brotli_body, "gzip": gzip.compress(body, compresslevel=9, mtime=0)}
        bodies = {"identity": body}
        bodies.update({k: v for k, v in candidates.items() if len(v) < 0.95 * len(body)})
        return cls(media_type, hashlib.sha256(body).hexdigest()[:16], bodies)

    def response(self, request_headers: Headers, cache_control: str, method: str) -> Response:
        """200 with the best encoding, or 304 when the client holds this representation."""
        encoding = negotiate(request_headers, self.bodies)
        etag = f'"{self.digest}-{encoding}"'
        headers = {"cache-control": cache_control, "etag": etag, "vary": "Accept-Encoding"}
        if etag in request_headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        if encoding != "identity":
            headers["content-encoding"] = encoding
        body = self.bodies[encoding]
        if method == "HEAD":
            headers["content-length"] = str(len(body))
            body = b""
        return Response(body, media_type=self.media_type, headers=headers)


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix, PLAIN_TEXT)


def compressed(response: Response, request_headers: Headers) -> Response:
    """A page rendered per request, compressed fast (brotli 5, gzip 6) if the client accepts it."""
    encoding = negotiate(request_headers, ENCODINGS)
    body = bytes(response.body)
    if encoding == "br":
        body = brotli.compress(body, quality=5)
    elif encoding == "gzip":
        body = gzip.compress(body, compresslevel=6, mtime=0)
    headers = {k: v for k, v in response.headers.items() if k != "content-length"}
    if encoding != "identity":
        headers["content-encoding"] = encoding
    headers["vary"] = "Accept-Encoding"
    return Response(body, status_code=response.status_code, headers=headers)


class StaticAssets:
    """Every file under a directory, encoded, and the version of the tree as a whole."""

    def __init__(self, directory: Path) -> None:
        files = {
            p.relative_to(directory).as_posix(): p for p in directory.rglob("*") if p.is_file()
        }
        tree = hashlib.sha256()
        self.files: dict[str, Encoded] = {}
        for name in sorted(files):
            if name.endswith(PRECOMPRESSED) and name.removesuffix(PRECOMPRESSED) in files:
                continue  # the brotli form of its sibling, made when it was vendored
            body = files[name].read_bytes()
            tree.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
            made = files.get(name + PRECOMPRESSED)
            brotli_body = made.read_bytes() if made else None
            self.files[name] = Encoded.of(body, media_type(files[name]), brotli_body=brotli_body)
        self.version = tree.hexdigest()[:12]

    def app(self, cache_control: str) -> StaticApp:
        """An ASGI app serving these files with the given caching."""
        return StaticApp(self, cache_control)


class StaticApp:
    """Mounted under a prefix: GET or HEAD of a file's path below it."""

    def __init__(self, assets: StaticAssets, cache_control: str) -> None:
        self.assets = assets
        self.cache_control = cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        method = scope["method"]
        # Mounted apps see their own remainder of the path in "path" minus "root_path".
        path = scope["path"].removeprefix(scope.get("root_path", "")).lstrip("/")
        found = self.assets.files.get(path)
        if method not in ("GET", "HEAD"):
            response = Response("method not allowed", 405, headers={"allow": "GET, HEAD"})
        elif found is None:
            response = Response("not found", 404, media_type=PLAIN_TEXT)
        else:
            response = found.response(Headers(scope=scope), self.cache_control, method)
        await response(scope, receive, send)


@cache
def load_assets(directory: Path) -> StaticAssets:
    """The static tree, read and compressed once per process (tests build many apps)."""
    return StaticAssets(directory)
