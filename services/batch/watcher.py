"""The folder channel: files dropped in a sender's IN or INTEST folder are taken in.

The folders are polled (inotify is not needed at this pace). A file is taken once it has
not changed for ``settle_seconds`` (the sender may still be writing it): it is first moved
into ``.taken/`` beside it, an atomic rename that only one instance can win, then stored in
PostgreSQL with a key made of its place, size and modification time, and only then
removed. A crash at any point either leaves it where it was, or in ``.taken/`` where the
next scan finds it again and the key says whether it was already stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from pathlib import Path

from socsec.batch import handlers
from socsec.batch.domain.names import Folder
from socsec.batch.transfer import TransferPoint
from socsec.kit.db import Database

log = logging.getLogger(__name__)

TAKEN = ".taken"
_RANK = {"FI": 0, "FS": 1, "GO": 2, "TD": 3}


async def file_content(path: Path, piece: int) -> AsyncIterator[bytes]:
    """A file's bytes, a piece at a time, read off the event loop."""
    with path.open("rb") as handle:
        while data := await asyncio.to_thread(handle.read, piece):
            yield data


@dataclass(frozen=True)
class Taken:
    """A file moved into ``.taken/``, with the key that makes storing it idempotent."""

    sender: str
    folder: Folder
    path: Path
    arrival_key: str


def _settled(directory: Path, settle_seconds: float) -> list[Path]:
    """The files of ``directory`` left alone long enough, oldest first (FI before GO when
    written together)."""
    now = time.time()  # technical: how long the file has been left alone
    found = []
    for path in directory.iterdir():
        if path.name.startswith(".") or not path.is_file():
            continue
        stat = path.stat()
        if now - stat.st_mtime >= settle_seconds:
            found.append((stat.st_mtime_ns, _RANK.get(path.name[:2], 9), path))
    return [path for *_, path in sorted(found)]


def _taken(sender: str, folder: Folder, path: Path) -> Taken:
    stat = path.stat()
    key = f"{sender}/{folder.value}/{path.name}/{stat.st_size}/{stat.st_mtime_ns}"
    return Taken(sender, folder, path, key)


def take_files(root: Path, settle_seconds: float, senders: Collection[str]) -> list[Taken]:
    """Move every settled file of the IN and INTEST folders of ``senders`` into ``.taken/``
    (files left there by an earlier run first). Blocking: run it in a thread.

    Only the folders of senders the registry knows are read: a folder tree nobody
    registered is not a sender's, and a service pointed at the wrong data folder (a test run
    beside a local stack) must not take another transfer point's files."""
    if not root.is_dir():
        return []
    out: list[Taken] = []
    for sender in sorted(senders):
        sender_dir = root / sender
        if not sender_dir.is_dir():
            continue
        for folder in (Folder.IN, Folder.INTEST):
            directory = sender_dir / folder.value
            if not directory.is_dir():
                continue
            taken_dir = directory / TAKEN
            if taken_dir.is_dir():
                out.extend(_taken(sender, folder, path) for path in sorted(taken_dir.iterdir()))
            for path in _settled(directory, settle_seconds):
                taken_dir.mkdir(exist_ok=True)
                target = taken_dir / path.name
                try:
                    os.replace(path, target)
                except FileNotFoundError:
                    continue  # another instance took it
                out.append(_taken(sender, folder, target))
    return out


class FolderWatcher:
    def __init__(self, db: Database, deps: handlers.Deps, transfer: TransferPoint) -> None:
        self.db = db
        self.deps = deps
        self.transfer = transfer

    async def run(self) -> None:
        await self.deps.senders.wait_ready()
        while True:
            await self.scan()
            await asyncio.sleep(self.deps.settings.watch_interval_seconds)

    async def scan(self) -> int:
        """Take in every settled file of every known sender's IN and INTEST; how many."""
        settings = self.deps.settings
        known = list(self.deps.senders.by_number)
        files = await asyncio.to_thread(
            take_files, settings.transfer_root, settings.settle_seconds, known
        )
        for taken in files:
            await self._ingest(taken)
        return len(files)

    async def _ingest(self, taken: Taken) -> None:
        arrival = handlers.Arrival(
            name=taken.path.name,
            channel="FOLDER",
            owner=taken.sender,
            folder=taken.folder,
            arrival_key=taken.arrival_key,
        )
        content = file_content(taken.path, self.deps.settings.chunk_bytes)
        async with self.db.transaction() as conn:
            receipt = await handlers.receive_file(conn, self.deps, arrival, content)
        await asyncio.to_thread(taken.path.unlink, missing_ok=True)
        self.transfer.received(receipt)
        log.info(
            "took %s/%s/%s: %s", taken.sender, taken.folder.value, taken.path.name, receipt.status
        )
