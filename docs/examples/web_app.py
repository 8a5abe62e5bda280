"""kling_async inside a Starlette app: one client for the app's lifetime, errors as HTTP answers.

Run it with any ASGI server, e.g. ``uvicorn web_app:app`` or ``hypercorn web_app:app``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kling_async import (
    APITimeoutError,
    InvalidInputError,
    KlingClient,
    KlingError,
    NotFoundError,
    RateLimitError,
    to_dict,
)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """One client, so one connection pool, from start-up to shutdown, shared by every request."""
    # Each attempt may take 10 s, a whole call (its retries and their waits) 20 s.
    async with KlingClient(timeout=10, deadline=20) as client:
        app.state.kling = client
        yield


def kling(request: Request) -> KlingClient:
    """The app's client."""
    client: KlingClient = request.app.state.kling
    return client


async def list_works(request: Request) -> Response:
    """GET /works?page=N: one page of generated works, as JSON."""
    page_num = int(request.query_params.get("page", "1"))
    page = await kling(request).assets.list(page_num=page_num, page_size=20)
    return JSONResponse(to_dict(page, form="python"))


async def get_task(request: Request) -> Response:
    """GET /tasks/{task_id}: how a generation task went, answered within 5 s."""
    quick = kling(request).with_options(deadline=5)  # shares the app's pool
    detail = await quick.tasks.get(request.path_params["task_id"])
    works = [to_dict(work, form="python") for work in detail.works]
    return JSONResponse({"done": detail.done, "succeeded": detail.succeeded, "works": works})


async def kling_error(request: Request, exc: Exception) -> Response:
    """The SDK's errors as HTTP answers: the caller's mistake, or a service that failed us."""
    if isinstance(exc, InvalidInputError):  # bad input, refused before anything was sent
        return JSONResponse({"error": str(exc)}, status_code=400)
    if isinstance(exc, NotFoundError):  # TaskNotFoundError too
        return JSONResponse({"error": "not found"}, status_code=404)
    if isinstance(exc, RateLimitError):  # every Kling account is busy, after the retries
        wait = round(exc.retry_after) if exc.retry_after else 10
        headers = {"Retry-After": str(wait)}
        return JSONResponse({"error": "busy, try again"}, status_code=503, headers=headers)
    if isinstance(exc, APITimeoutError):  # a timeout, or the deadline
        return JSONResponse({"error": "Kling did not answer in time"}, status_code=504)
    # Anything else (a 401 or 402 for our token, a 5xx, a broken connection) is not the
    # caller's fault: answer 502 and keep the details for the log.
    return JSONResponse({"error": "Kling failed"}, status_code=502)


app = Starlette(
    routes=[Route("/works", list_works), Route("/tasks/{task_id}", get_task)],
    lifespan=lifespan,
    exception_handlers={KlingError: kling_error},
)
