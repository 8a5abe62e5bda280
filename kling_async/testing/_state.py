"""`ServerState`: what the fake app serves and records, shared with the `FakeKlingServer`."""

from __future__ import annotations

import random
from typing import Any

import anyio

from ._data import Dataset
from ._faults import FaultPlan
from ._stats import RequestLog

__all__ = ["ServerState"]


class ServerState:
    """Mutable state shared by the app and the `FakeKlingServer` that owns it."""

    def __init__(
        self, dataset: Dataset, token: str, *, latency: float, jitter: float, seed: int
    ) -> None:
        self.dataset = dataset
        self.token = token
        self.log = RequestLog()
        self.faults = FaultPlan()
        self.latency = latency
        self.jitter = jitter
        self._latency_rng = random.Random(f"kling-fake-latency:{seed}")
        self.started: anyio.Event | None = None
        self.closing: anyio.Event | None = None

    def begin_run(self) -> None:
        """Fresh lifecycle events for one run of the server (call inside the event loop)."""
        self.started = anyio.Event()
        self.closing = anyio.Event()

    def next_delay(self) -> float:
        """Seconds to hold the next API request: latency plus or minus up to jitter."""
        if self.jitter <= 0:
            return self.latency
        return max(0.0, self.latency + self._latency_rng.uniform(-self.jitter, self.jitter))

    def reset_data(self) -> None:
        """Bring back every upload and task deleted through the API; forget uploads made there."""
        for account in self.dataset.accounts:
            account.deleted_upload_ids.clear()
            account.deleted_task_ids.clear()
            account.forget_added_uploads()

    def stats(self) -> dict[str, Any]:
        """What ``GET /_fake/stats`` reports."""
        return {
            **self.log.stats(),
            "latency": self.latency,
            "jitter": self.jitter,
            "pending_faults": [fault.to_dict() for fault in self.faults.pending],
            "fault_rate": self.faults.rate,
            "random_faults": [fault.to_dict() for fault in self.faults.random_faults],
        }
