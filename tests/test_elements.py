"""client.elements (GET /elements, GET /elements/{elementId}) and batch.iter_element_pages,
against the fake server over loopback."""

from __future__ import annotations

import math
from contextlib import aclosing
from typing import Any

import pytest

from kling_async import (
    Element,
    ElementsListOptions,
    ElementsPage,
    ElementTag,
    InvalidInputError,
    KlingClient,
    NotFoundError,
    ResponseValidationError,
    batch,
)
from kling_async.testing import FakeKlingServer, Fault, RecordedRequest

pytestmark = [
    pytest.mark.anyio,
    # Seed 239 gives the three accounts 3, 2 and 0 favourite elements of 12 (checked below).
    pytest.mark.fake(
        accounts=3, works_per_account=2, uploads_per_account=0, elements_per_account=12, seed=239
    ),
]


def listings(fake: FakeKlingServer) -> list[RecordedRequest]:
    """The GET /elements requests the fake received (the listing, not single elements)."""
    return [r for r in fake.requests if r.method == "GET" and r.api_path == "/elements"]


def favored_ids(fake: FakeKlingServer, index: int) -> list[str]:
    return [e.id for e in fake.data.accounts[index].elements if e.favored]


def all_ids(fake: FakeKlingServer, index: int) -> list[str]:
    return [e.id for e in fake.data.accounts[index].elements]


# -- list -------------------------------------------------------------------------------------


async def test_list_gives_a_typed_page_with_the_total(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    page = await client.elements.list(page_size=5)

    assert isinstance(page, ElementsPage)
    assert (page.page_num, page.page_size, page.total) == (1, 5, 12)
    assert [element.id for element in page.elements] == all_ids(fake, 0)[:5]
    assert all(isinstance(element, Element) for element in page.elements)
    [sent] = listings(fake)
    assert sent.query == {"email": fake.emails[0], "pageSize": "5", "pageNum": "1"}


async def test_list_asks_for_50_a_page_by_default_and_takes_page_num(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    page = await client.elements.list(page_num=2)

    assert page.elements == ()
    assert page.total == 12
    assert listings(fake)[0].query == {"email": fake.emails[0], "pageSize": "50", "pageNum": "2"}


async def test_list_elements_are_those_get_returns(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    page = await client.elements.list(page_size=3)
    for element in page.elements:
        assert await client.elements.get(element.id) == element


# -- paging -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("page_size", "pages"), [(5, 3), (4, 3), (12, 1), (100, 1), (1, 12)])
async def test_iter_elements_asks_for_exactly_the_pages_the_total_gives(
    fake: FakeKlingServer, client: KlingClient, page_size: int, pages: int
) -> None:
    elements = [e async for e in client.elements.iter_elements(page_size=page_size)]

    assert [e.id for e in elements] == all_ids(fake, 0)
    # 12 elements in pages of 4 end with a full page: the total says it is the last.
    assert [r.query["pageNum"] for r in listings(fake)] == [str(n) for n in range(1, pages + 1)]


async def test_iter_pages_yields_each_page_once_in_order(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    pages = [page async for page in client.elements.iter_pages(page_size=4)]

    assert [page.page_num for page in pages] == [1, 2, 3]
    assert [e.id for page in pages for e in page.elements] == all_ids(fake, 0)
    assert len(listings(fake)) == 3


async def test_paging_ends_at_the_total_although_the_server_sends_full_pages(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    # A server whose pages never shrink: only the total can end the listing.
    body = {"elementsList": [{"id": "u_1"}, {"id": "u_2"}], "pageNum": 1, "pageSize": 2, "total": 4}
    fake.add_faults(Fault.body(body), Fault.body(body), Fault.body(body), path="/elements")

    elements = [e async for e in client.elements.iter_elements(page_size=2)]

    assert len(elements) == 4
    assert len(listings(fake)) == 2
    assert len(fake.pending_faults) == 1


async def test_a_listing_without_a_total_ends_at_its_first_short_page(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    full = {"elementsList": [{"id": "u_1"}, {"id": "u_2"}]}
    short = {"elementsList": [{"id": "u_3"}]}
    fake.add_faults(Fault.body(full), Fault.body(short), path="/elements")

    elements = [e async for e in client.elements.iter_elements(page_size=2)]

    assert [e.id for e in elements] == ["u_1", "u_2", "u_3"]
    assert len(listings(fake)) == 2


async def test_an_empty_listing_costs_one_request(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    assert [
        e async for e in client.elements.iter_elements(email=fake.emails[2], favored=True)
    ] == []
    assert len(listings(fake)) == 1


# -- filters ----------------------------------------------------------------------------------


async def test_filters_are_sent_in_their_wire_form(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    await client.elements.list(
        page_size=10, tag=" Character ", official=False, favored=True, sort="asc"
    )
    await client.elements.list(tag=4, official=True, sort="desc")

    first, second = (r.query for r in listings(fake))
    assert first == {
        "email": fake.emails[0],
        "pageSize": "10",
        "tag": "Character",
        "official": "false",
        "favored": "true",
        "sortDirection": "ASC",
        "pageNum": "1",
    }
    assert (second["tag"], second["official"], second["sortDirection"]) == ("4", "true", "DESC")
    assert "favored" not in second


async def test_favored_lists_only_favourite_elements(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    assert [len(favored_ids(fake, i)) for i in range(3)] == [3, 2, 0]  # what the seed gives

    page = await client.elements.list(email=fake.emails[1], favored=True)

    assert page.total == 2
    assert [e.id for e in page.elements] == favored_ids(fake, 1)
    assert all(e.favored for e in page.elements)


async def test_sort_asc_lists_the_oldest_first(fake: FakeKlingServer, client: KlingClient) -> None:
    elements = [e async for e in client.elements.iter_elements(sort="asc", page_size=5)]

    assert [e.id for e in elements] == all_ids(fake, 0)[::-1]
    times = [e.create_time for e in elements]
    assert times == sorted(times)  # type: ignore[type-var]


async def test_tag_lists_only_elements_with_that_tag(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    records = fake.data.accounts[0].elements
    tagged = [e.id for e in records if any(name == "Character" for _, name in e.tags)]
    assert 0 < len(tagged) < len(records)

    by_name = await client.elements.list(tag="character")
    by_id = await client.elements.list(tag=1)

    assert [e.id for e in by_name.elements] == tagged
    assert by_id == by_name
    assert by_name.total == len(tagged)


async def test_official_lists_none_of_the_accounts_own_elements(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    page = await client.elements.list(official=True)

    assert (page.elements, page.total) == ((), 0)


# -- bad input, refused before sending --------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"page_size": 0}, "page_size must be from 1 to 100"),
        ({"page_size": 101}, "page_size must be from 1 to 100"),
        ({"page_size": True}, "page_size must be an int"),
        ({"page_size": "10"}, "page_size must be an int"),
        ({"favored": "yes"}, "favored must be True, False or None"),
        ({"official": 1}, "official must be True, False or None"),
        ({"tag": "  "}, "tag must be a non-blank string"),
        ({"tag": -1}, "tag must be"),
        ({"sort": "ASCENDING"}, "sort must be 'asc' or 'desc'"),
    ],
)
async def test_bad_options_are_refused_before_any_request(
    fake: FakeKlingServer, client: KlingClient, options: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(InvalidInputError, match=complaint):
        await client.elements.list(**options)
    with pytest.raises(InvalidInputError, match=complaint):
        client.elements.iter_elements(**options)
    with pytest.raises(InvalidInputError, match=complaint):
        client.elements.page_source(**options)
    with pytest.raises(InvalidInputError, match=complaint):
        batch.iter_element_pages(client, fake.emails, **options)
    assert fake.requests == []


async def test_page_num_and_unknown_options_are_refused_before_any_request(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    with pytest.raises(InvalidInputError, match="page_num"):
        await client.elements.list(page_num=0)
    with pytest.raises(TypeError, match=r"elements\.iter_pages\(\).*'content_type'"):
        client.elements.iter_pages(content_type="video")  # type: ignore[call-arg]
    assert fake.requests == []


async def test_the_largest_page_size_is_sent(fake: FakeKlingServer, client: KlingClient) -> None:
    page = await client.elements.list(page_size=100)
    assert page.page_size == 100
    assert listings(fake)[0].query["pageSize"] == "100"


# -- get: both documented shapes --------------------------------------------------------------


async def test_get_decodes_the_current_flat_shape(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    record = fake.data.accounts[0].elements[0]

    element = await client.elements.get(record.id)

    assert element.id == record.id
    assert element.name == record.name
    assert element.type == record.type


async def test_get_decodes_the_older_wrapped_shape_into_the_same_element(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    account = fake.data.accounts[0]
    record = account.elements[0]
    flat = await client.elements.get(record.id)
    fake.add_faults(Fault.body({"element": account.render_element(record)}), path="/elements/")

    wrapped = await client.elements.get(record.id)

    assert wrapped == flat
    assert fake.pending_faults == ()


async def test_get_reads_a_body_with_an_id_of_its_own_as_the_flat_shape(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    body = {"id": "u_2", "name": "outer", "element": {"id": "u_3", "name": "inner"}}
    fake.add_faults(Fault.body(body), path="/elements/")

    element = await client.elements.get("u_2")

    assert (element.id, element.name) == ("u_2", "outer")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"element": {"name": "no id"}}, "$.element.id"),
        ({"element": {"id": 7}}, "$.element.id"),
        ({"name": "no id"}, "$.id"),
        ({"element": "u_1"}, "$.id"),  # not an object: not the wrapper, and no id
    ],
)
async def test_an_element_that_does_not_fit_names_its_wire_path_in_either_shape(
    fake: FakeKlingServer, client: KlingClient, body: dict[str, Any], path: str
) -> None:
    fake.add_faults(Fault.body(body), path="/elements/")

    with pytest.raises(ResponseValidationError) as caught:
        await client.elements.get("u_1")

    assert caught.value.path == path
    assert caught.value.email == fake.emails[0]


async def test_get_reads_the_earliest_list_fields(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    body = {
        "element": {
            "id": "u_5",
            "coverImage": "https://cdn.example.org/e/5.jpg",
            "imageResources": ["https://cdn.example.org/e/5-side.jpg"],
            "tag": {"id": "9", "tagKey": "animal", "tagDesc": "Animals"},
        }
    }
    fake.add_faults(Fault.body(body), path="/elements/")

    element = await client.elements.get("u_5")

    assert element.cover_image == "https://cdn.example.org/e/5.jpg"
    assert element.image_resources == ("https://cdn.example.org/e/5-side.jpg",)
    assert element.tag == ElementTag(id="9", tag_key="animal", tag_desc="Animals")


async def test_get_of_an_unknown_element_is_not_found(client: KlingClient) -> None:
    with pytest.raises(NotFoundError):
        await client.elements.get("u_000000000000000")


# -- batch.iter_element_pages -----------------------------------------------------------------


def expected_requests(totals: list[int], page_size: int) -> int:
    """The pages that exist: one for an empty listing, else ceil(total / page_size)."""
    return sum(max(1, math.ceil(total / page_size)) for total in totals)


@pytest.mark.client(email=None)
@pytest.mark.parametrize("page_size", [1, 2, 3])
async def test_batch_requests_exactly_the_pages_that_exist(
    fake: FakeKlingServer, client: KlingClient, page_size: int
) -> None:
    # 3, 2 and 0 favourites: with pages of 1 or 3 the first account's total is a multiple of
    # the page size, with pages of 1 or 2 the second's; the third's listing is empty.
    totals = [len(favored_ids(fake, index)) for index in range(3)]
    assert totals == [3, 2, 0]

    async with batch.iter_element_pages(
        client, fake.emails, page_size=page_size, per_account=4, favored=True
    ) as pages:
        got = [(p.email, p.page_num, [e.id for e in p.elements]) async for p in pages]

    assert len(listings(fake)) == expected_requests(totals, page_size)
    sent = sorted((r.email, int(r.query["pageNum"])) for r in listings(fake))
    assert sent == sorted(
        (email, n)
        for email, total in zip(fake.emails, totals, strict=True)
        for n in range(1, max(1, math.ceil(total / page_size)) + 1)
    )
    for index, email in enumerate(fake.emails):
        mine = [(n, ids) for e, n, ids in got if e == email]
        assert [n for n, _ in mine] == list(range(1, len(mine) + 1))
        assert [i for _, ids in mine for i in ids] == favored_ids(fake, index)
    assert fake.emails[2] not in {email for email, _, _ in got}  # no page for the empty one


@pytest.mark.client(email=None)
@pytest.mark.parametrize(("page_size", "per_account"), [(4, 4), (4, 1), (5, 2), (12, 3), (1, 16)])
async def test_batch_requests_no_page_past_the_total(
    fake: FakeKlingServer, client: KlingClient, page_size: int, per_account: int
) -> None:
    async with batch.iter_element_pages(
        client, fake.emails, page_size=page_size, per_account=per_account
    ) as pages:
        got = [p async for p in pages]

    assert len(listings(fake)) == expected_requests([12, 12, 12], page_size)
    assert all(r.status == 200 for r in listings(fake))
    for index, email in enumerate(fake.emails):
        ids = [e.id for p in got if p.email == email for e in p.elements]
        assert ids == all_ids(fake, index)


@pytest.mark.client(email=None)
async def test_batch_sends_the_same_query_as_the_resource(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    options: ElementsListOptions = {"page_size": 7, "sort": "asc", "tag": "Scene", "favored": False}
    email = fake.emails[1]
    await client.elements.list(email=email, **options)
    async with aclosing(client.elements.iter_pages(email=email, **options)) as pages_:
        async for _ in pages_:
            break
    async with batch.iter_element_pages(client, email, **options) as pages:
        async for _ in pages:
            break

    queries = [dict(r.query) for r in listings(fake)]
    for query in queries:
        assert query.pop("pageNum") == "1"
    expected = {
        "email": email,
        "pageSize": "7",
        "tag": "Scene",
        "favored": "false",
        "sortDirection": "ASC",
    }
    assert queries == [expected] * 3


async def test_batch_for_the_default_account(fake: FakeKlingServer, client: KlingClient) -> None:
    async with batch.iter_element_pages(client, page_size=5) as pages:
        got = [p async for p in pages]

    assert [p.email for p in got] == [fake.emails[0]] * 3
    assert [e.id for p in got for e in p.elements] == all_ids(fake, 0)
    assert len(listings(fake)) == 3
