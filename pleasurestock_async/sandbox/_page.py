"""The inspector's web page, served at the sandbox's root: plain HTML, CSS and JavaScript shipped
in the package (``sandbox/static/``), no build step and nothing fetched from elsewhere. The page
reads the inspection routes with ``fetch``; its Content-Security-Policy allows only its own
files, so even a slip in the page could not run a script a client stored."""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._errors import ApiError

__all__ = ["STATIC_PREFIX", "is_page_path", "page_routes"]

STATIC_PREFIX = "/static/"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _files() -> dict[str, tuple[bytes, str]]:
    """Every static file by name, with its media type."""
    folder = resources.files("pleasurestock_async.sandbox").joinpath("static")
    found = {}
    for item in folder.iterdir():
        suffix = "." + item.name.rpartition(".")[2]
        if item.is_file() and suffix in _TYPES:
            found[item.name] = (item.read_bytes(), _TYPES[suffix])
    return found


def _file(name: str) -> Response:
    found = _files().get(name)
    if found is None:
        return ApiError(404, "Not Found", f"No file {name[:100]}").response()
    body, media_type = found
    return Response(body, headers=_HEADERS, media_type=media_type)


async def _index(request: Request) -> Response:
    return _file("index.html")


async def _static(request: Request) -> Response:
    return _file(request.path_params["name"])


def is_page_path(path: str) -> bool:
    """Whether ``path`` is the page or one of its files (not an API route)."""
    return path == "/" or path.startswith(STATIC_PREFIX)


def page_routes() -> list[Route]:
    """``/`` (the page) and ``/static/{name}`` (its files)."""
    return [
        Route("/", _index, methods=["GET"]),
        Route(STATIC_PREFIX + "{name}", _static, methods=["GET"]),
    ]
