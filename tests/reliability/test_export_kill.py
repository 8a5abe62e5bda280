"""Export killed with SIGKILL at random points, then rerun: the tree matches an uninterrupted run.

One fake server (3 accounts of 40 works, a few ms of jittered latency per API call) runs in a
thread of this process (an anyio blocking portal); every export is a real ``kling-async
export`` subprocess reaching it over loopback. A module fixture makes the reference: one
uninterrupted export. Each case (one seed) starts an export into a fresh folder, waits on the
server's request log for a point chosen by the seed (the k-th API call, or the k-th CDN
download, to arrive), delivers SIGKILL from the server's own event loop at that moment, and
(in some cases) kills the resumed run the same way; then a last run resumes to the end.
Compared with the reference: the same files, byte for byte, no ``.part`` left, and a manifest
with exactly one well-formed, correct line per file, the same lines as the reference's.

Where each kill landed is read from the disk of the dead process (its state is frozen): a
``.part`` file means mid-download, none means elsewhere (listing, download-URL calls, between
files); a final file without a manifest line means some worker was between the rename and
the manifest write. The figure ``kills`` counts them.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import attrs
import orjson
import pytest

from kling_async.export import LOCK_NAME
from kling_async.testing import FakeKlingServer

AREA = "export kill and resume"

SEEDS = range(16)
ACCOUNTS = 3
WORKS_PER_ACCOUNT = 40
MANIFEST = "manifest.jsonl"
MANIFEST_KEYS = {
    "account",
    "work_id",
    "content_type",
    "file_type",
    "prompt",
    "created_at",
    "path",
    "bytes",
    "sha256",
}
# A safety net against a hung test, not a timing threshold: nothing waits for it to pass.
_HANG_LIMIT = 120


def _script() -> list[str]:
    found = shutil.which("kling-async", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "kling_async"]


def _is_cdn(request: Any) -> bool:
    return bool(request.path.startswith("/_cdn/"))


@attrs.define
class Kills:
    """Where the SIGKILLs of the module landed."""

    cases: int = 0
    planned: int = 0
    delivered: int = 0
    in_resumed_run: int = 0
    mid_download: int = 0
    unlisted_file: int = 0
    elsewhere: int = 0


@attrs.frozen
class Reference:
    files: dict[str, bytes]
    manifest_lines: list[bytes]
    pages: int


@pytest.fixture(scope="module")
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    with anyio.from_thread.start_blocking_portal() as running:
        yield running


@pytest.fixture(scope="module")
def fake(portal: anyio.from_thread.BlockingPortal) -> Iterator[FakeKlingServer]:
    server = FakeKlingServer(
        accounts=ACCOUNTS,
        works_per_account=WORKS_PER_ACCOUNT,
        uploads_per_account=0,
        elements_per_account=0,
        seed=11,
        latency=0.004,
        jitter=0.003,
    )
    with portal.wrap_async_context_manager(server):
        yield server


@pytest.fixture(scope="module")
def kills(ledger: Any) -> Iterator[Kills]:
    tally = Kills()
    yield tally
    if tally.cases:
        ledger.figure(
            AREA,
            "kills",
            f"{tally.delivered} SIGKILLs delivered in {tally.cases} cases, "
            f"{tally.in_resumed_run} of them to an already resumed run "
            f"({tally.planned - tally.delivered} planned kills missed: the run ended first); "
            f"{tally.mid_download} landed mid-download (a .part file on disk), "
            f"{tally.elsewhere} elsewhere (listing, download-URL calls, between files); "
            f"{tally.unlisted_file} left a final file without its manifest line "
            "(killed between the rename and the manifest write)",
        )


class Exporter:
    """Runs ``kling-async export`` subprocesses against the fake."""

    def __init__(
        self, fake: FakeKlingServer, portal: anyio.from_thread.BlockingPortal, logs: Path
    ) -> None:
        self.fake = fake
        self.portal = portal
        self.logs = logs
        self.runs = 0
        env = {**os.environ, "USEAPI_TOKEN": fake.token}
        env.pop("USEAPI_BASE_URL", None)
        self.env = env

    def command(self, out: Path, backend: str, concurrency: int) -> list[str]:
        emails = [arg for email in self.fake.emails for arg in ("--email", email)]
        return [
            *_script(),
            "--base-url",
            self.fake.base_url,
            "--backend",
            backend,
            "export",
            str(out),
            *emails,
            "--concurrency",
            str(concurrency),
            "--quiet",
        ]

    def _fresh_log(self) -> None:
        # A killed run may leave requests in flight: let the server see them end first.
        self.portal.call(_wait_idle, self.fake)
        self.fake.reset_stats()

    def run(self, out: Path, backend: str = "asyncio", concurrency: int = 8) -> tuple[int, str]:
        """Export to the end; the exit status and stderr."""
        self._fresh_log()
        self.runs += 1
        err = self.logs / f"run-{self.runs}.err"
        with err.open("wb") as stderr:
            done = subprocess.run(
                self.command(out, backend, concurrency),
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                timeout=_HANG_LIMIT,
                check=False,
            )
        return done.returncode, err.read_text(errors="replace")

    def run_and_kill(
        self, out: Path, kind: str, k: int, backend: str, concurrency: int
    ) -> tuple[bool, int]:
        """Start an export and SIGKILL it when the k-th request of ``kind`` arrives.

        Returns whether the kill was delivered (False: the run ended first), and the exit status.
        """
        self._fresh_log()
        self.runs += 1
        with subprocess.Popen(
            self.command(out, backend, concurrency),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as process:
            try:
                self.portal.call(_kill_at, self.fake, process, kind, k)
            finally:
                if process.poll() is None:
                    process.kill()
                status = process.wait()
        return status == -signal.SIGKILL, status


async def _wait_idle(fake: FakeKlingServer) -> None:
    with anyio.fail_after(_HANG_LIMIT):
        await fake.wait_idle()


async def _kill_at(
    fake: FakeKlingServer, process: subprocess.Popen[bytes], kind: str, k: int
) -> None:
    """SIGKILL ``process`` the moment the k-th ``kind`` request arrives, unless it exits first.

    It runs on the server's event loop, so the kill goes out before the server even starts
    to answer that request.
    """

    async def trigger(scope: anyio.CancelScope) -> None:
        seen = arrived = 0
        while seen < k:
            arrived += 1
            await fake.wait_for_requests(arrived)
            request = fake.requests[arrived - 1]
            if (kind == "cdn") == _is_cdn(request):
                seen += 1
        process.kill()
        scope.cancel()

    async def exited(scope: anyio.CancelScope) -> None:
        await anyio.to_thread.run_sync(process.wait, abandon_on_cancel=True)
        scope.cancel()

    with anyio.fail_after(_HANG_LIMIT):
        async with anyio.create_task_group() as group:
            group.start_soon(trigger, group.cancel_scope)
            group.start_soon(exited, group.cancel_scope)


def _files(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` (hidden ones included) but the manifest and the lock file:
    path -> bytes. (Who holds the lock is written next to it only while an export runs.)"""
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in out.rglob("*")
        if path.is_file() and path.relative_to(out).as_posix() not in (MANIFEST, LOCK_NAME)
    }


def _manifest_lines(out: Path) -> list[bytes]:
    try:
        return (out / MANIFEST).read_bytes().splitlines()
    except FileNotFoundError:
        return []


def _listed(out: Path) -> set[str]:
    """The paths the manifest lists (lines that do not parse are left out)."""
    paths = set()
    for line in _manifest_lines(out):
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            paths.add(entry["path"])
    return paths


def _check_manifest(out: Path, files: dict[str, bytes]) -> list[bytes]:
    """The manifest has one well-formed, correct line per file; return its lines."""
    content = (out / MANIFEST).read_bytes()
    assert content.endswith(b"\n")
    lines = content.splitlines()
    paths = []
    for line in lines:
        entry = orjson.loads(line)
        assert isinstance(entry, dict)
        assert set(entry) == MANIFEST_KEYS, line
        data = files[entry["path"]]
        assert entry["bytes"] == len(data), line
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), line
        paths.append(entry["path"])
    assert sorted(paths) == sorted(files)  # one line per file, none twice
    return lines


@pytest.fixture(scope="module")
def reference(
    fake: FakeKlingServer,
    portal: anyio.from_thread.BlockingPortal,
    tmp_path_factory: pytest.TempPathFactory,
) -> Reference:
    base = tmp_path_factory.mktemp("reference")
    exporter = Exporter(fake, portal, base)
    out = base / "REF"
    status, err = exporter.run(out)
    assert status == 0, err
    requests = fake.requests
    files = _files(out)
    assert len(files) == ACCOUNTS * WORKS_PER_ACCOUNT
    assert not [path for path in files if path.endswith(".part")]
    lines = _check_manifest(out, files)
    pages = sum(1 for request in requests if request.api_path == "/assets")
    return Reference(files=files, manifest_lines=sorted(lines), pages=pages)


@pytest.mark.parametrize("seed", SEEDS)
def test_export_killed_and_rerun_gives_the_uninterrupted_tree(
    seed: int,
    fake: FakeKlingServer,
    portal: anyio.from_thread.BlockingPortal,
    reference: Reference,
    kills: Kills,
    tmp_path: Path,
) -> None:
    rng = random.Random(f"export-kill:{seed}")
    exporter = Exporter(fake, portal, tmp_path)
    out = tmp_path / "OUT"
    backend = "trio" if seed % 2 else "asyncio"
    concurrency = rng.choice((2, 8))
    kills.cases += 1
    points = []
    for round_ in range(2 if seed % 4 == 3 else 1):
        # What is left to do: the first run has every work, a resumed one those not listed.
        remaining = max(1, len(reference.files) - len(_manifest_lines(out)))
        kind = rng.choice(("api", "cdn"))
        top = reference.pages + remaining if kind == "api" else remaining
        k = rng.randint(1, max(1, top - 1))
        kills.planned += 1
        delivered, status = exporter.run_and_kill(out, kind, k, backend, concurrency)
        if not delivered:
            assert status == 0
            points.append(f"{kind} #{k}: missed")
            continue
        kills.delivered += 1
        kills.in_resumed_run += round_ > 0
        on_disk = _files(out) if out.exists() else {}
        listed = _listed(out)
        parts = [path for path in on_disk if path.endswith(".part")]
        unlisted = [p for p in on_disk if not p.endswith(".part") and p not in listed]
        kills.mid_download += bool(parts)
        kills.elsewhere += not parts
        kills.unlisted_file += bool(unlisted)
        where = f"mid-download ({len(parts)} .part)" if parts else "elsewhere"
        if unlisted:
            where += f", {len(unlisted)} file(s) without a manifest line"
        points.append(f"kill {round_ + 1} at {kind} #{k}, {len(listed)} lines: {where}")
    listed_before = _listed(out)
    unlisted_before = {
        path
        for path in (_files(out) if out.exists() else {})
        if "/" in path and not path.endswith(".part") and path not in listed_before
    }

    status, err = exporter.run(out, backend, concurrency)

    context = f"seed {seed} ({backend}, concurrency {concurrency}): " + "; ".join(points)
    assert status == 0, f"{context}\n{err}"
    # A file whose manifest line survived the kills is never fetched again.
    by_name = {path.rsplit("/", 1)[-1]: path for path in reference.files}
    fetched = {
        by_name.get(request.path.rsplit("/", 1)[-1])
        for request in fake.requests
        if _is_cdn(request)
    }
    assert not fetched & listed_before, context
    # A final file without its line is fetched again, never adopted as it is.
    assert unlisted_before <= fetched, context
    files = _files(out)
    assert not [path for path in files if path.endswith(".part")], context
    assert sorted(files) == sorted(reference.files), context
    differ = [path for path in files if files[path] != reference.files[path]]
    assert not differ, f"{context}: {differ}"
    lines = _check_manifest(out, files)
    # Downloads run concurrently, so the order of manifest lines differs from run to run
    # (and a resumed run appends after the killed one's lines): compare them sorted.
    assert sorted(lines) == reference.manifest_lines, context
