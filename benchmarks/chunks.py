"""Scenario 3: chunked download and delete of 2,000 IDs at 100 ms per request.

2,000 work IDs (GET /assets/download) and 2,000 upload IDs (DELETE /assets/uploaded) are
split into 200 chunks of 10; the fake server (its own process) holds every request 100 ms.
Variants, for each endpoint:

- ``batch.download`` / ``batch.delete_uploaded`` at their default concurrency (8);
- oracle: bare httpx + orjson with 8 workers issuing the same 200 calls, ID lists prepared
  in advance;
- sequential: the SDK's ``assets.download`` / ``uploads.delete``, one chunk after another;
- ideal: ``ceil(200 / 8) x latency``.

Deleting needs the uploads back before every run: ``POST /_fake/reset {"data": true}`` (not
timed) restores every upload the previous run deleted, so each delete run deletes all 2,000.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import orjson

from kling_async import batch

from ._harness import (
    FakeServerProcess,
    Ratio,
    Row,
    Settings,
    auth_headers,
    bare_httpx_client,
    interleave,
    log,
    median,
    run_pool,
    sdk_client,
)

NAME = "chunks"
TITLE = "Chunked download and delete"

CHUNK_SIZE = 10


def _chunks(ids: list[str]) -> list[str]:
    return [",".join(ids[start : start + CHUNK_SIZE]) for start in range(0, len(ids), CHUNK_SIZE)]


async def _scenario(settings: Settings) -> list[Row]:
    quick = settings.quick
    count = 40 if quick else 2_000
    latency_ms = 5.0 if quick else 100.0
    concurrency = 8
    rounds = settings.rounds_or(3)
    sequential_rounds = 1 if quick else min(rounds, 2)
    calls = math.ceil(count / CHUNK_SIZE)
    ideal_ms = math.ceil(calls / concurrency) * latency_ms

    with FakeServerProcess(accounts=1, works=count, uploads=count, latency_ms=0) as server:
        email = server.emails[0]
        headers = auth_headers(server)
        async with sdk_client(server) as client, bare_httpx_client() as http:
            # Learn the IDs at zero latency, then slow the server down.
            work_ids = [
                str(work.work_id)
                async for work in client.assets.iter_works(email=email, page_size=500)
            ][:count]
            upload_ids = [
                str(asset.id)
                async for asset in client.uploads.iter_assets(email=email, page_size=500)
            ][:count]
            if len(work_ids) != count or len(upload_ids) != count:
                raise RuntimeError("the fake server holds fewer IDs than asked for")
            await server.set_latency(latency_ms)
            log(f"chunks: {count} IDs, {calls} calls of {CHUNK_SIZE}, ideal {ideal_ms:g} ms")
            download_chunks = _chunks(work_ids)
            delete_chunks = _chunks(upload_ids)

            def timed(
                name: str, body: Callable[[], Awaitable[int]], *, restore: bool
            ) -> tuple[str, Callable[[], Awaitable[float]]]:
                async def measure() -> float:
                    await server.reset(data=restore)
                    started = time.perf_counter_ns()
                    done = await body()
                    elapsed = (time.perf_counter_ns() - started) / 1e6
                    if done != count:
                        raise AssertionError(f"{name} handled {done} IDs, not {count}")
                    if (sent := await server.request_count()) != calls:
                        raise AssertionError(f"{name} sent {sent} requests, not {calls}")
                    return elapsed

                return name, measure

            # -- download --
            async def batch_download() -> int:
                result = await batch.download(
                    client, work_ids, email=email, chunk_size=CHUNK_SIZE, concurrency=concurrency
                )
                result.raise_for_errors()
                return sum(len(chunk.ids) for chunk in result.chunks if chunk.value is not None)

            async def oracle_download() -> int:
                done = 0

                async def call(ids: str) -> None:
                    nonlocal done
                    response = await http.get(
                        server.base_url + "/assets/download",
                        params={"email": email, "workIds": ids},
                        headers=headers,
                    )
                    response.raise_for_status()
                    if orjson.loads(response.content)["cdnUrl"]:
                        done += ids.count(",") + 1

                await run_pool(download_chunks, concurrency, call)
                return done

            async def sequential_download() -> int:
                done = 0
                for ids in download_chunks:
                    result = await client.assets.download(ids.split(","), email=email)
                    if result.cdn_url:
                        done += ids.count(",") + 1
                return done

            # -- delete --
            async def batch_delete() -> int:
                result = await batch.delete_uploaded(
                    client, upload_ids, email=email, chunk_size=CHUNK_SIZE, concurrency=concurrency
                )
                result.raise_for_errors()
                return len(result.succeeded_ids)

            async def oracle_delete() -> int:
                done = 0

                async def call(ids: str) -> None:
                    nonlocal done
                    response = await http.delete(
                        server.base_url + "/assets/uploaded",
                        params={"email": email, "id": ids},
                        headers=headers,
                    )
                    response.raise_for_status()
                    done += len(orjson.loads(response.content)["ids"])

                await run_pool(delete_chunks, concurrency, call)
                return done

            async def sequential_delete() -> int:
                done = 0
                for ids in delete_chunks:
                    done += len((await client.uploads.delete(ids.split(","), email=email)).ids)
                return done

            names = {
                "download batch": f"batch.download c={concurrency}",
                "download oracle": f"download oracle: bare httpx + orjson, c={concurrency}",
                "download sequential": "download sequential: SDK, one call at a time",
                "delete batch": f"batch.delete_uploaded c={concurrency}",
                "delete oracle": f"delete oracle: bare httpx + orjson, c={concurrency}",
                "delete sequential": "delete sequential: SDK, one call at a time",
            }
            variants = [
                timed(names["download oracle"], oracle_download, restore=False),
                timed(names["download batch"], batch_download, restore=False),
                timed(names["download sequential"], sequential_download, restore=False),
                timed(names["delete oracle"], oracle_delete, restore=True),
                timed(names["delete batch"], batch_delete, restore=True),
                timed(names["delete sequential"], sequential_delete, restore=True),
            ]
            figures = await interleave(
                variants,
                rounds,
                label="chunks ",
                max_rounds={
                    names["download sequential"]: sequential_rounds,
                    names["delete sequential"]: sequential_rounds,
                },
            )

    times = {name: median(values) for name, values in figures.items()}
    common: dict[str, Any] = {
        "ids": count,
        "chunk_size": CHUNK_SIZE,
        "calls": calls,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
    }
    rows: list[Row] = []
    for endpoint in ("download", "delete"):
        oracle = times[names[f"{endpoint} oracle"]]
        rows.append(
            Row(
                NAME,
                f"{endpoint} ideal: ceil({calls} / {concurrency}) x {latency_ms:g} ms",
                ideal_ms,
                "ms",
                details=common,
            )
        )
        for kind in ("oracle", "batch", "sequential"):
            name = names[f"{endpoint} {kind}"]
            time_ms = times[name]
            ratios = [Ratio(time_ms / ideal_ms, "ideal time")]
            if kind != "oracle":
                ratios.insert(0, Ratio(oracle / time_ms, "oracle speed"))
            rows.append(
                Row(
                    NAME,
                    name,
                    time_ms,
                    "ms",
                    tuple(ratios),
                    target="≥ 0.90x oracle speed" if kind == "batch" else None,
                    met=(oracle / time_ms >= 0.9) if kind == "batch" else None,
                    details={**common, "per_round_ms": figures[name]},
                )
            )
    return rows


def run(settings: Settings) -> list[Row]:
    return anyio.run(_scenario, settings)
