"""Where things live on the fake server: the API under `API_ROOT`, the CDN, the controls."""

from __future__ import annotations

__all__ = ["API_ROOT", "CDN_ROOT", "CONTROL_ROOT", "api_path"]

#: Where the API lives on the fake server.
API_ROOT = "/v1/kling"
#: Where the files behind download ``cdnUrl``\s live.
CDN_ROOT = "/_cdn"
#: Where the out-of-process controls live.
CONTROL_ROOT = "/_fake"


def api_path(path: str) -> str | None:
    """The part of ``path`` under `API_ROOT` (``"/assets"``; ``"/"`` for the root), else None."""
    if path == API_ROOT or path.startswith(API_ROOT + "/"):
        return path[len(API_ROOT) :] or "/"
    return None
