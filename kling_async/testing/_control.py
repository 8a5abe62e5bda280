"""The fake server's ``/_fake/`` controls: stats, the request log, reset and config.

They are not recorded and need no token; a `FakeKlingServer` in another process is driven
through them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._faults import Fault
from ._params import json_object_body
from ._paths import CONTROL_ROOT
from ._responses import APIError, Handler, json_response, route
from ._state import ServerState

__all__ = ["CONTROL_ENDPOINTS", "apply_config", "control_routes"]


def apply_config(state: ServerState, body: dict[str, Any]) -> None:
    """Apply a ``POST /_fake/config`` body to ``state``; ValueError when it is invalid.

    Keys (all optional): ``latency``/``jitter`` in seconds (or ``latency_ms``/``jitter_ms``),
    ``clear_faults`` (bool), ``faults`` (a list of `Fault.from_dict` objects, queued), and
    ``fault_rate`` (``{"rate": 0.1, "faults": [...], "seed": 1, "path": ..., "method": ...}``,
    or null to switch random faults off).
    """
    latency = _seconds(body, "latency")
    jitter = _seconds(body, "jitter")
    faults = [Fault.from_dict(item) for item in _list_of_objects(body.get("faults", []))]
    rate_config = body.get("fault_rate", ...)
    if latency is not None:
        state.latency = latency
    if jitter is not None:
        state.jitter = jitter
    if body.get("clear_faults"):
        state.faults.clear()
    state.faults.add(faults, path=None, method=None)
    if rate_config is None:
        state.faults.set_rate(0.0, (), seed=0, path=None, method=None)
    elif rate_config is not ...:
        if not isinstance(rate_config, dict):
            raise ValueError("fault_rate must be an object or null")
        rate = rate_config.get("rate", 0.0)
        seed = rate_config.get("seed", 0)
        if not isinstance(rate, (int, float)) or not isinstance(seed, int):
            raise ValueError("fault_rate.rate must be a number and fault_rate.seed an integer")
        rate_faults = [
            Fault.from_dict(item) for item in _list_of_objects(rate_config.get("faults"))
        ]
        state.faults.set_rate(
            float(rate),
            rate_faults or [Fault.status(500)],
            seed=seed,
            path=rate_config.get("path"),
            method=rate_config.get("method"),
        )


def _seconds(body: dict[str, Any], name: str) -> float | None:
    for key, scale in ((name, 1.0), (f"{name}_ms", 0.001)):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{key} must be a non-negative number")
        return float(value) * scale
    return None


def _list_of_objects(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError("faults must be a list of objects")
    return value


async def _stats(request: Request, state: ServerState) -> Response:
    return json_response(state.stats())


async def _requests(request: Request, state: ServerState) -> Response:
    return json_response([record.to_dict() for record in state.log.requests])


async def _reset(request: Request, state: ServerState) -> Response:
    body = await json_object_body(request)
    state.log.reset()
    state.faults.clear()
    if body.get("data"):
        state.reset_data()
    return json_response(state.stats())


async def _config(request: Request, state: ServerState) -> Response:
    body = await json_object_body(request)
    try:
        apply_config(state, body)
    except (ValueError, TypeError) as error:
        raise APIError(400, str(error)) from None
    return json_response(state.stats())


#: The controls: (method, path under `CONTROL_ROOT`, handler).
CONTROL_ENDPOINTS: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/stats", _stats),
    ("GET", "/requests", _requests),
    ("POST", "/reset", _reset),
    ("POST", "/config", _config),
)


def control_routes(state: ServerState) -> list[Route]:
    """The Starlette routes of `CONTROL_ENDPOINTS`, acting on ``state``."""
    return [
        route(method, CONTROL_ROOT + path, handler, state)
        for method, path, handler in CONTROL_ENDPOINTS
    ]
