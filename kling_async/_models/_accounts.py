"""The models of GET /accounts and GET /accounts/{email}: the accounts of the subscription."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._assets import PointsGrant
from ._common import datetime_from_iso, datetime_from_ms, free_form

__all__ = ["Account", "AccountBalance", "AccountSession"]


# --- GET /accounts, GET /accounts/{email} ----------------------------------------------------


@attrs.frozen
class AccountSession:
    """The session useapi.net holds with Kling for an account.

    The service spells two of its fields in PascalCase (``ExpireTime``, ``ExpireTimeUTC``);
    the attributes are snake_case all the same.

    Attributes:
        user_id: the Kling user the session signed in as, a string.
        expire_time: when the session expires, as the service sends it. Its unit is not
            documented (the service's examples read as seconds), so it stays a raw number;
            `expires_at` reads `expire_time_utc` instead.
        expire_time_utc: when the session expires, as an ISO 8601 UTC string.
    """

    user_id: str | None = None
    expire_time: int | None = attrs.field(default=None, metadata={"wire_name": "ExpireTime"})
    expire_time_utc: str | None = attrs.field(default=None, metadata={"wire_name": "ExpireTimeUTC"})

    @property
    def expires_at(self) -> datetime | None:
        """`expire_time_utc` as an aware UTC datetime; None when unset or not a date."""
        return datetime_from_iso(self.expire_time_utc)


@attrs.frozen
class AccountBalance:
    """An account's credits as Kling counts them at the time of the call.

    Attributes:
        points: every grant of credits (a plan's allowance, a purchase), in the server's order.
        tickets: the account's tickets, as free-form JSON (their shape is not documented).
        next_apply_time: when the plan's next allowance arrives, in ms.
        total: the credits left, as the service counts them (it does not promise this is the
            sum of the grants' `PointsGrant.balance`).
    """

    points: tuple[PointsGrant, ...] = ()
    tickets: tuple[Any, ...] = free_form()
    next_apply_time: int | None = None
    total: int | None = None

    @property
    def next_apply_at(self) -> datetime | None:
        """`next_apply_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.next_apply_time)


@attrs.frozen
class Account:
    """A Kling account configured on the useapi.net subscription.

    GET /accounts lists them (`AccountsResource.list`); GET /accounts/{email}
    (`AccountsResource.get`) gives one with its live `balance`.

    Attributes:
        email: the account's email, what the other endpoints take as ``email``.
        session: the session useapi.net holds with Kling.
        max_jobs: how many generations useapi.net runs on the account at once.
        password: the password as the service shows it: always masked, never the real one.
        balance: the account's credits; only GET /accounts/{email} sends them.
        error: what went wrong when useapi.net last signed in, when something did.
    """

    email: str
    session: AccountSession | None = None
    max_jobs: int | None = None
    password: str | None = None
    balance: AccountBalance | None = None
    error: str | None = None
