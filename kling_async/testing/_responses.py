"""How the fake server's endpoints answer: JSON, and `APIError` as ``{"error": ...}``.

`route` turns a `Handler` into a Starlette route that does both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._faults import encode_json
from ._state import ServerState

__all__ = ["APIError", "Handler", "invalid_parameters", "json_response", "not_found", "route"]

#: An endpoint of the fake server: it answers a request from the server's state.
Handler = Callable[[Request, ServerState], Awaitable[Response]]


class APIError(Exception):
    """Ends a request with ``{"error": message}`` (plus ``extra``) and ``status``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


def json_response(data: Any, status: int = 200) -> Response:
    """``data`` as a JSON response."""
    # Not plain orjson: a pending Fault.body in the stats may hold integers beyond 64 bits.
    return Response(encode_json(data), status_code=status, media_type="application/json")


def invalid_parameters(detail: str) -> APIError:
    """The service's 400 for a malformed query parameter, with ``detail`` saying which."""
    return APIError(400, "Invalid parameters", detail=detail)


def not_found() -> APIError:
    """A plain 404, ``{"error": "Not found"}``."""
    return APIError(404, "Not found")


def route(method: str, path: str, handler: Handler, state: ServerState) -> Route:
    """A route answering ``method`` on ``path`` with ``handler``; an `APIError` becomes JSON."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, state)
        except APIError as error:
            return json_response(error.body, error.status)

    return Route(path, endpoint, methods=[method])
