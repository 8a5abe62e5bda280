"""The response models: what a decoded page holds and what the models promise."""

from __future__ import annotations

import re
import weakref
from datetime import datetime, timezone
from typing import Any

import attrs
import orjson
import pytest

from kling_async import _models
from kling_async._converter import decode_json, unstructure
from kling_async._exceptions import ResponseValidationError
from kling_async._models import (
    Account,
    AccountBalance,
    AccountCapacity,
    AccountSession,
    AssetsPage,
    Capacity,
    DeleteResult,
    DownloadFileType,
    DownloadInfo,
    DownloadResult,
    Element,
    ElementResource,
    ElementsPage,
    ElementTag,
    HistoryEntry,
    Limitation,
    PointsGrant,
    Resource,
    RunningTask,
    SelfComment,
    Task,
    TaskArgument,
    TaskInfo,
    TaskInput,
    Ticket,
    UploadedAsset,
    UploadResult,
    UploadsPage,
    UserPoints,
    UserTickets,
    Voice,
    Work,
)

ALL_MODELS = [getattr(_models, name) for name in _models.__all__]

IDENTITY: dict[type[Any], dict[str, Any]] = {
    Work: {"work_id": 9001, "task_id": 5001},
    Task: {"id": 5001},
    UploadedAsset: {"id": "700000000000000001"},
    Element: {"id": "u_900000000000001"},
    ElementTag: {"id": "tag_7"},
    Voice: {"id": 42},
    RunningTask: {"id": 301120},
    AccountCapacity: {"email": "amy@example.org"},
    DownloadResult: {"cdn_url": "https://media.example.org/dl/bundle.zip"},
    Account: {"email": "amy@example.org"},
}
"""The attributes that name an object, with a value each: the models' only required ones."""


def minimal(cls: type[Any], **attributes: Any) -> Any:
    """A ``cls`` with only what names it, plus ``attributes``."""
    return cls(**IDENTITY.get(cls, {}), **attributes)


# --- Payloads: our own values, in the shape the API documents ------------------------------


def task_info_payload(prompt: str, *, source_url: str | None = None) -> dict[str, Any]:
    return {
        "type": "m2v_img2video_hq" if source_url else "mmu_txt2img_aiweb",
        "inputs": (
            [
                {
                    "name": "input",
                    "inputType": "URL",
                    "token": None,
                    "blobStorage": None,
                    "url": source_url,
                    "cover": None,
                    "fromWorkId": None,
                    "fromUploadId": 77001,
                }
            ]
            if source_url
            else []
        ),
        "arguments": [
            {"name": "prompt", "value": prompt},
            {"name": "negative_prompt", "value": "text, watermark"},
            {"name": "duration", "value": "10"},
            {"name": "kling_version", "value": "2.1"},
        ],
        "extraArgs": {"seed": 31337},
        "callbackPayloads": [],
        "scene": "NORMAL_CREATION",
    }


def work_payload(work_id: int, task_id: int, *, video: bool) -> dict[str, Any]:
    return {
        "workId": work_id,
        "workItemId": 0,
        "taskId": task_id,
        "userId": 8080,
        "type": "m2v_img2video_hq" if video else "mmu_txt2img_aiweb",
        "status": 99,
        "status_name": "succeed",
        "status_final": True,
        "contentType": "video" if video else "image",
        "resource": {
            "resource": f"https://media.example.org/w/{work_id}.{'mp4' if video else 'png'}",
            "height": 720,
            "width": 1280,
            "duration": 10041 if video else 0,
            "resourceKey": "",
        },
        "cover": {
            "resource": f"https://media.example.org/w/{work_id}-cover.jpg",
            "height": 720,
            "width": 1280,
            "duration": 0,
            "resourceKey": "",
        },
        "starNum": 3,
        "cloneCount": 1,
        "reportNum": 0,
        "createTime": 1746000000123,
        "taskInfo": task_info_payload(
            "a lighthouse in a storm" if video else "a fox made of paper",
            source_url="https://media.example.org/u/source.png" if video else None,
        ),
        "selfAttitude": "like",
        "selfComment": {"rate": 4, "tags": ["sharp"], "content": "nice", "prompts": []},
        "favored": True,
        "starred": False,
        "publishStatus": "unpublished",
        "deleted": False,
        "publishTime": 0,
        "submitTime": 1746000000456,
        "lipSyncStatus": 0,
        "downloadInfo": {
            "fileTypes": [
                {"type": "MP4" if video else "PNG", "watermark": True},
                {"type": "WAV", "watermark": False},
            ]
        },
        "allowPublish": True,
    }


def history_entry_payload(task_id: int, works: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "works": works,
        "task": {
            "id": task_id,
            "userId": 8080,
            "type": works[0]["type"],
            "scene": "NORMAL_CREATION",
            "status": 99,
            "status_name": "succeed",
            "status_final": True,
            "taskInfo": works[0]["taskInfo"],
            "favored": False,
            "deleted": False,
            "viewed": True,
            "createTime": 1746000000001,
            "updateTime": 1746000090002,
            "viewTime": 1746000500003,
        },
        "etaTime": 12,
        "etaTimeOverSla": False,
        "queuingEtaTime": 3,
        "originEtaTime": 15,
        "originQueuingEtaTime": 4,
        "currentTimestamp": 1746100000000,
    }


def assets_page_payload() -> dict[str, Any]:
    return {
        "limitations": [
            {"type": "m2v_img2video_hq", "remaining": 250, "limit": 300},
            {"type": "mmu_txt2img_aiweb", "remaining": 1000, "limit": 1000},
        ],
        "history": [
            history_entry_payload(5001, [work_payload(9001, 5001, video=True)]),
            history_entry_payload(
                5002,
                [work_payload(9002, 5002, video=False), work_payload(9003, 5002, video=False)],
            ),
        ],
        "userPoints": {
            "points": [
                {
                    "orderId": "ord-1",
                    "type": "plan",
                    "amount": 66000,
                    "balance": 4321,
                    "startTime": 1745000000000,
                    "endTime": 1747600000000,
                }
            ],
            "total": 4321,
        },
        "userTickets": {
            "ticket": [
                {
                    "orderId": "ord-2",
                    "type": "priority",
                    "packageType": "reward",
                    "amount": 2,
                    "balance": 1,
                    "startTime": 1745000000000,
                    "endTime": 1747600000000,
                }
            ]
        },
    }


def uploads_page_payload() -> dict[str, Any]:
    return {
        "uploadAssetsList": [
            {
                "id": "700000000000000001",
                "name": "f00dfeed.mp4",
                "userId": 8080,
                "contentType": "video",
                "resource": {
                    "resource": "https://media.example.org/u/f00dfeed.mp4",
                    "height": 1920,
                    "width": 1080,
                    "duration": 6500,
                    "resourceKey": "",
                },
                "cover": {
                    "resource": "https://media.example.org/u/f00dfeed.jpg",
                    "height": 1920,
                    "width": 1080,
                    "duration": 0,
                    "resourceKey": "",
                },
                "createTime": 1750000000250,
                "updateTime": 1750000000750,
                "favored": False,
                "extraInfo": '{"origin":"web"}',
                "entrance": "",
            }
        ]
    }


def element_payload() -> dict[str, Any]:
    voice = {"id": 42, "name": "Narrator", "official": True, "resource": {"lang": "en"}}
    return {
        "id": "u_900000000000001",
        "name": "Paper Fox",
        "userId": 8080,
        "type": "IMAGE",
        "description": "an origami fox",
        "cover": {
            "resource": "https://media.example.org/e/front.jpg",
            "width": 512,
            "height": 768,
            "resourceKey": "cover",
            "cover": True,
            "slotKey": "",
        },
        "resources": [
            {
                "resource": "https://media.example.org/e/front.jpg",
                "resourceKey": "cover",
                "cover": True,
                "slotKey": "",
            },
            {
                "resource": "https://media.example.org/e/left.png",
                "width": 512,
                "height": 768,
                "resourceKey": "secondary",
                "cover": False,
                "slotKey": "side",
                "voice": voice,
            },
        ],
        "tagList": [{"id": 1, "name": "animal"}],
        "voice": voice,
        "currentVersion": 2,
        "createTime": 1736640000000,
        "updateTime": 1736640000999,
        "favored": False,
        "official": False,
    }


def elements_page_payload() -> dict[str, Any]:
    earliest = {
        "id": "u_900000000000002",
        "name": "Tin Robot",
        "coverImage": "https://media.example.org/e/robot.jpg",
        "description": "a wind-up robot",
        "tag": {"id": "tag_7", "tagKey": "object", "tagDesc": "Objects"},
        "imageResources": ["https://media.example.org/e/robot-side.jpg"],
        "favored": True,
        "official": False,
        "createTime": 1736640000000,
        "updateTime": 1736640000000,
    }
    return {"elementsList": [element_payload(), earliest], "pageNum": 1, "pageSize": 2, "total": 3}


def capacity_payload() -> dict[str, Any]:
    return {
        "executing": [
            {
                "id": 301120,
                "email": "amy@example.org",
                "started": "2026-01-05T10:00:00.000Z",
                "elapsed": "01:12",
                "replyUrl": "https://hooks.example.org/kling",
                "replyRef": "job-1",
            }
        ],
        "available": [
            {"email": "amy@example.org", "maxJobs": 5, "executing": 1, "available": 4},
            {"email": "bob@example.org", "maxJobs": 2, "executing": 0, "available": 2},
        ],
    }


def download_payload() -> dict[str, Any]:
    return {"cdnUrl": "https://media.example.org/dl/bundle.zip", "status": "success"}


def account_payload() -> dict[str, Any]:
    return {
        "email": "amy@example.org",
        "session": {
            "userId": "8080",
            "ExpireTime": 1767225600,
            "ExpireTimeUTC": "2026-01-01T00:00:00.000Z",
        },
        "maxJobs": 4,
        "password": "(masked)",
        "balance": {
            "points": [
                {
                    "orderId": "ord-1",
                    "type": "plan",
                    "amount": 66000,
                    "balance": 4321,
                    "startTime": 1745000000000,
                    "endTime": 1747600000000,
                }
            ],
            "tickets": [{"kind": "priority"}, 3],
            "nextApplyTime": 1747600000000,
            "total": 4321,
        },
    }


def decode(payload: dict[str, Any], cls: type[Any]) -> Any:
    return decode_json(orjson.dumps(payload), cls)


UTC = timezone.utc

# --- Decoding whole pages -----------------------------------------------------------------


def test_assets_page_decodes_into_every_nested_model() -> None:
    page = decode(assets_page_payload(), AssetsPage)

    assert page.limitations == (
        Limitation(type="m2v_img2video_hq", remaining=250, limit=300),
        Limitation(type="mmu_txt2img_aiweb", remaining=1000, limit=1000),
    )
    first = page.history[0]
    assert isinstance(first, HistoryEntry)
    assert (first.eta_time, first.eta_time_over_sla, first.queuing_eta_time) == (12, False, 3)
    assert (first.origin_eta_time, first.origin_queuing_eta_time) == (15, 4)
    assert first.current_timestamp == 1746100000000

    work = first.works[0]
    assert isinstance(work, Work)
    assert (work.work_id, work.work_item_id, work.task_id, work.user_id) == (9001, 0, 5001, 8080)
    assert (work.type, work.status, work.content_type) == ("m2v_img2video_hq", 99, "video")
    assert work.resource == Resource(
        resource="https://media.example.org/w/9001.mp4",
        height=720,
        width=1280,
        duration=10041,
        resource_key="",
    )
    assert work.cover == Resource(
        resource="https://media.example.org/w/9001-cover.jpg",
        height=720,
        width=1280,
        duration=0,
        resource_key="",
    )
    assert (work.star_num, work.clone_count, work.report_num) == (3, 1, 0)
    assert (work.create_time, work.submit_time, work.publish_time) == (
        1746000000123,
        1746000000456,
        0,
    )
    assert work.self_attitude == "like"
    assert work.self_comment == SelfComment(rate=4, tags=("sharp",), content="nice", prompts=())
    assert (work.favored, work.starred, work.deleted, work.allow_publish) == (
        True,
        False,
        False,
        True,
    )
    assert (work.publish_status, work.lip_sync_status) == ("unpublished", 0)
    assert work.download_info == DownloadInfo(
        file_types=(
            DownloadFileType(type="MP4", watermark=True),
            DownloadFileType(type="WAV", watermark=False),
        )
    )

    info = work.task_info
    assert isinstance(info, TaskInfo)
    assert (info.type, info.scene) == ("m2v_img2video_hq", "NORMAL_CREATION")
    assert info.inputs == (
        TaskInput(
            name="input",
            input_type="URL",
            token=None,
            blob_storage=None,
            url="https://media.example.org/u/source.png",
            cover=None,
            from_work_id=None,
            from_upload_id=77001,
        ),
    )
    assert info.arguments[0] == TaskArgument(name="prompt", value="a lighthouse in a storm")
    assert len(info.arguments) == 4
    assert info.extra_args == {"seed": 31337}
    assert info.callback_payloads == ()

    task = first.task
    assert isinstance(task, Task)
    assert (task.id, task.user_id, task.type, task.scene, task.status) == (
        5001,
        8080,
        "m2v_img2video_hq",
        "NORMAL_CREATION",
        99,
    )
    assert task.task_info == info
    assert (task.favored, task.deleted, task.viewed) == (False, False, True)
    assert (task.create_time, task.update_time, task.view_time) == (
        1746000000001,
        1746000090002,
        1746000500003,
    )

    assert page.user_points == UserPoints(
        points=(
            PointsGrant(
                order_id="ord-1",
                type="plan",
                amount=66000,
                balance=4321,
                start_time=1745000000000,
                end_time=1747600000000,
            ),
        ),
        total=4321,
    )
    assert page.user_tickets == UserTickets(
        ticket=(
            Ticket(
                order_id="ord-2",
                type="priority",
                package_type="reward",
                amount=2,
                balance=1,
                start_time=1745000000000,
                end_time=1747600000000,
            ),
        )
    )


def test_uploads_page_decodes_into_uploaded_assets() -> None:
    page = decode(uploads_page_payload(), UploadsPage)

    (asset,) = page.upload_assets_list
    assert asset == UploadedAsset(
        id="700000000000000001",
        name="f00dfeed.mp4",
        user_id=8080,
        content_type="video",
        resource=Resource(
            resource="https://media.example.org/u/f00dfeed.mp4",
            height=1920,
            width=1080,
            duration=6500,
            resource_key="",
        ),
        cover=Resource(
            resource="https://media.example.org/u/f00dfeed.jpg",
            height=1920,
            width=1080,
            duration=0,
            resource_key="",
        ),
        create_time=1750000000250,
        update_time=1750000000750,
        favored=False,
        extra_info='{"origin":"web"}',
        entrance="",
    )


def test_download_result_decodes() -> None:
    result = decode(download_payload(), DownloadResult)

    assert result == DownloadResult(
        cdn_url="https://media.example.org/dl/bundle.zip", status="success"
    )


def test_upload_result_decodes_an_image_and_a_video_answer() -> None:
    image = decode(
        {
            "status": 3,
            "url": "https://cdn.example.org/u/7f3c.jpg",
            "message": "",
            "fileName": "7f3c.jpg",
        },
        UploadResult,
    )
    video = decode(
        {
            "status": 1,
            "url": "",
            "message": "",
            "resourceUrl": "https://cdn.example.org/u/v.mp4",
            "coverUrl": "https://cdn.example.org/u/v.jpg",
            "cover": {"width": 720},
        },
        UploadResult,
    )
    failed = decode({"status": 0, "message": "Unsupported file"}, UploadResult)

    assert image == UploadResult(
        status=3, url="https://cdn.example.org/u/7f3c.jpg", message="", file_name="7f3c.jpg"
    )
    assert video.resource_url == "https://cdn.example.org/u/v.mp4"
    assert video.cover_url == "https://cdn.example.org/u/v.jpg"
    assert video.cover == {"width": 720}
    assert (image.ok, video.ok, failed.ok, UploadResult().ok) == (True, True, False, False)


def test_delete_result_decodes_ids_as_a_tuple_of_strings() -> None:
    result = decode(
        {"deleted": 2, "ids": ["700000000000000001", "700000000000000002"]}, DeleteResult
    )

    assert result == DeleteResult(deleted=2, ids=("700000000000000001", "700000000000000002"))


def test_element_decodes_with_resources_and_voices() -> None:
    element = decode(element_payload(), Element)

    voice = Voice(id=42, name="Narrator", official=True, resource={"lang": "en"})
    assert (element.id, element.name, element.user_id, element.type) == (
        "u_900000000000001",
        "Paper Fox",
        8080,
        "IMAGE",
    )
    assert element.description == "an origami fox"
    assert element.cover == ElementResource(
        resource="https://media.example.org/e/front.jpg",
        width=512,
        height=768,
        resource_key="cover",
        cover=True,
        slot_key="",
        voice=None,
    )
    assert element.resources[0] == ElementResource(
        resource="https://media.example.org/e/front.jpg",
        resource_key="cover",
        cover=True,
        slot_key="",
    )
    assert element.resources[1].slot_key == "side"
    assert element.resources[1].voice == voice
    assert element.tag_list == ({"id": 1, "name": "animal"},)
    assert element.voice == voice
    assert (element.current_version, element.favored, element.official) == (2, False, False)
    assert (element.create_time, element.update_time) == (1736640000000, 1736640000999)


def test_account_decodes_with_its_session_and_balance() -> None:
    account = decode(account_payload(), Account)

    assert account == Account(
        email="amy@example.org",
        session=AccountSession(
            user_id="8080", expire_time=1767225600, expire_time_utc="2026-01-01T00:00:00.000Z"
        ),
        max_jobs=4,
        password="(masked)",
        balance=AccountBalance(
            points=(
                PointsGrant(
                    order_id="ord-1",
                    type="plan",
                    amount=66000,
                    balance=4321,
                    start_time=1745000000000,
                    end_time=1747600000000,
                ),
            ),
            tickets=({"kind": "priority"}, 3),
            next_apply_time=1747600000000,
            total=4321,
        ),
    )
    assert hash(account) == hash(decode(account_payload(), Account))


def test_the_sessions_pascal_case_wire_names_hold_both_ways() -> None:
    session = decode(account_payload(), Account).session

    wire = unstructure(session)

    assert wire == {
        "userId": "8080",
        "ExpireTime": 1767225600,
        "ExpireTimeUTC": "2026-01-01T00:00:00.000Z",
    }
    assert decode(wire, AccountSession) == session
    assert decode({"expireTime": 5}, AccountSession).expire_time is None  # not the wire name


def test_accounts_keyed_by_email_decode_into_a_dict_of_accounts() -> None:
    accounts = decode_json(
        orjson.dumps({"amy@example.org": account_payload(), "bo@example.org": {"email": "bo@x"}}),
        dict[str, Account],
    )

    assert list(accounts) == ["amy@example.org", "bo@example.org"]
    assert accounts["amy@example.org"] == decode(account_payload(), Account)
    assert accounts["bo@example.org"] == Account(email="bo@x")


# --- Names and defaults -------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda cls: cls.__name__)
def test_attribute_names_are_snake_case(cls: type[Any]) -> None:
    for field in attrs.fields(cls):
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", field.name), field.name


def test_attribute_names_follow_the_wire_names() -> None:
    names = {field.name for field in attrs.fields(HistoryEntry)}
    assert {"eta_time_over_sla", "origin_queuing_eta_time", "current_timestamp"} <= names
    assert "upload_assets_list" in {field.name for field in attrs.fields(UploadsPage)}
    assert "cdn_url" in {field.name for field in attrs.fields(DownloadResult)}
    assert "slot_key" in {field.name for field in attrs.fields(ElementResource)}


def test_what_names_an_object_is_required_and_nothing_else_is() -> None:
    required = {
        (cls, field.name)
        for cls in ALL_MODELS
        for field in attrs.fields(cls)
        if field.default is attrs.NOTHING
    }

    assert required == {(cls, name) for cls, names in IDENTITY.items() for name in names}


@pytest.mark.parametrize("cls", list(IDENTITY), ids=lambda cls: cls.__name__)
def test_identity_attributes_are_not_optional(cls: type[Any]) -> None:
    attrs.resolve_types(cls)
    for name in IDENTITY[cls]:
        assert getattr(attrs.fields(cls), name).type in (int, str), name
    with pytest.raises(TypeError):
        cls()


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda cls: cls.__name__)
def test_every_other_attribute_defaults_to_none_or_an_empty_collection(cls: type[Any]) -> None:
    instance = minimal(cls)

    for field in attrs.fields(cls):
        if field.name not in IDENTITY.get(cls, {}):
            assert getattr(instance, field.name) in (None, (), {}), field.name


def _path(steps: tuple[str | int, ...], key: str) -> str:
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps) + f".{key}"


IDENTITY_ON_THE_WIRE = [
    (AssetsPage, assets_page_payload, ("history", 1, "works", 1), "workId"),
    (AssetsPage, assets_page_payload, ("history", 0, "works", 0), "taskId"),
    (AssetsPage, assets_page_payload, ("history", 1, "task"), "id"),
    (UploadsPage, uploads_page_payload, ("uploadAssetsList", 0), "id"),
    (Element, element_payload, (), "id"),
    (Element, element_payload, ("resources", 1, "voice"), "id"),
    (Element, element_payload, ("voice",), "id"),
    (ElementsPage, elements_page_payload, ("elementsList", 1), "id"),
    (ElementsPage, elements_page_payload, ("elementsList", 1, "tag"), "id"),
    (Capacity, capacity_payload, ("executing", 0), "id"),
    (Capacity, capacity_payload, ("available", 1), "email"),
    (DownloadResult, download_payload, (), "cdnUrl"),
    (Account, account_payload, (), "email"),
]


@pytest.mark.parametrize("null", [False, True], ids=["missing", "null"])
@pytest.mark.parametrize(
    ("cls", "make", "steps", "key"),
    IDENTITY_ON_THE_WIRE,
    ids=[_path(steps, key) for _, _, steps, key in IDENTITY_ON_THE_WIRE],
)
def test_a_response_without_an_identity_field_fails_at_its_wire_path(
    cls: type[Any], make: Any, steps: tuple[str | int, ...], key: str, null: bool
) -> None:
    payload = orjson.loads(orjson.dumps(make()))  # a deep copy: the voices share a dict
    holder = payload
    for step in steps:
        holder = holder[step]
    if null:
        holder[key] = None
    else:
        del holder[key]

    with pytest.raises(ResponseValidationError) as caught:
        decode(payload, cls)

    assert caught.value.path == _path(steps, key)
    assert ("got null" if null else "missing") in str(caught.value)


# --- Immutability and hashing -------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda cls: cls.__name__)
def test_every_model_is_frozen(cls: type[Any]) -> None:
    instance = minimal(cls)
    name = attrs.fields(cls)[0].name

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(instance, name, None)


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda cls: cls.__name__)
def test_every_model_is_hashable(cls: type[Any]) -> None:
    assert hash(minimal(cls)) == hash(minimal(cls))


def test_decoded_models_can_be_weakly_referenced() -> None:
    page = decode(assets_page_payload(), AssetsPage)
    work = page.works[0]
    element = decode(element_payload(), Element)

    assert weakref.ref(page)() is page
    assert weakref.ref(work)() is work
    assert weakref.ref(element)() is element


def test_decoded_models_with_free_form_json_are_hashable_and_equal_by_value() -> None:
    first = decode(assets_page_payload(), AssetsPage)
    second = decode(assets_page_payload(), AssetsPage)

    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1
    assert hash(decode(element_payload(), Element)) is not None


def test_decoded_lists_are_tuples() -> None:
    page = decode(assets_page_payload(), AssetsPage)

    assert type(page.history) is tuple
    assert type(page.history[0].works) is tuple
    assert type(page.history[0].works[0].self_comment.tags) is tuple  # type: ignore[union-attr]


# --- Accessors ----------------------------------------------------------------------------


def test_works_flattens_every_history_entry_in_page_order() -> None:
    page = decode(assets_page_payload(), AssetsPage)

    assert [work.work_id for work in page.works] == [9001, 9002, 9003]


def test_works_is_empty_for_a_page_without_history() -> None:
    assert AssetsPage().works == ()


def test_created_at_is_aware_utc_with_millisecond_precision() -> None:
    work = minimal(Work, create_time=1746000000123)

    assert work.created_at == datetime(2025, 4, 30, 8, 0, 0, 123000, tzinfo=UTC)
    assert work.created_at.tzinfo is UTC  # type: ignore[union-attr]


def test_work_submitted_at_and_published_at() -> None:
    work = minimal(Work, submit_time=1746000000456, publish_time=1746000001999)

    assert work.submitted_at == datetime(2025, 4, 30, 8, 0, 0, 456000, tzinfo=UTC)
    assert work.published_at == datetime(2025, 4, 30, 8, 0, 1, 999000, tzinfo=UTC)


def test_published_at_is_none_for_a_publish_time_of_zero() -> None:
    assert minimal(Work, publish_time=0).published_at is None


@pytest.mark.parametrize("cls", [Work, Task, UploadedAsset, Element])
def test_created_at_is_none_when_the_timestamp_is_missing(cls: type[Any]) -> None:
    assert minimal(cls).created_at is None


@pytest.mark.parametrize("cls", [Task, UploadedAsset, Element])
def test_updated_at_reads_update_time(cls: type[Any]) -> None:
    instance = minimal(cls, create_time=1736640000000, update_time=1736640000999)

    assert instance.created_at == datetime(2025, 1, 12, 0, 0, 0, tzinfo=UTC)
    assert instance.updated_at == datetime(2025, 1, 12, 0, 0, 0, 999000, tzinfo=UTC)
    assert minimal(cls).updated_at is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00.000Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T02:30:00.000+02:30", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00", None),  # no offset: not a UTC moment
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_session_expires_at_reads_the_utc_string(text: str | None, expected: Any) -> None:
    expires_at = AccountSession(expire_time=1, expire_time_utc=text).expires_at

    assert expires_at == expected
    if expires_at is not None:
        assert expires_at.tzinfo is UTC


def test_balance_and_grant_times_are_datetimes() -> None:
    balance = decode(account_payload(), Account).balance
    grant = balance.points[0]
    ticket = Ticket(start_time=1745000000000, end_time=1747600000000)

    assert balance.next_apply_at == datetime(2025, 5, 18, 20, 26, 40, tzinfo=UTC)
    assert grant.starts_at == ticket.starts_at == datetime(2025, 4, 18, 18, 13, 20, tzinfo=UTC)
    assert grant.ends_at == ticket.ends_at == balance.next_apply_at
    assert AccountBalance().next_apply_at is None
    assert PointsGrant().ends_at is None


def test_work_prompt_is_the_prompt_argument_of_its_task() -> None:
    page = decode(assets_page_payload(), AssetsPage)

    assert [work.prompt for work in page.works] == [
        "a lighthouse in a storm",
        "a fox made of paper",
        "a fox made of paper",
    ]


def test_work_prompt_is_none_without_task_info_or_prompt_argument() -> None:
    assert minimal(Work).prompt is None
    info = TaskInfo(arguments=(TaskArgument("duration", "5"),))
    assert minimal(Work, task_info=info).prompt is None


def test_arguments_by_name_maps_names_to_values() -> None:
    info = TaskInfo(arguments=(TaskArgument("prompt", "a cat"), TaskArgument("duration", "5")))

    assert info.arguments_by_name == {"prompt": "a cat", "duration": "5"}


def test_arguments_by_name_keeps_the_first_of_repeated_names_and_skips_incomplete_ones() -> None:
    info = TaskInfo(
        arguments=(
            TaskArgument(None, "orphan"),
            TaskArgument("prompt", None),
            TaskArgument("prompt", "first"),
            TaskArgument("prompt", "second"),
        )
    )

    assert info.arguments_by_name == {"prompt": "first"}
    assert info.prompt == "first"


def test_uploads_page_assets_is_the_upload_list() -> None:
    page = decode(uploads_page_payload(), UploadsPage)

    assert page.assets == page.upload_assets_list
    assert len(page.assets) == 1


def test_elements_page_reads_the_current_and_the_earliest_element_shapes() -> None:
    page = decode(elements_page_payload(), ElementsPage)

    assert (page.page_num, page.page_size, page.total) == (1, 2, 3)
    assert page.elements == page.elements_list
    current, earliest = page.elements
    assert current == decode(element_payload(), Element)
    assert earliest.cover is None
    assert earliest.cover_image == "https://media.example.org/e/robot.jpg"
    assert earliest.image_resources == ("https://media.example.org/e/robot-side.jpg",)
    assert earliest.tag == ElementTag(id="tag_7", tag_key="object", tag_desc="Objects")


def test_capacity_reads_running_tasks_and_accounts() -> None:
    capacity = decode(capacity_payload(), Capacity)

    (running,) = capacity.executing
    assert running == RunningTask(
        id=301120,
        email="amy@example.org",
        started="2026-01-05T10:00:00.000Z",
        elapsed="01:12",
        reply_url="https://hooks.example.org/kling",
        reply_ref="job-1",
    )
    assert running.started_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert running.elapsed_seconds == 72
    assert capacity.available[0] == AccountCapacity(
        email="amy@example.org", max_jobs=5, executing=1, available=4
    )
    assert capacity.total_available == 6


@pytest.mark.parametrize(
    ("elapsed", "seconds"),
    [("00:00", 0), ("59:59", 3599), ("1:02:03", 3723), ("12", None), ("ab:cd", None), (None, None)],
)
def test_running_task_elapsed_seconds(elapsed: str | None, seconds: int | None) -> None:
    assert RunningTask(id=1, elapsed=elapsed).elapsed_seconds == seconds


def test_running_task_started_at_is_none_for_the_documented_impossible_time() -> None:
    assert RunningTask(id=1, started="2026-01-05T12:45:67.890Z").started_at is None


# --- Back to the wire ---------------------------------------------------------------------


def test_unstructure_of_a_decoded_page_gives_the_complete_payload_back() -> None:
    payload = assets_page_payload()

    assert unstructure(decode(payload, AssetsPage)) == payload


@pytest.mark.parametrize(
    ("payload", "cls"),
    [(uploads_page_payload(), UploadsPage), (element_payload(), Element)],
    ids=["uploads", "element"],
)
def test_decoding_the_unstructured_form_gives_the_same_model(
    payload: dict[str, Any], cls: type[Any]
) -> None:
    model = decode(payload, cls)

    assert decode(unstructure(model), cls) == model
