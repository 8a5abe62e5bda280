"""The public call signatures: required arguments positional, options keyword-only, in one
order across sibling methods, each listing's options defined once (its TypedDict)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import aclosing
from typing import Any, TypeVar

import pytest

from kling_async import (
    AccountsResource,
    AssetsListOptions,
    AssetsResource,
    DownloadResult,
    ElementsListOptions,
    ElementsResource,
    KlingClient,
    SchedulerResource,
    UploadsListOptions,
    UploadsResource,
    batch,
)
from kling_async._types import CallContext, NotGiven, TimeoutTypes
from kling_async.testing import FakeKlingServer

T = TypeVar("T")

KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)

LISTINGS: list[tuple[type[Any], list[str], Callable[..., Any], type[Any]]] = [
    (
        AssetsResource,
        ["list", "iter_pages", "iter_works", "page_source"],
        batch.iter_pages,
        AssetsListOptions,
    ),
    (
        UploadsResource,
        ["list", "iter_pages", "iter_assets", "page_source"],
        batch.iter_upload_pages,
        UploadsListOptions,
    ),
    (
        ElementsResource,
        ["list", "iter_pages", "iter_elements", "page_source"],
        batch.iter_element_pages,
        ElementsListOptions,
    ),
]


def parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    return list(inspect.signature(function).parameters.values())


def positional(function: Callable[..., Any]) -> list[str]:
    return [p.name for p in parameters(function) if p.kind in POSITIONAL and p.name != "self"]


def keyword_only(function: Callable[..., Any]) -> list[str]:
    return [p.name for p in parameters(function) if p.kind is KEYWORD_ONLY]


def var_keyword(function: Callable[..., Any]) -> inspect.Parameter | None:
    found = [p for p in parameters(function) if p.kind is inspect.Parameter.VAR_KEYWORD]
    return found[0] if found else None


@pytest.mark.parametrize(("resource", "methods", "helper", "options"), LISTINGS)
def test_a_listings_siblings_take_no_positional_option_and_share_one_options_type(
    resource: type[Any], methods: list[str], helper: Callable[..., Any], options: type[Any]
) -> None:
    for name in methods:
        method = getattr(resource, name)
        assert positional(method) == [], f"{resource.__name__}.{name}"
        expected = ["page_num", "email"] if name == "list" else ["email"]
        assert keyword_only(method) == expected, f"{resource.__name__}.{name}"
        extra = var_keyword(method)
        assert extra is not None
        assert f"Unpack[{options.__name__}]" in str(extra.annotation)
    assert positional(helper) == ["client", "emails"]
    assert keyword_only(helper) == ["concurrency", "per_account", "on_error", "max_per_second"]
    extra = var_keyword(helper)
    assert extra is not None
    assert f"Unpack[{options.__name__}]" in str(extra.annotation)


@pytest.mark.parametrize(
    ("function", "required", "options"),
    [
        (AssetsResource.download, ["work_ids"], ["file_types", "email", "timeout"]),
        (UploadsResource.delete, ["ids"], ["email", "timeout"]),
        (
            UploadsResource.create,
            ["source"],
            ["content_type", "file_name", "size", "email", "timeout"],
        ),
        (ElementsResource.get, ["element_id"], ["email", "timeout"]),
        (AccountsResource.get, ["email"], ["timeout"]),
        (AccountsResource.list, [], ["timeout"]),
        (SchedulerResource.available, [], ["timeout"]),
        (
            batch.download,
            ["client", "work_ids"],
            ["file_types", "email", "timeout", "chunk_size", "concurrency", "max_per_second"],
        ),
        (
            batch.delete_uploaded,
            ["client", "ids"],
            ["email", "timeout", "chunk_size", "concurrency", "max_per_second"],
        ),
        (
            batch.upload,
            ["client", "sources"],
            ["email", "timeout", "concurrency", "max_per_second"],
        ),
    ],
)
def test_id_calls_take_their_ids_positionally_and_every_option_by_keyword(
    function: Callable[..., Any], required: list[str], options: list[str]
) -> None:
    assert positional(function) == required
    assert keyword_only(function) == options
    for parameter in parameters(function):
        has_default = parameter.default is not inspect.Parameter.empty
        assert has_default == (parameter.kind is KEYWORD_ONLY), parameter.name


def test_the_options_types_spell_the_same_option_the_same_way() -> None:
    assets = AssetsListOptions.__annotations__
    uploads = UploadsListOptions.__annotations__
    assert list(assets) == ["content_type", "page_size", "sort", "timeout"]
    assert list(uploads) == ["content_type", "file_name", "page_size", "sort", "timeout"]
    elements = ElementsListOptions.__annotations__
    assert list(elements) == ["favored", "official", "page_size", "sort", "tag", "timeout"]
    for key in set(assets) & set(uploads):
        assert assets[key] == uploads[key], key
    for key in set(assets) & set(elements):
        assert assets[key] == elements[key], key
    assert not AssetsListOptions.__required_keys__
    assert not UploadsListOptions.__required_keys__
    assert not ElementsListOptions.__required_keys__


@pytest.mark.anyio
async def test_options_passed_positionally_or_misspelled_fail_before_any_request(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    with pytest.raises(TypeError):
        await client.assets.list(2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"'pagesize'.*options: content_type, page_size"):
        await client.assets.list(pagesize=10)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"uploads\.iter_assets\(\).*'content'"):
        client.uploads.iter_assets(content="video")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'file_name'"):
        batch.iter_pages(client, fake.emails, file_name="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        await client.assets.download([1], "MP4")  # type: ignore[call-arg]
    assert fake.requests == []


@pytest.mark.anyio
@pytest.mark.fake(accounts=1, works_per_account=30)
async def test_the_same_options_give_the_same_query_from_every_sibling(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    options: AssetsListOptions = {"content_type": "VIDEO", "page_size": 7, "sort": "asc"}
    email = fake.emails[0]
    await client.assets.list(page_num=2, email=email, **options)
    async with aclosing(client.assets.iter_pages(email=email, **options)) as pages_:
        async for _ in pages_:
            break
    async with aclosing(client.assets.iter_works(email=email, **options)) as works:
        async for _ in works:
            break
    async with batch.iter_pages(client, email, per_account=1, **options) as pages:
        async for _ in pages:
            break
    queries = [dict(r.query) for r in fake.requests]
    for query in queries:
        query.pop("pageNum")
    assert queries == [
        {"email": email, "pageSize": "7", "contentType": "video", "sort": "asc"}
    ] * len(queries)
    assert len(queries) >= 4


class RecordingRequester:
    """A `Requester` that sends nothing: the resources need no more than this from a client."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str], CallContext]] = []

    def account(self, email: str | None) -> str | None:
        return email or "default@example.com"

    async def request(
        self,
        method: str,
        path: str,
        cast_to: type[T],
        *,
        params: dict[str, str],
        timeout: TimeoutTypes | NotGiven,
        context: CallContext,
    ) -> T:
        self.calls.append((method, path, params, context))
        return cast_to(cdn_url="https://cdn.example/x.zip")  # type: ignore[call-arg]


@pytest.mark.anyio
async def test_resources_send_through_the_requester_protocol_alone() -> None:
    requester = RecordingRequester()
    assets = AssetsResource(requester)
    result = await assets.download(["007", 8], file_types="mp4")
    assert result == DownloadResult(cdn_url="https://cdn.example/x.zip")
    assert requester.calls == [
        (
            "GET",
            "/assets/download",
            {"email": "default@example.com", "workIds": "7,8", "fileTypes": "MP4"},
            CallContext(email="default@example.com"),
        )
    ]
