r"""The fake server's ASGI app: the Kling endpoints, the fake CDN and the ``/_fake/`` controls.

Routes:

- ``/v1/kling/...``: the API, behind ``Authorization: Bearer <token>``; requests are recorded,
  delayed by the configured latency and subject to faults (``_routes``, ``_middleware``).
- ``/_cdn/...``: the files behind download ``cdnUrl``\\s; no auth, recorded, no latency.
- ``/_fake/...``: out-of-process control (stats, reset, config); no auth, not recorded
  (``_control``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from ._control import control_routes
from ._middleware import Instrumentation
from ._responses import json_response
from ._routes import api_routes
from ._state import ServerState

__all__ = ["build_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = "Method not allowed" if status == 405 else "Not found"
    return json_response({"error": message}, status)


def build_app(state: ServerState) -> Starlette:
    """The Starlette app serving ``state``'s dataset."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if state.started is not None:
            state.started.set()
        yield

    app = Starlette(
        routes=[*api_routes(state), *control_routes(state)],
        middleware=[Middleware(Instrumentation, state=state)],
        exception_handlers={404: _http_error, 405: _http_error},
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    return app
