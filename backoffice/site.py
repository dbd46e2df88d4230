"""Serving the back office's files: one page, its scripts and styles, all from the appliance itself.

A shop may have no internet, so nothing is loaded from elsewhere, and the
Content-Security-Policy says so (a script injected into a product name could not load
or send anything either). The files are read and gzipped once at start; every answer
carries an ETag, so a phone on shop Wi-Fi revalidates with one small request per file
instead of downloading them again.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/office/"
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate with the ETag: a new version shows on the next load
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    content_type: str


def load(folder: Path = STATIC) -> dict[str, Asset]:
    """Every file under `folder`, by its path relative to it."""
    assets = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        body = path.read_bytes()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".js":
            kind = "text/javascript"  # modules must be served as JavaScript whatever the system's mime table says
        assets[path.relative_to(folder).as_posix()] = Asset(body, gzip.compress(body, 9, mtime=0),
                                                            '"' + hashlib.sha256(body).hexdigest()[:20] + '"', kind)
    return assets


def routes(assets: dict[str, Asset] | None = None) -> list[web.RouteDef]:
    files = load() if assets is None else assets

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name") or "index.html"
        found = files.get(name)
        if found is None:
            raise web.HTTPNotFound(reason=f"the back office has no file {name!r}")
        headers = {**HEADERS, "ETag": found.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("If-None-Match") == found.etag:
            return web.Response(status=304, headers=headers)
        body = found.body
        if "gzip" in request.headers.get("Accept-Encoding", "") and len(found.gzipped) < len(body):
            body, headers["Content-Encoding"] = found.gzipped, "gzip"
        charset = "utf-8" if found.content_type.startswith("text/") else None
        return web.Response(body=body, headers=headers, content_type=found.content_type, charset=charset)

    async def home(_: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(PREFIX)

    return [web.get("/", home), web.get(PREFIX, asset), web.get(PREFIX + "{name:[A-Za-z0-9_.-]+}", asset)]
