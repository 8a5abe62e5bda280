"""``client.scheduler``: the jobs this API token runs, and the room left on each account."""

from __future__ import annotations

from .._models import Capacity
from .._types import NOT_GIVEN, CallContext, NotGiven, TimeoutTypes
from ._base import Resource

__all__ = ["SchedulerResource"]


class SchedulerResource(Resource):
    """useapi.net's scheduler: GET /scheduler/available.

    Example::

        capacity = await client.scheduler.available()
        for account in capacity.available:
            print(account.email, account.available, "of", account.max_jobs, "free")
    """

    __slots__ = ()

    async def available(self, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> Capacity:
        """What runs now, and how many more jobs each account takes (GET /scheduler/available).

        The answer covers every configured account, so the call names none (no ``email=``).
        It counts only the jobs this API token started: useapi.net tracks each for up to an
        hour, or until it ends.
        """
        return await self._requester.request(
            "GET",
            "/scheduler/available",
            Capacity,
            params={},
            timeout=timeout,
            context=CallContext(),
        )
