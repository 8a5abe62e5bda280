"""client.accounts (GET /accounts, GET /accounts/{email}) against the fake server over loopback."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from kling_async import (
    Account,
    AccountBalance,
    AccountSession,
    AuthenticationError,
    InvalidInputError,
    KlingClient,
    NotFoundError,
    PointsGrant,
    ResponseValidationError,
    ServerError,
)
from kling_async.testing import FAST_RETRY, FakeKlingServer, Fault, RecordedRequest
from kling_async.testing._data import PASSWORD_MASK

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.fake(
        accounts=3, works_per_account=2, uploads_per_account=0, elements_per_account=0, seed=5
    ),
]


def api_requests(fake: FakeKlingServer) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.path.startswith("/v1/kling")]


def listed(email: str, **fields: Any) -> dict[str, Any]:
    """One entry of a GET /accounts body."""
    return {"email": email, "maxJobs": 3, "password": "...", **fields}


# -- GET /accounts ----------------------------------------------------------------------------


async def test_list_gives_every_account_in_the_servers_order_with_typed_fields(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    accounts = await client.accounts.list()

    assert tuple(account.email for account in accounts) == fake.emails
    for account, record in zip(accounts, fake.data.accounts, strict=True):
        assert isinstance(account, Account)
        assert account.max_jobs == record.max_jobs
        assert account.password == PASSWORD_MASK
        assert account.balance is None  # only GET /accounts/{email} sends it
        expires = datetime.fromtimestamp(record.session_expire_time, timezone.utc)
        assert account.session == AccountSession(
            user_id=str(record.user_id),
            expire_time=record.session_expire_time,
            expire_time_utc=expires.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        )
        assert account.session.expires_at == expires


async def test_list_sends_no_email_even_when_the_client_has_a_default_account(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    assert client.email == fake.emails[0]
    await client.accounts.list()
    [sent] = api_requests(fake)
    assert (sent.method, sent.path, sent.query) == ("GET", "/v1/kling/accounts", {})


async def test_list_keeps_the_servers_order_and_ignores_unknown_fields(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    body = {
        "zed@example.com": listed("zed@example.com", signInMode="password"),
        "amy@example.com": listed("amy@example.com", error="Captcha required"),
    }
    fake.add_faults(Fault.body(body), path="/accounts")

    accounts = await client.accounts.list()

    assert [account.email for account in accounts] == ["zed@example.com", "amy@example.com"]
    assert accounts[1].error == "Captcha required"
    assert accounts[0].session is None


async def test_a_listed_account_without_its_email_names_its_wire_path(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    body = {"ok@example.com": listed("ok@example.com"), "bad@example.com": {"maxJobs": 2}}
    fake.add_faults(Fault.body(body), path="/accounts")

    with pytest.raises(ResponseValidationError) as caught:
        await client.accounts.list()

    assert caught.value.path == '$["bad@example.com"].email'
    assert '$["bad@example.com"].email' in str(caught.value)
    assert len(api_requests(fake)) == 1  # a body that does not fit is not retried


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"a@example.com": ["not", "an", "object"]}, '$["a@example.com"]'),
        ({"a@example.com": listed("a@example.com", maxJobs="8")}, '$["a@example.com"].maxJobs'),
        (
            {"a@example.com": listed("a@example.com", session={"ExpireTime": "soon"})},
            '$["a@example.com"].session.ExpireTime',
        ),
    ],
)
async def test_a_listed_field_of_the_wrong_type_names_its_wire_path(
    fake: FakeKlingServer, client: KlingClient, body: dict[str, Any], path: str
) -> None:
    fake.add_faults(Fault.body(body), path="/accounts")
    with pytest.raises(ResponseValidationError) as caught:
        await client.accounts.list()
    assert caught.value.path == path


# -- GET /accounts/{email} --------------------------------------------------------------------


async def test_get_gives_the_account_with_its_balance_and_total(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    for record in fake.data.accounts:
        account = await client.accounts.get(record.email)

        assert account.email == record.email
        assert account.max_jobs == record.max_jobs
        balance = account.balance
        assert isinstance(balance, AccountBalance)
        assert len(balance.points) == len(record.points_grants)
        assert all(isinstance(grant, PointsGrant) for grant in balance.points)
        assert balance.total == sum(grant.balance or 0 for grant in balance.points)
        assert balance.next_apply_at == balance.points[0].ends_at
        assert all(isinstance(ticket, dict) for ticket in balance.tickets)  # free-form
    assert sorted(len(record.points_grants) for record in fake.data.accounts) == [1, 2, 3]


async def test_the_plan_grant_of_the_balance_is_the_one_the_assets_page_shows(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    account = await client.accounts.get(fake.emails[0])
    page = await client.assets.list(page_size=1)

    assert account.balance is not None
    assert page.user_points is not None
    assert account.balance.points[0] == page.user_points.points[0]
    assert account.balance.points[0].type == "plan"
    assert account.balance.points[0].starts_at == datetime(2025, 4, 11, tzinfo=timezone.utc)


async def test_get_matches_the_email_in_any_case_and_notes_the_account(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    wanted = fake.emails[2]

    account = await client.accounts.get(f"  {wanted.upper()} ")

    assert account.email == wanted
    [sent] = api_requests(fake)
    assert sent.path == f"/v1/kling/accounts/{wanted.upper()}"
    assert sent.query == {}
    assert sent.email == wanted


async def test_get_of_an_unknown_account_is_not_found_and_not_retried(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.accounts.get("nobody@example.com")

    assert caught.value.status_code == 404
    assert "nobody@example.com" in caught.value.message
    assert caught.value.email == "nobody@example.com"
    assert len(api_requests(fake)) == 1


async def test_the_email_stays_one_path_segment(fake: FakeKlingServer, client: KlingClient) -> None:
    with pytest.raises(NotFoundError):  # no such account: only what the server saw matters
        await client.accounts.get("a/b?c#d@example.com")
    [sent] = api_requests(fake)
    assert sent.path == "/v1/kling/accounts/a/b?c#d@example.com"  # decoded by the server
    assert sent.raw_path.startswith("/v1/kling/accounts/a%2Fb%3Fc%23d")
    assert sent.query == {}


@pytest.mark.parametrize("email", ["", "   ", "no-at-sign", "two words@example.com", None, 42])
async def test_get_refuses_a_bad_email_before_any_request(
    fake: FakeKlingServer, client: KlingClient, email: Any
) -> None:
    with pytest.raises(InvalidInputError, match="email"):
        await client.accounts.get(email)
    assert api_requests(fake) == []


async def test_a_balance_field_of_the_wrong_type_names_its_wire_path(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    body = {"email": fake.emails[0], "balance": {"points": [{"balance": 1}, {"balance": "12"}]}}
    fake.add_faults(Fault.body(body), path="/accounts/")

    with pytest.raises(ResponseValidationError) as caught:
        await client.accounts.get(fake.emails[0])

    assert caught.value.path == "$.balance.points[1].balance"


async def test_an_account_without_its_email_is_a_validation_error(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    fake.add_faults(Fault.body({"maxJobs": 1}), path="/accounts/")
    with pytest.raises(ResponseValidationError) as caught:
        await client.accounts.get(fake.emails[0])
    assert caught.value.path == "$.email"


# -- errors and retries -----------------------------------------------------------------------


async def test_a_wrong_token_is_an_authentication_error_on_both(fake: FakeKlingServer) -> None:
    async with KlingClient("user:1-wrong", base_url=fake.base_url, retry=FAST_RETRY) as client:
        with pytest.raises(AuthenticationError):
            await client.accounts.list()
        with pytest.raises(AuthenticationError):
            await client.accounts.get(fake.emails[0])
    assert [r.status for r in api_requests(fake)] == [401, 401]  # never retried


@pytest.mark.parametrize("call", ["list", "get"])
async def test_429_and_503_are_retried(
    fake: FakeKlingServer, client: KlingClient, call: str
) -> None:
    fake.add_faults(Fault.status(429), Fault.status(503), path="/accounts")

    if call == "list":
        result: Any = await client.accounts.list()
        assert len(result) == len(fake.emails)
    else:
        result = await client.accounts.get(fake.emails[1])
        assert result.email == fake.emails[1]

    assert [r.status for r in api_requests(fake)] == [429, 503, 200]


async def test_with_options_has_the_accounts_too(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    other = client.with_options(max_retries=0)
    fake.add_faults(Fault.status(503), path="/accounts")
    with pytest.raises(ServerError):
        await other.accounts.list()
    assert len(await other.accounts.list()) == len(fake.emails)
