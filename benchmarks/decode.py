"""Scenario 1: decode one 40-work GET /assets page (about 80 KB of JSON).

The page has the shape of the documentation's example (every field of every object, a task
and its settings repeated in each history entry) with values of our own. Four decoders read
the same bytes into the same structure:

- kling_async: ``decode_json(body, AssetsPage)``, the path every response takes;
- pydantic v2: equivalent ``BaseModel``\\ s (camelCase aliases, frozen, tuples), with
  ``AssetsPage.model_validate_json``;
- msgspec: equivalent ``Struct``\\ s (``rename="camel"``, frozen), with a reused ``Decoder``;
- ``orjson.loads`` alone: the floor, dicts and lists with no model at all.

Each round runs each decoder ``iterations`` times back to back and keeps the mean; the rounds
interleave the decoders and the table gives the median round.

``python -m benchmarks.decode`` prints a cProfile of the SDK's decoding of the same page
instead: where the time goes in the converter's generated functions.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import random
import sys
import time
from typing import Any

import orjson

from ._harness import Ratio, Row, Settings, interleave_sync, median

NAME = "decode"
TITLE = "Decode a 40-work /assets page"

_TASK_TYPES = (
    ("m2v_txt2video_hq", "video"),
    ("m2v_img2video_hq", "video"),
    ("mmu_txt2img_aiweb", "image"),
    ("m2a_txt2audio", "audio"),
)
_WORDS = (
    "lantern",
    "harbour",
    "glacier",
    "velvet",
    "orbit",
    "meadow",
    "copper",
    "whisper",
    "canyon",
    "ember",
    "tide",
    "violet",
    "marble",
    "thunder",
    "prism",
    "willow",
    "comet",
    "saffron",
    "drizzle",
    "quartz",
    "aurora",
    "fern",
    "cobalt",
    "dune",
)


def build_page(works: int = 40, seed: int = 2024) -> bytes:
    """The JSON body of one /assets page with ``works`` history entries of one work each."""
    rng = random.Random(seed)
    now = 1_731_000_000_000
    history = []
    for index in range(works):
        task_type, content_type = _TASK_TYPES[index % len(_TASK_TYPES)]
        task_id = 580_000_000 + index * 37
        work_id = 590_000_000 + index * 41
        user_id = 7_654_321
        created = now - index * 3_600_000 - rng.randrange(60_000)
        width, height = rng.choice(((1920, 1080), (1080, 1920), (1024, 1024)))
        prompt = " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(3, 9)))
        cdn = f"https://cdn.example.net/{rng.getrandbits(48):012x}"
        task_info = {
            "type": task_type,
            "inputs": [
                {
                    "name": "input",
                    "inputType": "URL",
                    "token": None,
                    "blobStorage": None,
                    "url": f"{cdn}/source-{index}.jpg",
                    "cover": None,
                    "fromWorkId": None,
                    "fromUploadId": None,
                }
            ],
            "arguments": [
                {"name": "prompt", "value": prompt},
                {"name": "negative_prompt", "value": rng.choice(("", "blurry, low detail"))},
                {"name": "duration", "value": rng.choice(("5", "10"))},
                {"name": "kling_version", "value": rng.choice(("1.6", "2.0", "2.1"))},
            ],
            "extraArgs": {},
            "callbackPayloads": [],
            "scene": "NORMAL_CREATION",
        }
        work = {
            "workId": work_id,
            "workItemId": 0,
            "taskId": task_id,
            "userId": user_id,
            "type": task_type,
            "status": 99,
            "contentType": content_type,
            "resource": {
                "resource": f"{cdn}/output-{index}.mp4",
                "height": height,
                "width": width,
                "duration": rng.choice((5_041, 10_083)),
                "resourceKey": "",
            },
            "cover": {
                "resource": f"{cdn}/cover-{index}.jpg",
                "height": height,
                "width": width,
                "duration": 0,
                "resourceKey": "",
            },
            "starNum": rng.randrange(3),
            "cloneCount": rng.randrange(3),
            "reportNum": 0,
            "createTime": created,
            "taskInfo": task_info,
            "selfAttitude": "unknown",
            "selfComment": {"rate": 0, "tags": [], "content": "", "prompts": []},
            "favored": rng.random() < 0.2,
            "starred": False,
            "publishStatus": "unpublished",
            "deleted": False,
            "publishTime": 0,
            "submitTime": created,
            "lipSyncStatus": 99,
            "downloadInfo": {"fileTypes": [{"type": "MP4", "watermark": True}]},
            "allowPublish": True,
        }
        history.append(
            {
                "works": [work],
                "task": {
                    "id": task_id,
                    "userId": user_id,
                    "type": task_type,
                    "scene": "NORMAL_CREATION",
                    "status": 99,
                    "taskInfo": task_info,
                    "favored": False,
                    "deleted": False,
                    "viewed": True,
                    "createTime": created - 16,
                    "updateTime": created + 308_657,
                    "viewTime": created + 57_873_501,
                },
                "etaTime": 0,
                "etaTimeOverSla": False,
                "queuingEtaTime": 0,
                "originEtaTime": 0,
                "originQueuingEtaTime": 0,
                "currentTimestamp": now + 96_700_732,
            }
        )
    page = {
        "limitations": [
            {"type": kind, "remaining": 9_000 + n, "limit": 10_000}
            for n, (kind, _) in enumerate(_TASK_TYPES)
        ],
        "history": history,
        "userPoints": {
            "points": [
                {
                    "orderId": "4815162342",
                    "type": "plan",
                    "amount": 300_000,
                    "balance": 171_250,
                    "startTime": now - 9 * 86_400_000,
                    "endTime": now + 22 * 86_400_000,
                }
            ],
            "total": 171_250,
        },
        "userTickets": {
            "ticket": [
                {
                    "orderId": f"48151623{n}",
                    "type": kind,
                    "packageType": "reward",
                    "amount": n + 1,
                    "balance": n,
                    "startTime": now - 10 * 86_400_000,
                    "endTime": now + 21 * 86_400_000,
                }
                for n, kind in enumerate(("priority", "extend", "hq_5s"))
            ]
        },
    }
    return orjson.dumps(page)


# -- the same models in pydantic v2 and msgspec (bench-only dependencies, imported late) ------


def pydantic_decoder() -> Any:
    """``AssetsPage.model_validate_json`` of pydantic models equivalent to the SDK's."""
    from ._pydantic_models import AssetsPage

    return AssetsPage.model_validate_json


def msgspec_decoder() -> Any:
    """``msgspec.json.Decoder(AssetsPage).decode`` of structs equivalent to the SDK's models."""
    import msgspec

    from ._msgspec_models import AssetsPage

    return msgspec.json.Decoder(AssetsPage).decode


def sdk_decoder() -> Any:
    from kling_async._converter import decode_json
    from kling_async._models import AssetsPage

    def decode(body: bytes) -> Any:
        return decode_json(body, AssetsPage)

    return decode


def decoders() -> dict[str, Any]:
    return {
        "kling_async decode_json": sdk_decoder(),
        "pydantic v2 model_validate_json": pydantic_decoder(),
        "msgspec Decoder.decode": msgspec_decoder(),
        "orjson.loads (floor)": orjson.loads,
    }


def check_same_content(body: bytes, decoded: dict[str, Any]) -> None:
    """Fail loudly unless every decoder saw the same works (a wrong model would be cheaper)."""
    want = [w["workId"] for entry in orjson.loads(body)["history"] for w in entry["works"]]
    for name, page in decoded.items():
        if isinstance(page, dict):
            got = [w["workId"] for entry in page["history"] for w in entry["works"]]
            prompt = page["history"][-1]["works"][0]["taskInfo"]["arguments"][0]["value"]
        else:
            got = [w.work_id for entry in page.history for w in entry.works]
            prompt = page.history[-1].works[0].task_info.arguments[0].value
        if got != want or not prompt:
            raise AssertionError(f"{name} decoded a different page")


def _timer(decode: Any, body: bytes, iterations: int) -> Any:
    def measure() -> float:
        started = time.perf_counter_ns()
        for _ in range(iterations):
            decode(body)
        return (time.perf_counter_ns() - started) / iterations / 1000

    return measure


def run(settings: Settings) -> list[Row]:
    body = build_page(works=4 if settings.quick else 40)
    iterations = 3 if settings.quick else 300
    rounds = settings.rounds_or(9)
    chosen = decoders()
    check_same_content(body, {name: decode(body) for name, decode in chosen.items()})
    for decode in chosen.values():  # warm up: first-use hooks, caches
        for _ in range(3 if settings.quick else 50):
            decode(body)
    gc.collect()
    figures = interleave_sync(
        [(name, _timer(decode, body, iterations)) for name, decode in chosen.items()], rounds
    )
    times = {name: median(values) for name, values in figures.items()}
    sdk = times["kling_async decode_json"]
    pydantic_time = times["pydantic v2 model_validate_json"]
    floor = times["orjson.loads (floor)"]
    common = {"body_bytes": len(body), "iterations_per_round": iterations, "rounds": rounds}
    rows = [
        Row(
            NAME,
            "kling_async decode_json",
            sdk,
            "µs",
            (Ratio(sdk / pydantic_time, "pydantic v2 time"), Ratio(sdk / floor, "orjson floor")),
            target="≤ 1.00x pydantic v2 time",
            met=sdk <= pydantic_time,
            details={**common, "per_round": figures["kling_async decode_json"]},
        )
    ]
    for name in ("pydantic v2 model_validate_json", "msgspec Decoder.decode"):
        rows.append(
            Row(
                NAME,
                name,
                times[name],
                "µs",
                (Ratio(times[name] / floor, "orjson floor"),),
                details={**common, "per_round": figures[name]},
            )
        )
    rows.append(
        Row(
            NAME,
            "orjson.loads (floor)",
            floor,
            "µs",
            details={**common, "per_round": figures["orjson.loads (floor)"]},
        )
    )
    return rows


def profile(decodes: int = 300, top: int = 14) -> None:
    """Print a cProfile of ``decodes`` SDK decodes of the page, by time spent in each function."""
    body = build_page()
    decode = sdk_decoder()
    for _ in range(50):  # first-use hooks out of the way
        decode(body)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(decodes):
        decode(body)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats(pstats.SortKey.TIME).print_stats(top)


if __name__ == "__main__":
    profile()
