"""Scenario 2: fan-out pagination over 4 accounts at 100 ms per request.

Every account holds 20 full pages of 40 history entries and a 21st page that ends its
listing; the fake server (its own process) holds every request 100 ms. Variants:

- oracle: bare httpx (encode/httpx, what users write today) + orjson with a pool of
  ``concurrency`` workers, told in advance the exact pages that exist (pages 1..21 of every
  account, the terminal one included): the same 84 requests with nothing to discover, so
  nothing is over-fetched and no worker ever waits for another. It is the best a hand-written
  client can do at that concurrency, and the baseline of every ratio and target.
- the same oracle on bare httpx2 and on bare aiohttp: what each transport allows when there is
  nothing to discover (no target).
- oracle decoding into the SDK's models: the same, with ``decode_json(..., AssetsPage)`` in
  place of ``orjson.loads``: what typed pages cost any client on this machine.
- sequential: the SDK one request at a time (``client.assets.iter_pages`` per account), as
  the vendor's own examples do.
- ``batch.iter_pages`` (entered with ``async with``: requests stay in flight while the loop
  body runs), at the settings a user would pick to keep 16 requests in flight
  (``per_account=concurrency``), and at its defaults (``per_account=4``), on the SDK's default
  transport (target: 0.95x the oracle's speed) and on ``http="aiohttp"`` (target: 1.10x).
- ideal: ``ceil(84 / concurrency) x latency``, the wall time of 84 requests in full waves.

Three more rows run the oracle and the batch (on each transport) again with +/-50 ms
of random jitter on every request, which shows what waiting for the slowest request in flight
costs (no target: the target is set at a fixed latency). Each run also records, from the
server's request log, the requests past the end, how the requests bunched into waves
(``waves`` in `_harness`), and the client's CPU time per request: the evidence behind the
figures, kept in ``latest.json``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import anyio
import orjson

from kling_async import AssetsPage, batch
from kling_async._converter import decode_json

from ._harness import (
    FakeServerProcess,
    Ratio,
    Row,
    Settings,
    auth_headers,
    bare_aiohttp_session,
    bare_httpx2_client,
    bare_httpx_client,
    interleave,
    log,
    median,
    run_pool,
    sdk_client,
    waves,
)

NAME = "fanout"
TITLE = "Fan-out pagination (batch.iter_pages)"

PAGE_SIZE = 40
SEED = 0

TARGET_HTTPX2 = 0.95
"""``batch.iter_pages`` (``async with``) on the default transport: at least this much of the
oracle's speed."""
TARGET_AIOHTTP = 1.10
"""The same on ``http="aiohttp"``: faster than the (encode/httpx) oracle by this much."""


def pick_works(accounts: int, full_pages: int, page_size: int = PAGE_SIZE) -> tuple[int, list]:
    """A ``--works`` for which every account has ``full_pages`` full pages and a short last one.

    The fake's ``--works`` counts works, and a task holds 1 to 4 of them, so the task count
    (the history entries) varies by account. The search uses the fake's own seeded generator.
    """
    from kling_async.testing import FakeKlingServer

    low, high = full_pages * page_size, (full_pages + 1) * page_size
    for works in range(low, 2 * high):
        data = FakeKlingServer(
            accounts=accounts,
            works_per_account=works,
            uploads_per_account=0,
            elements_per_account=0,
            seed=SEED,
        ).data
        tasks = [len(account.tasks) for account in data.accounts]
        if all(low <= count < high for count in tasks):
            return works, list(data.accounts)
    raise RuntimeError("no --works value gives every account the wanted page count")


async def _scenario(settings: Settings) -> list[Row]:
    quick = settings.quick
    accounts = 2 if quick else 4
    full_pages = 2 if quick else 20
    latency_ms = 5.0 if quick else 100.0
    jitter_ms = 2.0 if quick else 50.0
    concurrency = 16
    rounds = settings.rounds_or(5)
    sequential_rounds = 1 if quick else min(rounds, 2)  # 9 s a run, and far from the others

    works, data = pick_works(accounts, full_pages)
    pages = {account.email: len(account.tasks) // PAGE_SIZE + 1 for account in data}
    expected_works = sum(task.work_count for account in data for task in account.tasks)
    needed = sum(pages.values())
    ideal_ms = math.ceil(needed / concurrency) * latency_ms
    log(f"fanout: {accounts} accounts x {pages} pages, {needed} requests, ideal {ideal_ms} ms")

    with FakeServerProcess(
        accounts=accounts, works=works, latency_ms=latency_ms, seed=SEED
    ) as server:
        assert set(server.emails) == set(pages), "the server built another dataset"
        emails = list(pages)
        headers = auth_headers(server)
        url = server.base_url + "/assets"
        over_fetch: dict[str, list[int]] = {}
        timelines: dict[str, list[dict[str, float]]] = {}
        cpu_per_request: dict[str, list[float]] = {}

        async with (
            sdk_client(server) as client,
            sdk_client(server, http="aiohttp") as aiohttp_client,
            bare_httpx_client() as http,
            bare_httpx2_client() as http2,
            bare_aiohttp_session() as session,
        ):

            def timed(name: str, jitter: float, body: Any) -> Any:
                async def measure() -> float:
                    await server.set_latency(latency_ms, jitter)
                    await server.reset()
                    cpu_started = time.process_time()
                    started = time.perf_counter_ns()
                    seen = await body()
                    elapsed = (time.perf_counter_ns() - started) / 1e6
                    cpu_ms = (time.process_time() - cpu_started) * 1000
                    if seen != expected_works:
                        raise AssertionError(f"{name} saw {seen} works, not {expected_works}")
                    records = await server.requests()
                    over_fetch.setdefault(name, []).append(len(records) - needed)
                    cpu_per_request.setdefault(name, []).append(round(cpu_ms / len(records), 2))
                    timelines.setdefault(name, []).append(waves(records, latency_ms))
                    return elapsed

                return name, measure

            def query(email: str, page_num: int) -> dict[str, Any]:
                return {"email": email, "pageSize": PAGE_SIZE, "pageNum": page_num}

            async def get_httpx(email: str, page_num: int) -> bytes:
                response = await http.get(url, params=query(email, page_num), headers=headers)
                response.raise_for_status()
                return response.content

            async def get_httpx2(email: str, page_num: int) -> bytes:
                response = await http2.get(url, params=query(email, page_num), headers=headers)
                response.raise_for_status()
                return bytes(response.content)

            async def get_aiohttp(email: str, page_num: int) -> bytes:
                async with session.get(url, params=query(email, page_num), headers=headers) as r:
                    r.raise_for_status()
                    return await r.read()

            def oracle(get: Any, decode: Any = None) -> Any:
                """Told every page that exists: 16 workers over the 84 known requests."""

                async def body() -> int:
                    jobs = [
                        (email, page_num)
                        for page_num in range(1, max(pages.values()) + 1)
                        for email in emails
                        if page_num <= pages[email]
                    ]
                    seen = 0

                    async def fetch(job: tuple[str, int]) -> None:
                        nonlocal seen
                        content = await get(*job)
                        if decode is None:
                            page = orjson.loads(content)
                            seen += sum(len(entry["works"]) for entry in page["history"])
                        else:
                            seen += len(decode(content, AssetsPage).works)

                    await run_pool(jobs, concurrency, fetch)
                    return seen

                return body

            async def sequential() -> int:
                seen = 0
                for email in emails:
                    async for page in client.assets.iter_pages(email=email, page_size=PAGE_SIZE):
                        seen += len(page.works)
                return seen

            def fan_out(sdk: Any, per_account: int | None) -> Any:
                async def body() -> int:
                    options = {} if per_account is None else {"per_account": per_account}
                    seen = 0
                    pages_iter = batch.iter_pages(
                        sdk, emails, page_size=PAGE_SIZE, concurrency=concurrency, **options
                    )
                    async with pages_iter:
                        async for page in pages_iter:
                            seen += len(page.works)
                    return seen

                return body

            c = concurrency
            tuned_opts = f"c={c} per_account={c}"
            default_opts = f"defaults (c={c}, per_account=4)"
            names = {
                "oracle_httpx": f"oracle: bare httpx + orjson, c={c}",
                "oracle_httpx2": f"oracle: bare httpx2 + orjson, c={c}",
                "oracle_aiohttp": f"oracle: bare aiohttp + orjson, c={c}",
                "oracle_models": f"oracle decoding into the SDK's models, c={c}",
                "tuned": f"batch.iter_pages async with (httpx2), {tuned_opts}",
                "default": f"batch.iter_pages async with (httpx2), {default_opts}",
                "tuned_aiohttp": f"batch.iter_pages async with on aiohttp, {tuned_opts}",
                "default_aiohttp": f"batch.iter_pages async with on aiohttp, {default_opts}",
                "sequential": "sequential: SDK, one request at a time",
            }
            jitter_tag = f" ±{jitter_ms:g} ms jitter"
            jittered = {
                "oracle_httpx_jitter": names["oracle_httpx"] + jitter_tag,
                "tuned_jitter": names["tuned"] + jitter_tag,
                "tuned_aiohttp_jitter": names["tuned_aiohttp"] + jitter_tag,
            }
            variants = [
                timed(names["oracle_httpx"], 0.0, oracle(get_httpx)),
                timed(names["oracle_httpx2"], 0.0, oracle(get_httpx2)),
                timed(names["oracle_aiohttp"], 0.0, oracle(get_aiohttp)),
                timed(names["oracle_models"], 0.0, oracle(get_httpx, decode_json)),
                timed(names["tuned"], 0.0, fan_out(client, c)),
                timed(names["default"], 0.0, fan_out(client, None)),
                timed(names["tuned_aiohttp"], 0.0, fan_out(aiohttp_client, c)),
                timed(names["default_aiohttp"], 0.0, fan_out(aiohttp_client, None)),
                timed(names["sequential"], 0.0, sequential),
                timed(jittered["oracle_httpx_jitter"], jitter_ms, oracle(get_httpx)),
                timed(jittered["tuned_jitter"], jitter_ms, fan_out(client, c)),
                timed(jittered["tuned_aiohttp_jitter"], jitter_ms, fan_out(aiohttp_client, c)),
            ]
            figures = await interleave(
                variants,
                rounds,
                label="fanout ",
                max_rounds={names["sequential"]: sequential_rounds},
            )

    times = {name: median(values) for name, values in figures.items()}
    common = {
        "accounts": accounts,
        "pages_per_account": pages,
        "page_size": PAGE_SIZE,
        "requests_needed": needed,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "works": expected_works,
    }
    rows = [
        Row(
            NAME,
            f"ideal: ceil({needed} / {concurrency}) x {latency_ms:g} ms",
            ideal_ms,
            "ms",
            details={**common, "client": "ideal", "rounds": rounds},
        )
    ]
    oracle_name = names["oracle_httpx"]

    def timing_row(
        key: str, name: str, baseline: str, *, goal: float | None = None, jitter: bool = False
    ) -> Row:
        time_ms = times[name]
        ratios = []
        if name != baseline:
            ratios.append(Ratio(times[baseline] / time_ms, "oracle speed"))
        if not jitter:
            ratios.append(Ratio(time_ms / ideal_ms, "ideal time"))
        return Row(
            NAME,
            name,
            time_ms,
            "ms",
            tuple(ratios),
            target=None if goal is None else f"≥ {goal:.2f}x oracle speed",
            met=None if goal is None else times[baseline] / time_ms >= goal,
            details={
                **common,
                "client": key,
                "transport": "aiohttp" if "aiohttp" in key else "httpx2",
                "jitter_ms": jitter_ms if jitter else 0.0,
                "rounds": len(figures[name]),
                "per_round_ms": figures[name],
                "over_fetched_per_round": over_fetch[name],
                "server_waves_per_round": timelines[name],
                "client_cpu_ms_per_request_per_round": cpu_per_request[name],
            },
        )

    def over_fetch_row(key: str) -> Row:
        name = names[key]
        extra = median(over_fetch[name])
        return Row(
            NAME,
            f"{name}: requests past the end",
            extra,
            "requests",
            (Ratio(extra / needed, f"the {needed} needed"),),
            details={"client": key, "per_round": over_fetch[name]},
        )

    rows += [
        timing_row(key, names[key], oracle_name)
        for key in ("oracle_httpx", "oracle_httpx2", "oracle_aiohttp", "oracle_models")
    ]
    for key, goal in (
        ("tuned", TARGET_HTTPX2),
        ("default", TARGET_HTTPX2),
        ("tuned_aiohttp", TARGET_AIOHTTP),
        ("default_aiohttp", TARGET_AIOHTTP),
    ):
        rows += [timing_row(key, names[key], oracle_name, goal=goal), over_fetch_row(key)]
    rows.append(timing_row("sequential", names["sequential"], oracle_name))
    jitter_oracle = jittered["oracle_httpx_jitter"]
    rows += [timing_row(key, name, jitter_oracle, jitter=True) for key, name in jittered.items()]
    return rows


def run(settings: Settings) -> list[Row]:
    return anyio.run(_scenario, settings)
