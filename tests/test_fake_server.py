"""The fake useapi.net Kling server: its contract with the docs, its data, faults and controls."""

from __future__ import annotations

import datetime
import email.utils
import functools
import io
import json
import re
import socket
import ssl
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import orjson
import pytest

from kling_async.testing import Dataset, FakeKlingServer, Fault, expected_file_bytes, serve_forever
from kling_async.testing.__main__ import main as standalone_main
from kling_async.testing._app import build_app
from kling_async.testing._state import ServerState

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.fake(seed=0),
    # httpx raises DecodingError (corrupt_gzip) from Response.aiter_bytes while its own
    # aiter_raw and httpcore's body generators are suspended; trio warns when it finalizes
    # them (encode/httpx#3686). A client-side leak, not the fake server's.
    pytest.mark.filterwarnings(r"ignore:Async generator 'http(x|core)2?\.:ResourceWarning"),
]

WORK_KEYS = {
    "workId", "workItemId", "taskId", "userId", "type", "status", "contentType", "resource",
    "cover", "starNum", "cloneCount", "reportNum", "createTime", "taskInfo", "selfAttitude",
    "selfComment", "favored", "starred", "publishStatus", "deleted", "publishTime",
    "submitTime", "lipSyncStatus", "downloadInfo", "allowPublish",
}  # fmt: skip
TASK_KEYS = {
    "id", "userId", "type", "scene", "status", "taskInfo", "favored", "deleted", "viewed",
    "createTime", "updateTime", "viewTime",
}  # fmt: skip
HISTORY_KEYS = {
    "works", "task", "etaTime", "etaTimeOverSla", "queuingEtaTime", "originEtaTime",
    "originQueuingEtaTime", "currentTimestamp",
}  # fmt: skip
MEDIA_KEYS = {"resource", "height", "width", "duration", "resourceKey"}
TASK_INFO_KEYS = {"type", "inputs", "arguments", "extraArgs", "callbackPayloads", "scene"}
UPLOAD_KEYS = {
    "id", "name", "userId", "contentType", "resource", "cover", "createTime", "updateTime",
    "favored", "extraInfo", "entrance",
}  # fmt: skip
ELEMENT_KEYS = {
    "id", "name", "userId", "type", "description", "cover", "resources", "tagList",
    "currentVersion", "createTime", "updateTime", "favored", "official",
}  # fmt: skip
ACCOUNT_KEYS = {"email", "session", "maxJobs", "password"}
SESSION_KEYS = {"userId", "ExpireTime", "ExpireTimeUTC"}
BALANCE_KEYS = {"points", "tickets", "nextApplyTime", "total"}
GRANT_KEYS = {"orderId", "type", "amount", "balance", "startTime", "endTime"}
TEN_IDS_MESSAGE = (
    "Parameter id ({}) must be a numeric string or a comma-separated list of up to 10 "
    "numeric strings"
)


# One TLS context for every client: building one per client costs more than a fake server.
SSL_CONTEXT = ssl.create_default_context()


def make_client(**kwargs: Any) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(verify=SSL_CONTEXT, **kwargs)


def auth(fake: FakeKlingServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.token}"}


@pytest.fixture
async def client(fake: FakeKlingServer) -> AsyncIterator[httpx2.AsyncClient]:
    """Plain HTTP, not the SDK (this module tests the server): authorized, and pinned to the
    first account's email."""
    async with make_client(
        base_url=fake.base_url, headers=auth(fake), params={"email": fake.emails[0]}, timeout=5
    ) as http:
        yield http


@pytest.fixture
async def bare(fake: FakeKlingServer) -> AsyncIterator[httpx2.AsyncClient]:
    """No default headers or parameters."""
    async with make_client(base_url=fake.base_url, timeout=5) as http:
        yield http


async def all_history(http: httpx2.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    page = 1
    while True:
        response = await http.get("/assets", params={**params, "pageNum": page})
        assert response.status_code == 200
        history = response.json()["history"]
        entries += history
        if len(history) < int(params.get("pageSize", 40)):
            return entries
        page += 1


# -- addresses, token, auth, accounts --------------------------------------------------------


async def test_addresses_and_token_look_like_the_service(fake: FakeKlingServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", fake.url)
    assert fake.base_url == fake.url + "/v1/kling"
    assert fake.port > 0
    assert re.fullmatch(r"user:\d+-[A-Za-z0-9]+", fake.token)
    assert len(fake.emails) == 3
    assert len(set(fake.emails)) == 3
    assert fake.emails == tuple(account.email for account in fake.data.accounts)


async def test_dataset_lookups(fake: FakeKlingServer) -> None:
    account = fake.data.accounts[2]
    task, upload, element = account.tasks[5], account.uploads[5], account.elements[1]
    assert fake.data.account(account.email.upper()) is account
    assert fake.data.find_work(task.work_ids[-1]) == (account, task)
    assert fake.data.find_upload(upload.id) == (account, upload)
    assert fake.data.find_element(element.id) == (account, element)
    assert fake.data.find_work(1) is None
    entry = account.render_history_entry(task)
    assert [work["workId"] for work in entry["works"]] == list(task.work_ids)


async def test_a_server_that_is_not_running_has_no_address() -> None:
    server = FakeKlingServer(accounts=1)
    assert not server.running
    with pytest.raises(RuntimeError):
        _ = server.base_url


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/assets"),
        ("POST", "/assets"),
        ("GET", "/assets/uploaded"),
        ("DELETE", "/assets/uploaded"),
        ("GET", "/assets/download"),
        ("GET", "/elements"),
        ("GET", "/elements/u_123456789012345"),
        ("GET", "/accounts"),
        ("GET", "/accounts/nobody@example.com"),
        ("GET", "/scheduler/available"),
        ("GET", "/tasks"),
        ("GET", "/tasks/1"),
        ("DELETE", "/tasks/1"),
    ],
)
async def test_every_endpoint_requires_the_exact_bearer_token(
    fake: FakeKlingServer, bare: httpx2.AsyncClient, method: str, path: str
) -> None:
    wrong = [None, "Bearer wrong", "bearer {token}", "{token}", "Bearer  {token}", "Basic {token}"]
    for header in wrong:
        headers = {} if header is None else {"Authorization": header.format(token=fake.token)}
        response = await bare.request(method, path, headers=headers)
        assert response.status_code == 401, header
        assert response.json() == {"error": "Unauthorized", "code": 401}


async def test_email_is_required_when_several_accounts_are_configured(
    fake: FakeKlingServer, bare: httpx2.AsyncClient
) -> None:
    response = await bare.get("/assets", headers=auth(fake))
    assert response.status_code == 400
    assert "email" in response.json()["error"]


async def test_unknown_email_is_404(fake: FakeKlingServer, bare: httpx2.AsyncClient) -> None:
    response = await bare.get("/assets", headers=auth(fake), params={"email": "no@example.com"})
    assert response.status_code == 404
    assert "no@example.com" in response.json()["error"]


async def test_email_is_optional_with_one_account() -> None:
    async with (
        FakeKlingServer(accounts=1) as fake,
        make_client(base_url=fake.base_url, headers=auth(fake)) as http,
    ):
        response = await http.get("/assets")
        assert response.status_code == 200
        assert fake.requests[-1].email == fake.emails[0]


async def test_unknown_api_path_is_a_json_404(client: httpx2.AsyncClient) -> None:
    response = await client.get("/nothing/here")
    assert response.status_code == 404
    assert "error" in response.json()


async def test_custom_token_is_the_only_one_accepted() -> None:
    async with (
        FakeKlingServer(accounts=1, token="user:42-abcDEF123") as fake,
        make_client(base_url=fake.base_url) as http,
    ):
        assert fake.token == "user:42-abcDEF123"
        good = await http.get("/assets", headers={"Authorization": "Bearer user:42-abcDEF123"})
        bad = await http.get("/assets", headers={"Authorization": "Bearer user:42-abcDEF12"})
        assert (good.status_code, bad.status_code) == (200, 401)


# -- GET /assets ------------------------------------------------------------------------------


async def test_assets_default_page_has_every_documented_field(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    response = await client.get("/assets")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"limitations", "history", "userPoints", "userTickets"}
    assert len(body["history"]) == 40
    for limitation in body["limitations"]:
        assert set(limitation) == {"type", "remaining", "limit"}
    assert set(body["userPoints"]) == {"points", "total"}
    assert set(body["userTickets"]) == {"ticket"}
    for entry in body["history"]:
        assert set(entry) == HISTORY_KEYS
        assert set(entry["task"]) == TASK_KEYS
        assert set(entry["task"]["taskInfo"]) == TASK_INFO_KEYS
        for work in entry["works"]:
            assert set(work) == WORK_KEYS
            assert set(work["resource"]) == MEDIA_KEYS
            assert set(work["cover"]) == MEDIA_KEYS
            assert work["taskId"] == entry["task"]["id"]
            assert work["downloadInfo"]["fileTypes"]
            arguments = {arg["name"]: arg["value"] for arg in work["taskInfo"]["arguments"]}
            assert arguments["prompt"]


async def test_assets_default_order_is_newest_first(client: httpx2.AsyncClient) -> None:
    history = (await client.get("/assets")).json()["history"]
    times = [entry["task"]["createTime"] for entry in history]
    assert times == sorted(times, reverse=True)


async def test_assets_accepts_a_trailing_slash(client: httpx2.AsyncClient) -> None:
    plain = await client.get("/assets", params={"pageSize": 5})
    slashed = await client.get("/assets/", params={"pageSize": 5})
    assert slashed.status_code == 200
    assert slashed.content == plain.content


async def test_assets_pages_cover_every_work_then_run_empty(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    entries = await all_history(client, pageSize=7)
    work_ids = [work["workId"] for entry in entries for work in entry["works"]]
    account = fake.data.accounts[0]
    assert len(work_ids) == 120
    assert work_ids == list(account.work_ids)
    beyond = (await client.get("/assets", params={"pageNum": 1000})).json()
    assert beyond["history"] == []
    assert "userPoints" in beyond


async def test_assets_page_size_counts_tasks_not_works(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    entries = await all_history(client, pageSize=40)
    assert len(entries) == len(fake.data.accounts[0].tasks)
    counts = {
        len(entry["works"]) for entry in entries if entry["works"][0]["contentType"] == "image"
    }
    assert counts <= {1, 2, 3, 4}
    assert max(counts) > 1
    for entry in entries:
        if entry["works"][0]["contentType"] != "image":
            assert len(entry["works"]) == 1


async def test_assets_sort_asc_is_the_reverse_of_desc(client: httpx2.AsyncClient) -> None:
    descending = await all_history(client, pageSize=50)
    ascending = await all_history(client, pageSize=50, sort="asc")
    assert [e["task"]["id"] for e in ascending] == [e["task"]["id"] for e in descending][::-1]


@pytest.mark.parametrize("content_type", ["video", "image", "audio"])
async def test_assets_content_type_filter(
    fake: FakeKlingServer, client: httpx2.AsyncClient, content_type: str
) -> None:
    entries = await all_history(client, contentType=content_type)
    expected = [t.task_id for t in fake.data.accounts[0].tasks if t.content_type == content_type]
    assert expected
    assert [entry["task"]["id"] for entry in entries] == expected
    assert {w["contentType"] for entry in entries for w in entry["works"]} == {content_type}


async def test_assets_are_mostly_video_with_varied_prompts(client: httpx2.AsyncClient) -> None:
    entries = await all_history(client)
    kinds = [entry["works"][0]["contentType"] for entry in entries]
    assert kinds.count("video") > len(kinds) / 2
    prompts = {
        arg["value"]
        for entry in entries
        for arg in entry["task"]["taskInfo"]["arguments"]
        if arg["name"] == "prompt"
    }
    assert len(prompts) > len(entries) * 0.8


@pytest.mark.parametrize(
    "params",
    [
        {"pageNum": "0"},
        {"pageNum": "abc"},
        {"pageNum": "1.5"},
        {"pageSize": "-1"},
        {"pageSize": "0"},
        {"contentType": "gif"},
        {"sort": "up"},
    ],
)
async def test_assets_rejects_invalid_parameters(
    client: httpx2.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get("/assets", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid parameters"


# -- GET /assets/uploaded ---------------------------------------------------------------------


async def test_uploaded_default_page_is_20_documented_items(client: httpx2.AsyncClient) -> None:
    response = await client.get("/assets/uploaded")
    assert response.status_code == 200
    items = response.json()["uploadAssetsList"]
    assert len(items) == 20
    for item in items:
        assert set(item) == UPLOAD_KEYS
        assert isinstance(item["id"], str)
        assert re.fullmatch(r"\d{18}", item["id"])
        assert set(item["resource"]) == MEDIA_KEYS
        assert item["extraInfo"] == "{}"
    assert {item["contentType"] for item in items} <= {"video", "image", "audio"}
    times = [item["createTime"] for item in items]
    assert times == sorted(times, reverse=True)


async def test_uploaded_trailing_slash_and_pages_to_the_end(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    first = await client.get("/assets/uploaded/", params={"pageSize": 20})
    second = await client.get("/assets/uploaded/", params={"pageSize": 20, "pageNum": 2})
    third = await client.get("/assets/uploaded/", params={"pageSize": 20, "pageNum": 3})
    ids = [i["id"] for r in (first, second) for i in r.json()["uploadAssetsList"]]
    assert ids == [upload.id for upload in fake.data.accounts[0].uploads]
    assert len(second.json()["uploadAssetsList"]) == 10
    assert third.json() == {"uploadAssetsList": []}


async def test_uploaded_sort_asc(fake: FakeKlingServer, client: httpx2.AsyncClient) -> None:
    response = await client.get("/assets/uploaded", params={"pageSize": 100, "sort": "asc"})
    ids = [item["id"] for item in response.json()["uploadAssetsList"]]
    assert ids == [upload.id for upload in fake.data.accounts[0].uploads][::-1]


@pytest.mark.parametrize("content_type", ["video", "image", "audio"])
async def test_uploaded_content_type_filter(
    fake: FakeKlingServer, client: httpx2.AsyncClient, content_type: str
) -> None:
    response = await client.get(
        "/assets/uploaded", params={"pageSize": 100, "contentType": content_type}
    )
    ids = [item["id"] for item in response.json()["uploadAssetsList"]]
    uploads = fake.data.accounts[0].uploads
    assert ids == [u.id for u in uploads if u.content_type == content_type]


async def test_uploaded_file_name_is_a_case_insensitive_keyword(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    uploads = fake.data.accounts[0].uploads
    keyword = uploads[0].name.split("_")[0]
    response = await client.get(
        "/assets/uploaded", params={"pageSize": 100, "fileName": keyword.upper()}
    )
    names = [item["name"] for item in response.json()["uploadAssetsList"]]
    assert names == [u.name for u in uploads if keyword in u.name]
    none = await client.get("/assets/uploaded", params={"fileName": "zzz-no-such-name"})
    assert none.json() == {"uploadAssetsList": []}


async def test_uploaded_rejects_invalid_parameters(client: httpx2.AsyncClient) -> None:
    response = await client.get("/assets/uploaded", params={"pageSize": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid parameters"


# -- DELETE /assets/uploaded ------------------------------------------------------------------


async def test_delete_requires_email_even_with_one_account() -> None:
    async with (
        FakeKlingServer(accounts=1) as fake,
        make_client(base_url=fake.base_url, headers=auth(fake)) as http,
    ):
        upload_id = fake.data.accounts[0].uploads[0].id
        response = await http.delete("/assets/uploaded", params={"id": upload_id})
        assert response.status_code == 400
        assert "email" in response.json()["error"]


async def test_delete_rejects_more_than_ten_ids(client: httpx2.AsyncClient) -> None:
    ids = ",".join(str(n) for n in range(1, 12))
    response = await client.delete("/assets/uploaded", params={"id": ids})
    assert response.status_code == 400
    assert response.json() == {"error": TEN_IDS_MESSAGE.format(ids)}


@pytest.mark.parametrize("bad", ["", "abc", "12,ab", "1,,2", "1, 2", "-5"])
async def test_delete_rejects_ids_that_are_not_numeric(
    client: httpx2.AsyncClient, bad: str
) -> None:
    response = await client.delete("/assets/uploaded", params={"id": bad})
    assert response.status_code == 400
    assert response.json() == {"error": TEN_IDS_MESSAGE.format(bad)}


async def test_delete_accepts_exactly_ten_ids(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    ids = [upload.id for upload in fake.data.accounts[0].uploads[:10]]
    response = await client.delete("/assets/uploaded", params={"id": ",".join(ids)})
    assert response.status_code == 200
    assert response.json() == {"deleted": 10, "ids": ids}


async def test_deleted_uploads_stay_deleted(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    account = fake.data.accounts[0]
    doomed = [account.uploads[1].id, account.uploads[3].id]
    response = await client.delete("/assets/uploaded/", params={"id": ",".join(doomed)})
    assert response.json() == {"deleted": 2, "ids": doomed}
    listed = await client.get("/assets/uploaded", params={"pageSize": 100})
    ids = [item["id"] for item in listed.json()["uploadAssetsList"]]
    assert len(ids) == 28
    assert not set(doomed) & set(ids)
    assert account.deleted_upload_ids == set(doomed)
    again = await client.delete("/assets/uploaded", params={"id": doomed[0]})
    assert again.json() == {"deleted": 0, "ids": []}


async def test_delete_only_counts_ids_that_exist_in_that_account(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    own = fake.data.accounts[0].uploads[0].id
    other = fake.data.accounts[1].uploads[0].id
    response = await client.delete("/assets/uploaded", params={"id": f"123,{own},{other}"})
    assert response.json() == {"deleted": 1, "ids": [own]}
    assert fake.data.accounts[1].live_uploads[0].id == other


# -- POST /assets -----------------------------------------------------------------------------

UPLOAD_ANSWER_KEYS = {"status", "url", "message", "fileName"}
UPLOAD_TYPES_MESSAGE = (
    "Content-Type {} is not supported. Valid values: image/png,image/jpeg,video/mp4,"
    "video/quicktime,audio/wav,audio/wave,audio/mpeg,audio/mp4,audio/flac,audio/aac,audio/ogg"
)
MB = 1024 * 1024


def added_uploads(fake: FakeKlingServer) -> list[Any]:
    return list(fake.data.account(fake.emails[0]).added_uploads)


@pytest.mark.parametrize(
    ("content_type", "kind", "extension", "status"),
    [
        ("image/png", "image", "png", 3),
        ("image/jpeg", "image", "jpg", 3),
        ("video/mp4", "video", "mp4", 1),
        ("video/quicktime", "video", "mov", 1),
        ("audio/wave", "audio", "wav", 3),
        ("audio/mp4", "audio", "m4a", 3),
    ],
)
async def test_upload_takes_the_raw_file_and_answers_where_it_now_is(
    fake: FakeKlingServer,
    client: httpx2.AsyncClient,
    content_type: str,
    kind: str,
    extension: str,
    status: int,
) -> None:
    response = await client.post(
        "/assets/", content=b"\x00" * 1234, headers={"Content-Type": content_type}
    )

    assert response.status_code == 200
    body = response.json()
    video_keys = {"resourceUrl", "coverUrl"} if kind == "video" else set()
    assert set(body) == UPLOAD_ANSWER_KEYS | video_keys
    assert (body["status"], body["message"]) == (status, "")
    assert re.fullmatch(rf"[0-9a-f]{{15}}\.{extension}", body["fileName"])
    assert body["url"].startswith("https://")
    assert body["url"].endswith("/" + body["fileName"])
    upload = added_uploads(fake)
    assert [(u.name, u.content_type, u.size) for u in upload] == [(body["fileName"], kind, 1234)]
    assert fake.requests[-1].email == fake.emails[0]


@pytest.mark.parametrize(
    "content_type",
    ["image/gif", "IMAGE/PNG", "image/png; charset=binary", "application/octet-stream", None],
)
async def test_upload_of_a_type_the_service_does_not_take_is_its_documented_400(
    fake: FakeKlingServer, client: httpx2.AsyncClient, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}

    response = await client.post("/assets", content=b"x" * 10, headers=headers)

    assert response.status_code == 400
    assert response.json() == {"error": UPLOAD_TYPES_MESSAGE.format(content_type or "")}
    assert added_uploads(fake) == []


async def test_upload_over_the_limit_is_400_whether_its_length_is_announced_or_not(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    async def eleven_megabytes() -> AsyncIterator[bytes]:
        for _ in range(11):
            yield b"x" * MB

    announced = await client.post(
        "/assets", content=b"x" * (10 * MB + 1), headers={"Content-Type": "image/png"}
    )
    streamed = await client.post(
        "/assets", content=eleven_megabytes(), headers={"Content-Type": "image/jpeg"}
    )
    at_the_limit = await client.post(
        "/assets", content=b"x" * (10 * MB), headers={"Content-Type": "image/png"}
    )

    assert (announced.status_code, streamed.status_code, at_the_limit.status_code) == (
        400,
        400,
        200,
    )
    assert announced.json() == {"error": "The file is too large: image/png files may be up to 10MB"}
    assert streamed.json() == {"error": "The file is too large: image/jpeg files may be up to 10MB"}
    assert fake.requests[1].headers.get("transfer-encoding") == "chunked"
    assert [u.size for u in added_uploads(fake)] == [10 * MB]


async def test_upload_of_an_empty_file_is_400(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    response = await client.post("/assets", content=b"", headers={"Content-Type": "audio/ogg"})

    assert response.status_code == 400
    assert response.json() == {"error": "The file is empty"}
    assert added_uploads(fake) == []


async def test_uploads_are_listed_first_newest_first_found_by_name_and_deletable(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    listing = {"pageSize": 50}
    before = await client.get("/assets/uploaded", params=listing)
    names = []
    for content_type in ("image/png", "video/mp4"):
        answer = await client.post(
            "/assets", content=b"x" * 100, headers={"Content-Type": content_type}
        )
        names.append(answer.json()["fileName"])

    listed = (await client.get("/assets/uploaded", params=listing)).json()["uploadAssetsList"]
    seeded = before.json()["uploadAssetsList"]
    assert [item["name"] for item in listed] == [names[1], names[0], *[i["name"] for i in seeded]]
    assert all(set(item) == UPLOAD_KEYS for item in listed[:2])
    assert [item["contentType"] for item in listed[:2]] == ["video", "image"]
    assert listed[0]["createTime"] > listed[1]["createTime"] > seeded[0]["createTime"]
    assert int(listed[0]["id"]) > int(listed[1]["id"]) > int(seeded[0]["id"])
    found = await client.get("/assets/uploaded", params={"fileName": names[0]})
    assert [item["name"] for item in found.json()["uploadAssetsList"]] == [names[0]]
    images = await client.get("/assets/uploaded", params={"contentType": "image", "pageSize": 1})
    assert [item["name"] for item in images.json()["uploadAssetsList"]] == [names[0]]

    deleted = await client.delete("/assets/uploaded", params={"id": listed[0]["id"]})
    assert deleted.json() == {"deleted": 1, "ids": [listed[0]["id"]]}
    after = (await client.get("/assets/uploaded", params=listing)).json()["uploadAssetsList"]
    assert [item["name"] for item in after][:2] == [names[0], seeded[0]["name"]]

    fake.reset_data()
    assert (await client.get("/assets/uploaded", params=listing)).content == before.content
    assert added_uploads(fake) == []


async def test_uploads_go_to_the_account_named_and_no_other(
    fake: FakeKlingServer, bare: httpx2.AsyncClient
) -> None:
    second = fake.emails[1]
    answer = await bare.post(
        "/assets",
        params={"email": second},
        content=b"x" * 10,
        headers={**auth(fake), "Content-Type": "image/png"},
    )

    assert answer.status_code == 200
    assert [u.name for u in fake.data.account(second).added_uploads] == [answer.json()["fileName"]]
    assert added_uploads(fake) == []
    without_email = await bare.post(
        "/assets", content=b"x", headers={**auth(fake), "Content-Type": "image/png"}
    )
    assert without_email.status_code == 400
    assert "email" in without_email.json()["error"]


async def test_a_fault_on_an_upload_reads_the_body_before_answering(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.status(429), path="/assets", method="POST")

    async def body() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 200_000

    refused = await client.post("/assets", content=body(), headers={"Content-Type": "video/mp4"})
    again = await client.post("/assets", content=b"x" * 10, headers={"Content-Type": "video/mp4"})

    # A server that closed with the body unread would reset the connection: the client would
    # see no answer at all.
    assert (refused.status_code, again.status_code) == (429, 200)
    assert [r.status for r in fake.requests] == [429, 200]


# -- GET /assets/download and the fake CDN ----------------------------------------------------


def first_work(fake: FakeKlingServer, content_type: str, *, account: int = 0) -> int:
    for task in fake.data.accounts[account].tasks:
        if task.content_type == content_type:
            return task.first_work_id
    raise AssertionError(f"no {content_type} work")


async def test_download_one_work_one_type_is_the_file_itself(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    work_id = first_work(fake, "video")
    response = await client.get(
        "/assets/download", params={"workIds": str(work_id), "fileTypes": "mp4"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["cdnUrl"] == f"{fake.url}/_cdn/works/{work_id}.mp4"
    async with make_client() as anonymous, anonymous.stream("GET", body["cdnUrl"]) as file:
        assert file.status_code == 200
        assert file.headers["content-type"] == "video/mp4"
        data = await file.aread()
    assert int(file.headers["content-length"]) == len(data)
    assert data == fake.expected_file_bytes(work_id, "MP4") == expected_file_bytes(work_id, "mp4")
    assert 1024 <= len(data) <= 64 * 1024


async def test_download_of_several_works_is_a_deterministic_zip(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    work_ids = [first_work(fake, "video"), first_work(fake, "image"), first_work(fake, "audio")]
    response = await client.get(
        "/assets/download", params={"workIds": ",".join(map(str, work_ids))}
    )
    url = response.json()["cdnUrl"]
    assert httpx2.URL(url).path.endswith(".zip")
    assert url.startswith(fake.url + "/_cdn/")
    first = await client.get(url)
    second = await client.get(url)
    assert first.headers["content-type"] == "application/zip"
    assert first.content == second.content
    archive = zipfile.ZipFile(io.BytesIO(first.content))
    members = {info.filename: archive.read(info) for info in archive.infolist()}
    expected = fake.expected_zip_members(work_ids)
    assert members == expected
    assert list(members) == list(expected)
    assert f"{work_ids[0]}.mp4" in members
    assert f"{work_ids[1]}.png" in members
    assert {f"{work_ids[2]}.mp3", f"{work_ids[2]}.wav"} <= set(members)
    assert {info.date_time for info in archive.infolist()} == {(2025, 5, 1, 0, 0, 0)}


async def test_download_of_one_work_without_file_types_is_a_zip(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    work_id = first_work(fake, "audio")
    response = await client.get("/assets/download", params={"workIds": work_id})
    url = response.json()["cdnUrl"]
    archive = zipfile.ZipFile(io.BytesIO((await client.get(url)).content))
    assert archive.namelist() == [f"{work_id}.mp3", f"{work_id}.wav"]


async def test_download_with_several_file_types_is_a_zip_of_those_offered(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    work_id = first_work(fake, "audio")
    response = await client.get(
        "/assets/download", params={"workIds": work_id, "fileTypes": "WAV,PNG"}
    )
    archive = zipfile.ZipFile(io.BytesIO((await client.get(response.json()["cdnUrl"])).content))
    assert archive.namelist() == [f"{work_id}.wav"]
    assert archive.read(f"{work_id}.wav") == expected_file_bytes(work_id, "WAV")
    assert fake.expected_zip_members([work_id], ["wav", "png"]) == {
        f"{work_id}.wav": expected_file_bytes(work_id, "WAV")
    }


async def test_download_of_an_unknown_work_is_404(client: httpx2.AsyncClient) -> None:
    response = await client.get("/assets/download", params={"workIds": "1,2"})
    assert response.status_code == 404
    assert "1" in response.json()["error"]


async def test_download_of_another_accounts_work_is_404(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    other = first_work(fake, "video", account=1)
    response = await client.get("/assets/download", params={"workIds": other})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "params",
    [{}, {"workIds": "abc"}, {"workIds": "1,,2"}, {"workIds": "1", "fileTypes": "GIF"}],
    ids=["missing", "letters", "empty-item", "unknown-type"],
)
async def test_download_rejects_invalid_parameters(
    client: httpx2.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get("/assets/download", params=params)
    assert response.status_code == 400
    assert response.json()["error"]


async def test_download_of_a_type_the_work_does_not_offer_is_400(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    work_id = first_work(fake, "image")
    response = await client.get("/assets/download", params={"workIds": work_id, "fileTypes": "MP4"})
    assert response.status_code == 400
    assert "MP4" in response.json()["error"]


async def test_download_of_types_none_of_the_works_offers_is_400(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    params = {"workIds": first_work(fake, "image"), "fileTypes": "MP4,MP3"}
    response = await client.get("/assets/download", params=params)
    assert response.status_code == 400
    assert response.json() == {
        "error": "None of the requested file types is available for these works"
    }


async def test_download_accepts_a_trailing_slash(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    work_id = first_work(fake, "video")
    response = await client.get("/assets/download/", params={"workIds": work_id})
    assert response.status_code == 200
    assert response.json()["cdnUrl"].startswith(fake.url + "/_cdn/zip/")


async def test_cdn_answers_404_for_files_it_does_not_have(
    fake: FakeKlingServer, bare: httpx2.AsyncClient
) -> None:
    image = first_work(fake, "image")
    assert (await bare.get(f"{fake.url}/_cdn/works/{image}.mp4")).status_code == 404
    assert (await bare.get(f"{fake.url}/_cdn/works/1.mp4")).status_code == 404
    for tail in ("1/all", "x/all", f"{image}/GIF"):
        zip_url = f"{fake.url}/_cdn/zip/{tail}/download_result.zip"
        assert (await bare.get(zip_url)).status_code == 404


# -- GET /elements/{elementId} ----------------------------------------------------------------


async def test_element_has_the_documented_shape(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    for record in fake.data.accounts[0].elements:
        response = await client.get(f"/elements/{record.id}")
        assert response.status_code == 200
        element = response.json()
        assert ELEMENT_KEYS <= set(element) <= ELEMENT_KEYS | {"voice"}
        assert re.fullmatch(r"u_\d{15}", element["id"])
        assert element["type"] in ("IMAGE", "VIDEO")
        assert element["cover"]["cover"] is True
        assert element["resources"][0]["resourceKey"] == "cover"
        assert all("slotKey" in resource for resource in element["resources"])
        assert ("voice" in element) == (record.voice is not None)


async def test_elements_include_video_ones_and_voices() -> None:
    async with FakeKlingServer(accounts=1, elements_per_account=40) as fake:
        elements = fake.data.accounts[0].elements
        assert {element.type for element in elements} == {"IMAGE", "VIDEO"}
        assert any(element.voice is not None for element in elements)


async def test_element_ids_are_recorded_decoded_and_raw(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    response = await client.get("/elements/u_1%2Fx")
    assert response.status_code == 404
    assert fake.requests[-1].path == "/v1/kling/elements/u_1/x"
    assert fake.requests[-1].raw_path == "/v1/kling/elements/u_1%2Fx"


async def test_unknown_element_is_404(client: httpx2.AsyncClient) -> None:
    response = await client.get("/elements/u_000000000000000")
    assert response.status_code == 404
    assert "u_000000000000000" in response.json()["error"]


async def test_element_of_another_account_is_404(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    other = fake.data.accounts[1].elements[0].id
    assert (await client.get(f"/elements/{other}")).status_code == 404


# -- GET /elements -----------------------------------------------------------------------------

ELEMENTS_PAGE_KEYS = {"elementsList", "pageNum", "pageSize", "total"}


async def test_elements_pages_carry_the_total_and_end_where_it_says(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    records = fake.data.accounts[0].elements
    pages = []
    for page_num in (1, 2, 3, 4):
        response = await client.get("/elements", params={"pageSize": 2, "pageNum": page_num})
        assert response.status_code == 200
        page = response.json()
        assert set(page) == ELEMENTS_PAGE_KEYS
        assert (page["pageNum"], page["pageSize"], page["total"]) == (page_num, 2, len(records))
        pages.append(page["elementsList"])
    assert [len(items) for items in pages] == [2, 2, 1, 0]  # 5 elements
    listed = [item for items in pages for item in items]
    account = fake.data.accounts[0]
    assert listed == [account.render_element(record) for record in records]
    assert all(ELEMENT_KEYS <= set(item) <= ELEMENT_KEYS | {"voice"} for item in listed)


async def test_elements_list_50_a_page_by_default() -> None:
    async with (
        FakeKlingServer(accounts=1, elements_per_account=120) as big,
        make_client(base_url=big.base_url, headers=auth(big)) as http,
    ):
        first = (await http.get("/elements")).json()
        last = (await http.get("/elements", params={"pageNum": 3})).json()
    assert (len(first["elementsList"]), first["pageSize"], first["total"]) == (50, 50, 120)
    assert len(last["elementsList"]) == 20


@pytest.mark.parametrize("size", ["0", "101", "-1", "ten", "1.5"])
async def test_elements_page_size_outside_1_to_100_is_a_400(
    client: httpx2.AsyncClient, size: str
) -> None:
    response = await client.get("/elements", params={"pageSize": size})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid parameters"
    assert "pageSize" in body["detail"]


async def test_elements_page_sizes_1_and_100_are_taken(client: httpx2.AsyncClient) -> None:
    for size in (1, 100):
        response = await client.get("/elements", params={"pageSize": size})
        assert response.status_code == 200
        assert response.json()["pageSize"] == size


@pytest.mark.parametrize(
    ("name", "value"),
    [("official", "yes"), ("favored", "1"), ("sortDirection", "up"), ("pageNum", "0")],
)
async def test_elements_unreadable_parameters_are_a_400(
    client: httpx2.AsyncClient, name: str, value: str
) -> None:
    response = await client.get("/elements", params={name: value})
    assert response.status_code == 400
    assert name in response.json()["detail"]


async def test_elements_filters_and_sort_apply_before_paging() -> None:
    async with FakeKlingServer(accounts=1, elements_per_account=40, seed=3) as fake:
        records = fake.data.accounts[0].elements
        async with make_client(base_url=fake.base_url, headers=auth(fake)) as http:

            async def ids(**params: Any) -> tuple[list[str], int]:
                page = (await http.get("/elements", params={"pageSize": 100, **params})).json()
                return [item["id"] for item in page["elementsList"]], page["total"]

            favored = [r.id for r in records if r.favored]
            scenes = [r.id for r in records if (4, "Scene") in r.tags]
            assert 0 < len(favored) < 40
            assert 0 < len(scenes) < 40
            assert await ids(favored="true") == (favored, len(favored))
            assert await ids(favored="FALSE") == ([r.id for r in records], 40)
            assert await ids(tag="Scene") == (scenes, len(scenes))
            assert await ids(tag="scene") == await ids(tag="4")
            both = [i for i in favored if i in scenes]
            assert await ids(tag="4", favored="true") == (both, len(both))
            assert await ids(sortDirection="ASC") == ([r.id for r in records][::-1], 40)
            assert await ids(sortDirection="desc") == ([r.id for r in records], 40)
            assert await ids(official="true") == ([], 0)
            assert await ids(tag="no such tag") == ([], 0)


async def test_elements_of_each_account_are_its_own(
    fake: FakeKlingServer, bare: httpx2.AsyncClient
) -> None:
    for account in fake.data.accounts:
        params = {"email": account.email, "pageSize": 100}
        page = (await bare.get("/elements", headers=auth(fake), params=params)).json()
        assert [item["id"] for item in page["elementsList"]] == [e.id for e in account.elements]
        assert fake.requests[-1].email == account.email


async def test_element_by_id_is_unchanged_by_the_listing(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    record = fake.data.accounts[0].elements[0]
    alone = (await client.get(f"/elements/{record.id}")).json()
    listed = (await client.get("/elements", params={"pageSize": 1})).json()["elementsList"]
    assert listed == [alone]
    assert "element" not in alone  # the current, flat shape


async def test_element_by_id_can_answer_in_the_older_wrapped_shape(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    account = fake.data.accounts[0]
    record = account.elements[0]
    fake.add_faults(Fault.body({"element": account.render_element(record)}), path="/elements/")
    wrapped = (await client.get(f"/elements/{record.id}")).json()
    flat = (await client.get(f"/elements/{record.id}")).json()
    assert wrapped == {"element": flat}


# -- GET /accounts, GET /accounts/{email} ---------------------------------------------------


async def test_accounts_lists_every_account_keyed_by_email_in_order(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    response = await client.get("/accounts")
    assert response.status_code == 200
    accounts = response.json()
    assert list(accounts) == list(fake.emails)
    for email_address, account in accounts.items():
        record = fake.data.account(email_address)
        assert set(account) == ACCOUNT_KEYS  # no balance in the listing
        assert account["email"] == email_address
        assert account["password"] == "\u2026secured\u2026"
        assert account["maxJobs"] == record.max_jobs
        assert 1 <= account["maxJobs"] <= 50
        session = account["session"]
        assert set(session) == SESSION_KEYS
        assert session["userId"] == str(record.user_id)
        expires = datetime.datetime.fromtimestamp(session["ExpireTime"], datetime.timezone.utc)
        assert session["ExpireTimeUTC"] == expires.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_accounts_accepts_a_trailing_slash(client: httpx2.AsyncClient) -> None:
    with_slash = await client.get("/accounts/")
    assert with_slash.status_code == 200
    assert with_slash.content == (await client.get("/accounts")).content


async def test_an_accounts_balance_totals_its_grants(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    grant_counts = []
    for email_address in fake.emails:
        response = await client.get(f"/accounts/{email_address}")
        assert response.status_code == 200
        account = response.json()
        assert set(account) == ACCOUNT_KEYS | {"balance"}
        balance = account["balance"]
        assert set(balance) == BALANCE_KEYS
        assert all(set(grant) == GRANT_KEYS for grant in balance["points"])
        assert balance["total"] == sum(grant["balance"] for grant in balance["points"])
        assert all(0 <= grant["balance"] <= grant["amount"] for grant in balance["points"])
        assets = (await client.get("/assets", params={"email": email_address})).json()
        assert balance["points"][0] == assets["userPoints"]["points"][0]
        assert balance["tickets"] == assets["userTickets"]["ticket"]
        assert balance["nextApplyTime"] == balance["points"][0]["endTime"]
        grant_counts.append(len(balance["points"]))
    assert grant_counts == [2, 3, 1]


async def test_an_account_is_found_in_any_case_and_recorded(
    fake: FakeKlingServer, bare: httpx2.AsyncClient
) -> None:
    wanted = fake.emails[1]
    response = await bare.get(f"/accounts/{wanted.upper()}", headers=auth(fake))
    assert response.status_code == 200
    assert response.json()["email"] == wanted
    assert fake.requests[-1].email == wanted


async def test_an_unknown_account_is_404_with_an_error_body(client: httpx2.AsyncClient) -> None:
    response = await client.get("/accounts/nobody@example.com")
    assert response.status_code == 404
    assert response.json() == {"error": "Account nobody@example.com not found"}


async def test_accounts_is_404_when_no_account_is_configured() -> None:
    # FakeKlingServer always has an account; an empty dataset reaches the app only directly.
    state = ServerState(Dataset(accounts=(), seed=0), "user:1-abc", latency=0, jitter=0, seed=0)
    transport = httpx2.ASGITransport(app=build_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://fake") as http:
        response = await http.get(
            "/v1/kling/accounts", headers={"Authorization": "Bearer user:1-abc"}
        )
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


async def test_faults_apply_to_the_accounts_endpoints(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.status(429, retry_after=1), Fault.malformed_json(), path="/accounts")
    limited = await client.get("/accounts")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")
    malformed = await client.get(f"/accounts/{fake.emails[0]}")
    assert malformed.status_code == 200
    with pytest.raises(ValueError):  # noqa: PT011 - any JSON decoding error
        malformed.json()
    assert [r.fault for r in fake.requests] == ["status", "malformed_json"]


# -- GET /scheduler/available -----------------------------------------------------------------


async def test_scheduler_available_has_the_documented_shape(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    response = await client.get("/scheduler/available")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"executing", "available"}
    assert [item["email"] for item in body["available"]] == list(fake.emails)
    running_keys = {"id", "email", "started", "elapsed"}
    for item in body["executing"]:
        assert running_keys <= set(item) <= running_keys | {"replyUrl", "replyRef"}
        assert isinstance(item["id"], int)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["started"])
        assert re.fullmatch(r"\d\d:\d\d", item["elapsed"])
    for item, record in zip(body["available"], fake.data.accounts, strict=True):
        assert set(item) == {"email", "maxJobs", "executing", "available"}
        running = [task for task in body["executing"] if task["email"] == record.email]
        assert item["maxJobs"] == record.max_jobs
        assert 0 <= item["executing"] == len(running) <= record.max_jobs
        assert item["available"] == record.max_jobs - len(running)


async def test_scheduler_runs_tasks_newer_than_each_accounts_history() -> None:
    async with (
        FakeKlingServer(accounts=6, works_per_account=4, seed=2) as fake,
        make_client(base_url=fake.base_url, headers=auth(fake)) as http,
    ):
        body = (await http.get("/scheduler/available")).json()
    assert body["executing"]  # the seed runs some
    assert any(item["executing"] == 0 for item in body["available"])
    for item in body["executing"]:
        account = fake.data.account(item["email"])
        assert item["id"] > account.tasks[0].task_id


# -- GET /tasks, GET and DELETE /tasks/{task_id} ------------------------------------------------

STATUS_WORDS = {"status": 99, "status_name": "succeed", "status_final": True}
DETAIL_KEYS = {
    "status", "status_name", "status_final", "etaTime", "etaTimeOverSla", "queuingEtaTime",
    "originEtaTime", "originQueuingEtaTime", "message", "task", "works",
}  # fmt: skip


def without_status_words(entry: dict[str, Any]) -> dict[str, Any]:
    """A GET /tasks history entry as GET /assets has it: no status_name, no status_final."""

    def plain(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k not in ("status_name", "status_final")}

    return {**entry, "task": plain(entry["task"]), "works": [plain(w) for w in entry["works"]]}


async def test_tasks_list_the_assets_history_with_status_words(
    client: httpx2.AsyncClient,
) -> None:
    tasks = (await client.get("/tasks", params={"pageSize": 40})).json()
    assets = (await client.get("/assets", params={"pageSize": 40})).json()

    assert set(tasks) == {"history"}
    history = tasks["history"]
    assert [without_status_words(entry) for entry in history] == assets["history"]
    for entry in history:
        assert set(entry) == HISTORY_KEYS
        assert set(entry["task"]) == TASK_KEYS | {"status_name", "status_final"}
        assert {key: entry["task"][key] for key in STATUS_WORDS} == STATUS_WORDS
        for work in entry["works"]:
            assert set(work) == WORK_KEYS | {"status_name", "status_final"}
            assert {key: work[key] for key in STATUS_WORDS} == STATUS_WORDS
            assert list(work).index("status_name") == list(work).index("status") + 1


async def test_tasks_come_newest_first_20_a_page_by_default(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    history = (await client.get("/tasks")).json()["history"]
    expected = fake.data.accounts[0].tasks[:20]
    assert [entry["task"]["id"] for entry in history] == [task.task_id for task in expected]
    times = [entry["task"]["createTime"] for entry in history]
    assert times == sorted(times, reverse=True)


async def test_tasks_page_sizes_1_and_100_are_taken_and_101_is_a_400(
    client: httpx2.AsyncClient,
) -> None:
    assert len((await client.get("/tasks", params={"pageSize": 1})).json()["history"]) == 1
    assert len((await client.get("/tasks", params={"pageSize": 100})).json()["history"]) == 100
    for size in ("101", "0", "x"):
        response = await client.get("/tasks", params={"pageSize": size})
        assert response.status_code == 400, size
        assert response.json()["error"] == "Invalid parameters"


async def test_tasks_created_before_and_after_are_exclusive(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    tasks = fake.data.accounts[0].tasks
    pivot = tasks[5].create_time
    before = (await client.get("/tasks", params={"createdBefore": pivot, "pageSize": 3})).json()
    after = (await client.get("/tasks", params={"createdAfter": pivot, "pageSize": 100})).json()

    assert [e["task"]["id"] for e in before["history"]] == [t.task_id for t in tasks[6:9]]
    assert [e["task"]["id"] for e in after["history"]] == [t.task_id for t in tasks[:5]]
    one_later = {"createdBefore": pivot + 1, "pageSize": 1}
    assert (await client.get("/tasks", params=one_later)).json()["history"][0]["task"]["id"] == (
        tasks[5].task_id
    )


async def test_tasks_created_before_and_after_together_are_a_400(
    client: httpx2.AsyncClient,
) -> None:
    response = await client.get("/tasks", params={"createdBefore": 2, "createdAfter": 1})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Parameters createdBefore and createdAfter cannot be used together"
    }
    bad = await client.get("/tasks", params={"createdBefore": "yesterday"})
    assert bad.status_code == 400


async def test_tasks_content_type_filter(fake: FakeKlingServer, client: httpx2.AsyncClient) -> None:
    history = (await client.get("/tasks", params={"contentType": "IMAGE"})).json()["history"]
    images = fake.data.accounts[0].tasks_of("image")
    assert [e["task"]["id"] for e in history] == [t.task_id for t in images[:20]]


async def test_task_by_id_has_the_documented_shape(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    task = fake.data.accounts[0].tasks[3]
    listed = (await client.get("/tasks", params={"pageSize": 4})).json()["history"][3]

    response = await client.get(f"/tasks/{task.task_id}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == DETAIL_KEYS
    assert {key: body[key] for key in STATUS_WORDS} == STATUS_WORDS
    assert body["message"] == "success"
    assert (body["task"], body["works"]) == (listed["task"], listed["works"])
    assert [work["workId"] for work in body["works"]] == list(task.work_ids)


async def test_task_by_id_of_another_account_or_unknown_is_404(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    other = fake.data.accounts[1].tasks[0].task_id
    for task_id in (other, 1):
        response = await client.get(f"/tasks/{task_id}")
        assert response.status_code == 404
        assert response.json() == {"error": f"Task {task_id} not found"}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_a_task_id_that_is_not_a_number_is_a_400(
    client: httpx2.AsyncClient, method: str
) -> None:
    for task_id in ("abc", "12a", "-5"):
        response = await client.request(method, f"/tasks/{task_id}")
        assert response.status_code == 400, task_id
        assert response.json() == {"error": "Invalid task_id parameter"}


async def test_delete_task_removes_its_works_from_every_listing(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    account = fake.data.accounts[0]
    task = next(task for task in account.tasks if task.work_count > 1)

    response = await client.delete(f"/tasks/{task.task_id}")

    assert response.status_code == 200
    assert response.json() == {"deleted": task.work_count, "workIds": list(task.work_ids)}
    assert account.deleted_task_ids == {task.task_id}
    works = [w["workId"] for e in await all_history(client, pageSize=40) for w in e["works"]]
    assert not set(task.work_ids) & set(works)
    assert len(works) == 120 - task.work_count
    tasks = (await client.get("/tasks", params={"pageSize": 100})).json()["history"]
    assert task.task_id not in {entry["task"]["id"] for entry in tasks}
    assert (await client.get(f"/tasks/{task.task_id}")).status_code == 404
    download = await client.get("/assets/download", params={"workIds": task.first_work_id})
    assert download.status_code == 404


async def test_deleting_a_task_again_or_an_unknown_one_is_the_documented_404(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    task_id = fake.data.accounts[0].tasks[0].task_id
    assert (await client.delete(f"/tasks/{task_id}")).status_code == 200
    for unknown in (task_id, fake.data.accounts[1].tasks[0].task_id, 123):
        again = await client.delete(f"/tasks/{unknown}")
        assert again.status_code == 404
        assert again.json() == {"error": f"No works found for task {unknown}"}


async def test_control_reset_can_restore_deleted_tasks(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    before = (await client.get("/assets")).content
    await client.delete(f"/tasks/{fake.data.accounts[0].tasks[0].task_id}")
    assert (await client.get("/assets")).content != before
    async with make_client(base_url=fake.url) as control:
        await control.post("/_fake/reset", json={"data": True})
    assert (await client.get("/assets")).content == before


async def test_faults_apply_to_the_task_endpoints(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.status(503), Fault.status(429), path="/tasks")
    task_id = fake.data.accounts[0].tasks[0].task_id
    assert (await client.delete(f"/tasks/{task_id}")).status_code == 503
    assert (await client.get("/tasks")).status_code == 429
    assert (await client.delete(f"/tasks/{task_id}")).status_code == 200


# -- determinism and size ---------------------------------------------------------------------


async def fetch_everything(fake: FakeKlingServer) -> list[bytes]:
    async with make_client(base_url=fake.base_url, headers=auth(fake)) as http:
        bodies = []
        for email_address in fake.emails:
            params = {"email": email_address}
            for page in (1, 2, 3):
                assets = await http.get("/assets", params={**params, "pageNum": page})
                bodies.append(assets.content)
            uploads = await http.get("/assets/uploaded", params={**params, "pageSize": 50})
            bodies.append(uploads.content)
            for element in fake.data.account(email_address).elements:
                bodies.append((await http.get(f"/elements/{element.id}", params=params)).content)
            bodies.append((await http.get(f"/accounts/{email_address}")).content)
            bodies.append((await http.get("/tasks", params={**params, "pageSize": 7})).content)
            first_task = fake.data.account(email_address).tasks[0].task_id
            bodies.append((await http.get(f"/tasks/{first_task}", params=params)).content)
            for listing in ({"pageSize": 2}, {"sortDirection": "ASC", "favored": "true"}):
                elements = await http.get("/elements", params={**params, **listing})
                bodies.append(elements.content)
        bodies.append((await http.get("/accounts")).content)
        bodies.append((await http.get("/scheduler/available")).content)
        return bodies


async def test_same_seed_gives_byte_identical_responses() -> None:
    async with FakeKlingServer(seed=11) as one, FakeKlingServer(seed=11) as two:
        assert one.port != two.port
        assert (one.token, one.emails) == (two.token, two.emails)
        assert await fetch_everything(one) == await fetch_everything(two)


async def test_another_seed_gives_other_data() -> None:
    async with FakeKlingServer(seed=1) as one, FakeKlingServer(seed=2) as two:
        assert one.token != two.token
        assert await fetch_everything(one) != await fetch_everything(two)


async def test_large_dataset_starts_well_under_a_second() -> None:
    started = time.perf_counter()
    async with FakeKlingServer(accounts=3, works_per_account=5000) as fake:
        assert time.perf_counter() - started < 5.0  # generous: about 0.15 s on a quiet machine
        assert sum(len(account.work_ids) for account in fake.data) == 15_000
        all_ids = [work for account in fake.data for work in account.work_ids]
        assert len(set(all_ids)) == 15_000


# -- faults -----------------------------------------------------------------------------------


async def test_429_with_retry_after_seconds(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.status(429, retry_after=2))
    response = await client.get("/assets")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert isinstance(response.json()["error"], str)
    assert (await client.get("/assets")).status_code == 200


async def test_429_with_retry_after_http_date(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    date = "Wed, 21 Oct 2037 07:28:00 GMT"
    fake.add_faults(Fault.status(429, retry_after=date))
    response = await client.get("/assets")
    assert response.headers["retry-after"] == date
    assert email.utils.parsedate_to_datetime(response.headers["retry-after"]).year == 2037


async def test_429_without_retry_after(fake: FakeKlingServer, client: httpx2.AsyncClient) -> None:
    fake.add_faults(Fault.status(429))
    response = await client.get("/assets")
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    assert set(response.json()) == {"error"}


async def test_596_carries_its_code_in_the_body(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.status(596))
    response = await client.get("/assets")
    assert response.status_code == 596
    body = response.json()
    assert body["code"] == 596
    assert body["error"]


@pytest.mark.parametrize("code", [500, 502, 503])
async def test_server_errors_use_the_error_shape(
    fake: FakeKlingServer, client: httpx2.AsyncClient, code: int
) -> None:
    fake.add_faults(Fault.status(code))
    response = await client.get("/assets/uploaded")
    assert response.status_code == code
    assert list(response.json()) == ["error"]


async def test_status_fault_with_a_custom_body(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(
        Fault.status(502, body="<html>bad gateway</html>"), Fault.status(402, body={"error": "x"})
    )
    first = await client.get("/assets")
    assert (first.status_code, first.text) == (502, "<html>bad gateway</html>")
    second = await client.get("/assets")
    assert (second.status_code, second.json()) == (402, {"error": "x"})


async def test_scripted_faults_are_consumed_in_order_by_matching_requests(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.status(429, retry_after=2), Fault.status(503), path="/assets/uploaded")
    fake.add_faults(Fault.status(500, method="DELETE"))
    assert (await client.get("/assets")).status_code == 200
    assert (await client.get("/elements/u_000000000000000")).status_code == 404
    assert (await client.get("/assets/uploaded")).status_code == 429
    assert (await client.get("/assets/uploaded")).status_code == 503
    assert (await client.get("/assets/uploaded")).status_code == 200
    assert len(fake.pending_faults) == 1
    assert (await client.delete("/assets/uploaded", params={"id": "1"})).status_code == 500
    assert fake.pending_faults == ()
    assert [r.fault for r in fake.requests] == [None, None, "status", "status", None, "status"]


async def test_faults_apply_before_auth(fake: FakeKlingServer, bare: httpx2.AsyncClient) -> None:
    fake.add_faults(Fault.status(503))
    assert (await bare.get("/assets")).status_code == 503
    assert (await bare.get("/assets")).status_code == 401


async def test_malformed_json_is_a_200_that_does_not_parse(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.malformed_json())
    response = await client.get("/assets")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_drop_makes_the_client_see_a_transport_error(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.drop())
    with pytest.raises(httpx2.TransportError):
        await client.get("/assets")
    assert (await client.get("/assets")).status_code == 200
    assert fake.requests[0].status is None


async def test_drop_can_target_cdn_downloads(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    work_id = first_work(fake, "video")
    fake.add_faults(Fault.drop(), path="/_cdn")
    url = (await client.get("/assets/download", params={"workIds": work_id})).json()["cdnUrl"]
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.get(url)
    assert (await client.get(url)).status_code == 200


async def test_hang_is_cut_by_the_client_timeout(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.hang())
    with pytest.raises(httpx2.ReadTimeout):
        await client.get("/assets", timeout=0.1)
    with anyio.fail_after(5):
        await fake.wait_idle()  # the server saw the client go
    assert fake.requests[0].status is None
    assert (await client.get("/assets")).status_code == 200


async def test_hanging_requests_do_not_block_shutdown() -> None:
    failures: list[BaseException] = []
    fake = FakeKlingServer(accounts=1)

    async def doomed(http: httpx2.AsyncClient) -> None:
        try:
            await http.get(fake.base_url + "/assets", headers=auth(fake), timeout=30)
        except httpx2.TransportError as error:
            failures.append(error)

    with anyio.fail_after(10):
        # The client outlives the server, so only the server can end the hanging requests.
        async with make_client() as http, anyio.create_task_group() as group:
            async with fake:
                fake.add_faults(Fault.hang(), Fault.hang())
                group.start_soon(doomed, http)
                group.start_soon(doomed, http)
                await fake.wait_in_flight(2)
                stopping = time.perf_counter()
            assert time.perf_counter() - stopping < 3.0  # graceful timeout 0.5 s, then cut
            assert not fake.running
    assert len(failures) == 2


async def test_delay_fault_holds_one_request(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.delay(0.05))
    assert (await client.get("/assets")).status_code == 200
    assert (await client.get("/assets")).status_code == 200
    slow, fast = fake.requests
    assert slow.fault == "delay"
    assert slow.duration is not None
    assert slow.duration >= 0.05
    assert fast.fault is None


async def test_fault_rate_is_seeded_and_can_be_switched_off(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    async def statuses() -> list[int]:
        return [
            (await client.get("/assets", params={"pageSize": 1})).status_code for _ in range(30)
        ]

    fake.set_fault_rate(0.5, [Fault.status(500), Fault.status(503)], seed=3)
    first = await statuses()
    fake.set_fault_rate(0.5, [Fault.status(500), Fault.status(503)], seed=3)
    assert await statuses() == first
    assert {500, 503, 200} == set(first)
    fake.set_fault_rate(0.0)
    assert set(await statuses()) == {200}
    fake.set_fault_rate(1.0, path="/elements")
    assert set(await statuses()) == {200}


def test_faults_round_trip_through_dicts() -> None:
    faults = [
        Fault.status(429, retry_after=2.5, path="/assets", method="get"),
        Fault.status(596, body={"error": "gone", "code": 596}),
        Fault.hang(),
        Fault.malformed_json(path="/elements"),
        Fault.drop(method="DELETE"),
        Fault.delay(1.5),
    ]
    assert [Fault.from_dict(f.to_dict()) for f in faults] == faults
    assert faults[0].method == "GET"
    with pytest.raises(ValueError, match="kind"):
        Fault.from_dict({"kind": "explode"})


# -- faults for the reliability matrix: HTML errors, exact bodies, truncation, bad gzip ----------

HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"


async def read_raw(
    http: httpx2.AsyncClient, url: str, **kwargs: Any
) -> tuple[httpx2.Response, bytes, httpx2.RemoteProtocolError | None]:
    """The response, the raw bytes that arrived, and the error that cut them short if any."""
    received = b""
    async with http.stream("GET", url, **kwargs) as response:
        try:
            async for chunk in response.aiter_raw():
                received += chunk
        except httpx2.RemoteProtocolError as error:
            return response, received, error
    return response, received, None


async def cdn_url(fake: FakeKlingServer, client: httpx2.AsyncClient) -> str:
    params = {"workIds": first_work(fake, "video"), "fileTypes": "MP4"}
    return str((await client.get("/assets/download", params=params)).json()["cdnUrl"])


async def test_status_fault_can_send_an_html_error_page(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.status(502, body=HTML_502, content_type="text/html", retry_after=1))
    response = await client.get("/assets")
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/html"
    assert response.headers["content-length"] == str(len(HTML_502))
    assert response.headers["retry-after"] == "1"
    assert response.text == HTML_502
    assert (fake.requests[0].status, fake.requests[0].fault) == (502, "status")


@pytest.mark.parametrize("empty", [b"", ""])
async def test_status_fault_with_an_empty_body_sends_no_body(
    fake: FakeKlingServer, client: httpx2.AsyncClient, empty: bytes | str
) -> None:
    fake.add_faults(Fault.status(503, body=empty), Fault.status(500, body=empty, path="/_cdn"))
    response = await client.get("/assets")
    assert response.status_code == 503
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    assert "content-type" not in response.headers
    cdn = await client.get(await cdn_url(fake, client))
    assert (cdn.status_code, cdn.content) == (500, b"")
    assert [r.status for r in fake.requests] == [503, 200, 500]


async def test_body_fault_sends_exactly_that_body(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    wrong = {"history": [{"works": [{"workId": "not-a-number"}]}]}
    big = 2**64 + 1  # beyond what orjson encodes
    fake.add_faults(
        Fault.body(wrong),
        Fault.body([{"id": big}], status=201),
        Fault.body(b"\xff\xfe raw", status=500, content_type="application/octet-stream"),
        Fault.body(None),
        Fault.body("<p>hi</p>", content_type="text/html", path="/_cdn"),
    )
    async with make_client(base_url=fake.url) as control:
        stats = await control.get("/_fake/stats")
    assert json.loads(stats.content)["pending_faults"][1]["body"] == [{"id": big}]
    first = await client.get("/assets")
    assert (first.status_code, first.headers["content-type"]) == (200, "application/json")
    assert first.json() == wrong
    second = await client.get("/assets")
    assert second.status_code == 201
    assert json.loads(second.content) == [{"id": big}]
    third = await client.get("/assets")
    assert (third.status_code, third.content) == (500, b"\xff\xfe raw")
    assert third.headers["content-type"] == "application/octet-stream"
    fourth = await client.get("/assets")
    assert (fourth.status_code, fourth.content) == (200, b"null")
    cdn = await client.get(await cdn_url(fake, client))
    assert (cdn.status_code, cdn.text) == (200, "<p>hi</p>")
    assert cdn.headers["content-type"] == "text/html"
    assert [(r.status, r.fault) for r in fake.requests] == [
        (200, "body"), (201, "body"), (500, "body"), (200, "body"), (200, None), (200, "body"),
    ]  # fmt: skip


async def test_truncated_sends_the_real_headers_and_half_the_real_body(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    params = {"pageSize": 3}
    real = await client.get("/assets", params=params)
    fake.add_faults(Fault.truncated())
    response, received, error = await read_raw(client, "/assets", params=params)
    assert isinstance(error, httpx2.RemoteProtocolError)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(real.content))
    assert received == real.content[: len(real.content) // 2]
    fake.add_faults(Fault.truncated())
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.get("/assets", params=params)
    assert (await client.get("/assets", params=params)).content == real.content
    assert [(r.status, r.fault) for r in fake.requests] == [
        (200, None), (None, "truncated"), (None, "truncated"), (200, None),
    ]  # fmt: skip


async def test_truncated_can_target_cdn_downloads(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    url = await cdn_url(fake, client)
    expected = fake.expected_file_bytes(first_work(fake, "video"), "MP4")
    fake.add_faults(Fault.truncated(), path="/_cdn")
    response, received, error = await read_raw(client, url)
    assert isinstance(error, httpx2.RemoteProtocolError)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-length"] == str(len(expected))
    assert received == expected[: len(expected) // 2]
    assert (fake.requests[-1].status, fake.requests[-1].fault) == (None, "truncated")
    assert (await client.get(url)).content == expected


async def test_truncated_answers_stay_behind_auth(
    fake: FakeKlingServer, bare: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.truncated())
    response, received, error = await read_raw(bare, "/assets")
    assert isinstance(error, httpx2.RemoteProtocolError)
    assert response.status_code == 401
    assert received == b'{"error":"Unauthorized","code":401}'[:17]


@pytest.mark.parametrize(
    ("fault", "status"), [(Fault.corrupt_gzip(), 200), (Fault.corrupt_gzip(500), 500)]
)
async def test_corrupt_gzip_is_a_decoding_error(
    fake: FakeKlingServer, client: httpx2.AsyncClient, fault: Fault, status: int
) -> None:
    fake.add_faults(fault)
    response, received, error = await read_raw(client, "/assets")
    assert error is None
    assert response.status_code == status
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-length"] == str(len(received))
    assert received[:2] != b"\x1f\x8b"
    fake.add_faults(fault)
    with pytest.raises(httpx2.DecodingError):
        await client.get("/assets")
    assert [(r.status, r.fault) for r in fake.requests] == [(status, "corrupt_gzip")] * 2


async def test_corrupt_gzip_can_target_cdn_downloads(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    url = await cdn_url(fake, client)
    fake.add_faults(Fault.corrupt_gzip(), path="/_cdn")
    with pytest.raises(httpx2.DecodingError):
        await client.get(url)
    assert fake.requests[-1].fault == "corrupt_gzip"
    assert (await client.get(url)).status_code == 200


def test_new_fault_kinds_round_trip_through_dicts() -> None:
    faults = [
        Fault.status(502, body=HTML_502, content_type="text/html", path="/assets"),
        Fault.status(503, body=b""),
        Fault.status(500, body=b"\xff\x00 not utf-8"),
        Fault.body({"history": [{"works": [{"workId": "not-a-number"}]}]}),
        Fault.body(b"raw", status=418, content_type="text/plain", method="delete"),
        Fault.body(None),
        Fault.body(""),
        Fault.truncated(path="/_cdn"),
        Fault.corrupt_gzip(),
        Fault.corrupt_gzip(500, method="GET"),
    ]
    dicts = [fault.to_dict() for fault in faults]
    assert [Fault.from_dict(orjson.loads(orjson.dumps(d))) for d in dicts] == faults
    assert dicts[0] == {
        "kind": "status", "code": 502, "body": HTML_502, "content_type": "text/html",
        "path": "/assets",
    }  # fmt: skip
    assert dicts[1] == {"kind": "status", "code": 503, "body": ""}
    assert dicts[2] == {"kind": "status", "code": 500, "body_base64": "/wAgbm90IHV0Zi04"}
    assert dicts[3]["status"] == 200
    assert dicts[5] == {"kind": "body", "status": 200, "body": None}
    assert dicts[7] == {"kind": "truncated", "path": "/_cdn"}
    assert dicts[8] == {"kind": "corrupt_gzip", "status": 200}
    assert Fault.from_dict({"kind": "corrupt_gzip"}) == Fault.corrupt_gzip()
    assert Fault.from_dict({"kind": "body", "body": [1], "code": 202}) == Fault.body(
        [1], status=202
    )
    assert Fault.status(503, body="").status_body() == (b"", None)
    assert Fault.body(b"x").status_body() == (b"x", "text/plain; charset=utf-8")


def test_new_fault_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="status"):
        Fault.body({}, status=99)
    with pytest.raises(ValueError, match="status"):
        Fault.corrupt_gzip(1000)
    with pytest.raises(ValueError, match="content_type"):
        Fault.status(502, content_type="text/html\r\nX-Evil: 1")
    with pytest.raises(ValueError, match="JSON"):
        Fault.body({"when": object()})
    for bad in (
        {"kind": "body"},
        {"kind": "body", "body": {}, "status": "200"},
        {"kind": "body", "body_base64": "not base64!"},
        {"kind": "body", "body_base64": 3},
        {"kind": "status", "code": 502, "content_type": 3},
        {"kind": "corrupt_gzip", "status": True},
    ):
        with pytest.raises(ValueError):  # noqa: PT011
            Fault.from_dict(bad)


async def test_new_faults_through_the_random_fault_rate(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    wrong = {"history": [{"works": [{"workId": "not-a-number"}]}]}
    fake.set_fault_rate(
        1.0,
        [
            Fault.status(502, body=HTML_502, content_type="text/html"),
            Fault.body(wrong),
            Fault.truncated(),
            Fault.corrupt_gzip(),
        ],
        seed=7,
    )
    observed: list[tuple[str | None, object]] = []
    for _ in range(24):
        try:
            response = await client.get("/assets", params={"pageSize": 1})
        except (httpx2.RemoteProtocolError, httpx2.DecodingError) as error:
            observed.append((fake.requests[-1].fault, type(error)))
        else:
            observed.append((fake.requests[-1].fault, (response.status_code, response.text)))
    expected = {
        "status": (502, HTML_502),
        "body": (200, json.dumps(wrong, separators=(",", ":"))),
        "truncated": httpx2.RemoteProtocolError,
        "corrupt_gzip": httpx2.DecodingError,
    }
    assert {kind for kind, _ in observed} == set(expected)
    for kind, outcome in observed:
        assert kind is not None
        assert outcome == expected[kind]
    statuses = {r.fault: r.status for r in fake.requests}
    assert statuses == {"status": 502, "body": 200, "truncated": None, "corrupt_gzip": 200}


async def test_control_api_takes_the_new_fault_kinds(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    faults = [
        {"kind": "status", "code": 502, "body": HTML_502, "content_type": "text/html"},
        {"kind": "body", "status": 200, "body": {"history": "nope"}},
        {"kind": "truncated"},
        {"kind": "corrupt_gzip", "status": 500},
    ]
    async with make_client(base_url=fake.url) as control:
        stats = (await control.post("/_fake/config", json={"faults": faults})).json()
        assert stats["pending_faults"] == faults
        rate = {"fault_rate": {"rate": 1, "faults": [{"kind": "truncated"}], "path": "/_cdn"}}
        stats = (await control.post("/_fake/config", json=rate)).json()
        assert stats["random_faults"] == [{"kind": "truncated", "path": "/_cdn"}]
    html = await client.get("/assets")
    assert (html.status_code, html.headers["content-type"]) == (502, "text/html")
    assert (await client.get("/assets")).json() == {"history": "nope"}
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.get("/assets")
    with pytest.raises(httpx2.DecodingError):
        await client.get("/assets")
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.get(await cdn_url(fake, client))
    assert [r.fault for r in fake.requests] == [
        "status", "body", "truncated", "corrupt_gzip", None, "truncated",
    ]  # fmt: skip


# -- latency, request log, concurrency --------------------------------------------------------


async def test_requests_are_recorded(fake: FakeKlingServer, client: httpx2.AsyncClient) -> None:
    await client.get("/assets", params={"pageSize": 3, "contentType": "video"})
    await client.delete("/assets/uploaded", params={"id": "1"})
    async with make_client(base_url=fake.url) as control:
        await control.get("/_fake/stats")
    first, second = fake.requests
    assert (first.method, first.path, first.api_path) == ("GET", "/v1/kling/assets", "/assets")
    assert first.query == {"email": fake.emails[0], "pageSize": "3", "contentType": "video"}
    assert (first.status, first.email, first.fault) == (200, fake.emails[0], None)
    assert first.end is not None
    assert first.start <= first.end <= second.start
    assert (second.method, second.status) == ("DELETE", 200)
    assert first.raw_path == "/v1/kling/assets"
    assert first.headers["authorization"] == f"Bearer {fake.token}"
    assert first.headers["host"] == fake.url.removeprefix("http://")
    fake.reset_stats()
    assert fake.requests == []


async def test_wait_for_requests_returns_when_they_arrive(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(Fault.hang(), Fault.hang(), Fault.hang())
    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(client.get, "/assets")
        with anyio.fail_after(5):
            await fake.wait_for_requests(3)
        assert len(fake.requests) == 3
        group.cancel_scope.cancel()


async def test_wait_in_flight_and_max_in_flight(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.add_faults(*[Fault.hang() for _ in range(4)])
    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(client.get, "/assets")
        with anyio.fail_after(5):
            await fake.wait_in_flight(4)
        assert fake.in_flight == 4
        assert fake.max_in_flight == 4
        group.cancel_scope.cancel()
    with anyio.fail_after(5):
        await fake.wait_idle()
    await fake.wait_in_flight(4)  # already reached: returns at once
    fake.reset_stats()
    assert fake.max_in_flight == fake.in_flight


async def test_latency_is_adjustable_at_runtime(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.latency = 0.05
    fake.jitter = 0.01
    await client.get("/assets", params={"pageSize": 1})
    fake.latency = 0.0
    fake.jitter = 0.0
    await client.get("/assets", params={"pageSize": 1})
    slow, fast = fake.requests
    assert slow.duration is not None
    assert fast.duration is not None
    assert slow.duration >= 0.04
    assert fast.duration < slow.duration
    with pytest.raises(ValueError, match="latency"):
        fake.latency = -1


# -- out-of-process control -------------------------------------------------------------------


async def test_control_api_configures_faults_latency_and_resets(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    async with make_client(base_url=fake.url) as control:
        config = {
            "latency_ms": 1,
            "faults": [{"kind": "status", "code": 429, "retry_after": 1, "path": "/assets"}],
        }
        stats = (await control.post("/_fake/config", json=config)).json()
        assert stats["latency"] == pytest.approx(0.001)
        assert stats["pending_faults"] == [config["faults"][0]]
        assert (await client.get("/assets")).status_code == 429
        stats = (await control.get("/_fake/stats")).json()
        assert (stats["requests"], stats["in_flight"], stats["max_in_flight"]) == (1, 0, 1)
        recorded = (await control.get("/_fake/requests")).json()
        assert recorded[0]["status"] == 429
        rate = {"fault_rate": {"rate": 1, "faults": [{"kind": "status", "code": 503}]}}
        await control.post("/_fake/config", json=rate)
        assert (await client.get("/assets")).status_code == 503
        reset = (await control.post("/_fake/reset")).json()
        assert (reset["requests"], reset["fault_rate"], reset["pending_faults"]) == (0, 0, [])
        assert (await client.get("/assets")).status_code == 200
        bad = await control.post("/_fake/config", json={"faults": [{"kind": "nope"}]})
        assert bad.status_code == 400


async def test_control_config_sets_jitter_in_seconds_or_milliseconds(
    fake: FakeKlingServer,
) -> None:
    async with make_client(base_url=fake.url) as control:
        stats = (await control.post("/_fake/config", json={"jitter_ms": 5})).json()
        assert stats["jitter"] == pytest.approx(0.005)
        await control.post("/_fake/config", json={"jitter": 0.25})
    assert fake.jitter == 0.25


async def test_control_reset_can_restore_deleted_uploads(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    upload_id = fake.data.accounts[0].uploads[0].id
    await client.delete("/assets/uploaded", params={"id": upload_id})
    async with make_client(base_url=fake.url) as control:
        await control.post("/_fake/reset", json={"data": True})
    assert fake.data.accounts[0].live_uploads[0].id == upload_id


async def test_standalone_process_prints_its_address_and_serves() -> None:
    command = [
        sys.executable, "-m", "kling_async.testing", "--host", "127.0.0.1", "--port", "0",
        "--accounts", "2", "--works", "30", "--uploads", "5", "--elements", "2",
        "--latency-ms", "1", "--jitter-ms", "1", "--seed", "5", "--token", "user:7-abc123",
    ]  # fmt: skip
    process = await anyio.open_process(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    async with process:
        assert process.stdout is not None
        buffer = b""
        with anyio.fail_after(20):
            while b"\n" not in buffer:
                buffer += await process.stdout.receive()
        info = orjson.loads(buffer.split(b"\n")[0])
        assert info["token"] == "user:7-abc123"
        assert len(info["emails"]) == 2
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1/kling", info["base_url"])
        async with make_client(base_url=info["base_url"], timeout=5) as http:
            response = await http.get(
                "/assets",
                params={"email": info["emails"][1], "pageSize": 100},
                headers={"Authorization": "Bearer user:7-abc123"},
            )
            assert response.status_code == 200
            works = [w for entry in response.json()["history"] for w in entry["works"]]
            assert len(works) == 30
            stats = (await http.get(info["url"] + "/_fake/stats")).json()
            assert stats["requests"] == 1
        process.terminate()
        with anyio.fail_after(10):
            assert await process.wait() == 0


async def test_serve_forever_serves_until_cancelled() -> None:
    server = FakeKlingServer(accounts=1)
    ready = anyio.Event()
    infos: list[dict[str, Any]] = []

    def on_ready(running: FakeKlingServer) -> None:
        infos.append(running.startup_info())
        ready.set()

    async with anyio.create_task_group() as group:
        group.start_soon(functools.partial(serve_forever, server, on_ready=on_ready))
        await ready.wait()
        async with make_client(base_url=infos[0]["base_url"], headers=auth(server)) as http:
            assert (await http.get("/assets")).status_code == 200
        group.cancel_scope.cancel()
    assert not server.running
    assert infos[0]["emails"] == list(server.emails)
    assert infos[0]["url"] + "/v1/kling" == infos[0]["base_url"]


def test_standalone_exits_with_2_on_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert standalone_main(["--accounts", "0"]) == 2
    assert "accounts" in capsys.readouterr().err


# -- misuse -----------------------------------------------------------------------------------


async def test_a_running_server_cannot_be_entered_again(fake: FakeKlingServer) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        await fake.__aenter__()


async def test_a_stopped_server_can_be_started_again() -> None:
    server = FakeKlingServer(accounts=1)
    for _ in range(2):
        async with server, make_client(base_url=server.base_url, headers=auth(server)) as http:
            assert (await http.get("/assets")).status_code == 200
    assert len(server.requests) == 2


async def test_an_error_in_the_body_comes_out_unwrapped() -> None:
    with pytest.raises(LookupError, match="boom"):
        async with FakeKlingServer(accounts=1):
            raise LookupError("boom")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"accounts": 0},
        {"works_per_account": -1},
        {"uploads_per_account": 100_001},
        {"token": ""},
        {"token": "user:1 2"},
        {"latency": -0.1},
        {"jitter": -1},
    ],
)
def test_invalid_server_arguments_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        FakeKlingServer(**kwargs)


def test_fault_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="status"):
        Fault.status(42)
    with pytest.raises(ValueError, match="negative"):
        Fault.delay(-1)
    for bad in (
        {"kind": "status"},
        {"kind": "status", "code": 429, "retry_after": [1]},
        {"kind": "delay"},
        {"kind": "hang", "path": 3},
        {"kind": "drop", "method": 3},
    ):
        with pytest.raises(ValueError):  # noqa: PT011
            Fault.from_dict(bad)


def test_fault_bodies_and_headers() -> None:
    when = datetime.datetime(2037, 10, 21, 7, 28, tzinfo=datetime.timezone.utc)
    assert Fault.status(429, retry_after=when).retry_after_header() == (
        "Wed, 21 Oct 2037 07:28:00 GMT"
    )
    assert Fault.status(429, retry_after=1.5).retry_after_header() == "1.5"
    assert Fault.status(401).status_body() == (
        b'{"error":"Unauthorized","code":401}',
        "application/json",
    )
    assert orjson.loads(Fault.status(418).status_body()[0]) == {"error": "I'm a Teapot"}
    assert orjson.loads(Fault.status(599).status_body()[0]) == {"error": "Error 599"}
    assert Fault.status(500, body=b"raw").status_body() == (b"raw", "text/plain; charset=utf-8")


async def test_add_faults_queues_none_when_one_is_not_a_fault(fake: FakeKlingServer) -> None:
    with pytest.raises(TypeError, match="expected a Fault"):
        fake.add_faults(Fault.drop(), "drop")  # type: ignore[arg-type]
    assert fake.pending_faults == ()


async def test_fault_rate_is_validated(fake: FakeKlingServer) -> None:
    with pytest.raises(ValueError, match="rate"):
        fake.set_fault_rate(1.5)
    with pytest.raises(ValueError, match="fault"):
        fake.set_fault_rate(0.5, [])
    with pytest.raises(TypeError):
        fake.add_faults("drop")  # type: ignore[arg-type]


def test_file_helpers_reject_unknown_works_and_types() -> None:
    server = FakeKlingServer(accounts=1)
    with pytest.raises(ValueError, match="file type"):
        expected_file_bytes(1, "GIF")
    with pytest.raises(KeyError):
        server.expected_zip_members([1])


def ipv6_loopback_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    ("host", "url_host"),
    [("0.0.0.0", "127.0.0.1"), ("::1", "[::1]")],
)
async def test_url_for_other_hosts(host: str, url_host: str) -> None:
    if ":" in host and not ipv6_loopback_works():
        return  # nothing to check on a machine without IPv6 loopback
    server = FakeKlingServer(accounts=1, host=host)
    async with server:
        assert server.url == f"http://{url_host}:{server.port}"
        async with make_client(base_url=server.base_url, headers=auth(server)) as http:
            assert (await http.get("/assets")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        b'{"latency": -1}',
        b'{"jitter_ms": "x"}',
        b'{"fault_rate": 3}',
        b'{"fault_rate": {"rate": "x"}}',
        b'{"faults": {"kind": "drop"}}',
    ],
)
async def test_control_config_rejects_bad_bodies(fake: FakeKlingServer, body: bytes) -> None:
    async with make_client(base_url=fake.url) as control:
        response = await control.post("/_fake/config", content=body)
        assert response.status_code == 400
        assert response.json()["error"]
        assert (await control.post("/_fake/reset", content=b"nope")).status_code == 400


async def test_control_config_switches_random_faults_off(
    fake: FakeKlingServer, client: httpx2.AsyncClient
) -> None:
    fake.set_fault_rate(1.0)
    async with make_client(base_url=fake.url) as control:
        stats = (await control.post("/_fake/config", json={"fault_rate": None})).json()
        assert stats["fault_rate"] == 0
        stats = (await control.post("/_fake/config", json={"fault_rate": {"rate": 1}})).json()
        assert stats["random_faults"] == [{"kind": "status", "code": 500}]
        stats = (await control.post("/_fake/config", json={"clear_faults": True})).json()
        assert stats["fault_rate"] == 0
    assert (await client.get("/assets")).status_code == 200


async def test_wrong_method_is_a_json_405(client: httpx2.AsyncClient) -> None:
    response = await client.put("/assets")
    assert response.status_code == 405
    assert response.json() == {"error": "Method not allowed"}
