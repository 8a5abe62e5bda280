"""``client.accounts``: the Kling accounts configured on the useapi.net subscription."""

from __future__ import annotations

from .._exceptions import InvalidInputError
from .._models import Account
from .._params import normalize_email, path_segment, shown
from .._types import NOT_GIVEN, CallContext, NotGiven, TimeoutTypes
from ._base import Resource

__all__ = ["AccountsResource"]


class AccountsResource(Resource):
    """The configured Kling accounts: GET /accounts and GET /accounts/{email}.

    Example::

        for account in await client.accounts.list():
            print(account.email, account.max_jobs)
        balance = (await client.accounts.get("me@example.com")).balance
    """

    __slots__ = ()

    async def list(self, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> tuple[Account, ...]:
        """Every configured account, in the server's order (GET /accounts).

        The service answers with an object keyed by email; this gives its values, each of
        which carries its own `Account.email`. No account has a ``balance`` here: `get` has it.
        With no account configured the service answers 404, raised as `NotFoundError`.
        """
        accounts = await self._requester.request(
            "GET",
            "/accounts",
            dict[str, Account],
            params={},
            timeout=timeout,
            context=CallContext(),
        )
        return tuple(accounts.values())

    async def get(self, email: str, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> Account:
        """One account with its live balance (GET /accounts/{email}); `NotFoundError` if unknown.

        ``email`` names the account, and is required: the client's default account does not
        stand in for it. It is sent stripped of surrounding spaces, as one path segment.
        """
        if email is None or (isinstance(email, str) and not email.strip()):
            raise InvalidInputError(
                f"email {shown(email)} is not an email address: name an account"
            )
        address = normalize_email(email)
        assert address is not None  # only None and blanks normalise to None, refused above
        return await self._requester.request(
            "GET",
            "/accounts/" + path_segment(address, "email"),
            Account,
            params={},
            timeout=timeout,
            context=CallContext(email=address),
        )
