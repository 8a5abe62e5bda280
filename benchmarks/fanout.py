"""Scenario 2: fan-out pagination over 4 accounts at 100 ms per request.

Every account holds 20 full pages of 40 history entries and a 21st page that ends its
listing; the fake server (its own process) holds every request 100 ms. Variants:

- oracle: bare httpx + orjson with a pool of ``concurrency`` workers, told in advance the
  exact pages that exist (pages 1..21 of every account, the terminal one included): the same
  84 requests with nothing to discover, so nothing is over-fetched and no worker ever waits
  for another. It is the best a hand-written client can do at that concurrency.
- oracle decoding into the SDK's models: the same, with ``decode_json(..., AssetsPage)`` in
  place of ``orjson.loads``: what typed pages cost any client on this machine.
- sequential: the SDK one request at a time (``client.assets.iter_pages`` per account), as
  the vendor's own examples do.
- ``batch.iter_pages`` entered with ``async with`` (pipelined: requests stay in flight while
  the loop body runs), at the settings a user would pick to keep 16 requests in flight
  (``per_account=concurrency``), and at its defaults (``per_account=4``).
- the same two in wave mode (``async for`` inside ``contextlib.aclosing``, no ``async with``
  on the iterator): each ``__anext__`` closes its task group before returning, for comparison.
- ideal: ``ceil(84 / concurrency) x latency``, the wall time of 84 requests in full waves.

Two more rows run the oracle and the pipelined batch again with +/-50 ms of random jitter on every
request, which shows what waiting for the slowest request in flight costs (no target: the
target is set at a fixed latency). Each run also records, from the server's request log, the
requests past the end, how the requests bunched into waves (``waves`` in `_harness`), and the
client's CPU time per request: the evidence behind the figures, kept in ``latest.json``.
"""

from __future__ import annotations

import math
import time
from contextlib import aclosing
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
    rounds = settings.rounds_or(3)

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
        over_fetch: dict[str, list[int]] = {}
        timelines: dict[str, list[dict[str, float]]] = {}
        cpu_per_request: dict[str, list[float]] = {}

        async with sdk_client(server) as client, bare_httpx_client() as http:

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

            def oracle_with(decode: Any) -> Any:
                async def body() -> int:
                    return await oracle(decode)

                return body

            async def oracle(decode: Any = None) -> int:
                jobs = [
                    (email, page_num)
                    for page_num in range(1, max(pages.values()) + 1)
                    for email in emails
                    if page_num <= pages[email]
                ]
                seen = 0

                async def fetch(job: tuple[str, int]) -> None:
                    nonlocal seen
                    email, page_num = job
                    response = await http.get(
                        server.base_url + "/assets",
                        params={"email": email, "pageSize": PAGE_SIZE, "pageNum": page_num},
                        headers=headers,
                    )
                    response.raise_for_status()
                    if decode is None:
                        body = orjson.loads(response.content)
                        seen += sum(len(entry["works"]) for entry in body["history"])
                    else:
                        seen += len(decode(response.content, AssetsPage).works)

                await run_pool(jobs, concurrency, fetch)
                return seen

            async def sequential() -> int:
                seen = 0
                for email in emails:
                    async for page in client.assets.iter_pages(email=email, page_size=PAGE_SIZE):
                        seen += len(page.works)
                return seen

            def fan_out(per_account: int | None, *, pipelined: bool = True) -> Any:
                async def body() -> int:
                    options = {} if per_account is None else {"per_account": per_account}
                    seen = 0
                    pages_iter = batch.iter_pages(
                        client, emails, page_size=PAGE_SIZE, concurrency=concurrency, **options
                    )
                    async with pages_iter if pipelined else aclosing(pages_iter):
                        async for page in pages_iter:
                            seen += len(page.works)
                    return seen

                return body

            tuned = f"batch.iter_pages async with, c={concurrency} per_account={concurrency}"
            default = f"batch.iter_pages async with, defaults (c={concurrency}, per_account=4)"
            wave = "wave mode (async for / aclosing)"
            tuned_wave = f"batch.iter_pages {wave}, c={concurrency} per_account={concurrency}"
            default_wave = f"batch.iter_pages {wave}, defaults (c={concurrency}, per_account=4)"
            oracle_name = f"oracle: bare httpx + orjson, c={concurrency}"
            oracle_models = f"oracle decoding into the SDK's models, c={concurrency}"
            sequential_name = "sequential: SDK, one request at a time"
            jitter_tag = f" ±{jitter_ms:g} ms jitter"
            variants = [
                timed(oracle_name, 0.0, oracle),
                timed(oracle_models, 0.0, oracle_with(decode_json)),
                timed(tuned, 0.0, fan_out(concurrency)),
                timed(default, 0.0, fan_out(None)),
                timed(tuned_wave, 0.0, fan_out(concurrency, pipelined=False)),
                timed(default_wave, 0.0, fan_out(None, pipelined=False)),
                timed(sequential_name, 0.0, sequential),
                timed(oracle_name + jitter_tag, jitter_ms, oracle),
                timed(tuned + jitter_tag, jitter_ms, fan_out(concurrency)),
            ]
            figures = await interleave(variants, rounds, label="fanout ")

    times = {name: median(values) for name, values in figures.items()}
    common = {
        "accounts": accounts,
        "pages_per_account": pages,
        "page_size": PAGE_SIZE,
        "requests_needed": needed,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "works": expected_works,
        "rounds": rounds,
    }
    rows = [
        Row(
            NAME,
            f"ideal: ceil({needed} / {concurrency}) x {latency_ms:g} ms",
            ideal_ms,
            "ms",
            details=common,
        )
    ]

    def timing_row(name: str, baseline: str, *, target: bool, jitter: bool = False) -> Row:
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
            target="≥ 0.90x oracle speed" if target else None,
            met=(times[baseline] / time_ms >= 0.9) if target else None,
            details={
                **common,
                "jitter_ms": jitter_ms if jitter else 0.0,
                "per_round_ms": figures[name],
                "over_fetched_per_round": over_fetch[name],
                "server_waves_per_round": timelines[name],
                "client_cpu_ms_per_request_per_round": cpu_per_request[name],
            },
        )

    def over_fetch_row(name: str) -> Row:
        extra = median(over_fetch[name])
        return Row(
            NAME,
            f"{name}: requests past the end",
            extra,
            "requests",
            (Ratio(extra / needed, f"the {needed} needed"),),
            details={"per_round": over_fetch[name]},
        )

    rows += [
        timing_row(oracle_name, oracle_name, target=False),
        timing_row(oracle_models, oracle_name, target=False),
        timing_row(tuned, oracle_name, target=True),
        over_fetch_row(tuned),
        timing_row(default, oracle_name, target=True),
        over_fetch_row(default),
        timing_row(tuned_wave, oracle_name, target=False),
        timing_row(default_wave, oracle_name, target=False),
        timing_row(sequential_name, oracle_name, target=False),
        timing_row(oracle_name + jitter_tag, oracle_name + jitter_tag, target=False, jitter=True),
        timing_row(tuned + jitter_tag, oracle_name + jitter_tag, target=False, jitter=True),
    ]
    return rows


def run(settings: Settings) -> list[Row]:
    return anyio.run(_scenario, settings)
