"""The background work of the transfer point, each a loop for the life of the service.

- the **acknowledger** makes the ACRF of every triggered set (and refuses with ACRF-130 the
  open sets whose GO never came, on the business clock);
- the **publisher** reads each accepted set's forms as a stream and publishes them in
  batched transactions, recording how far it got, so a restart resumes where it stopped;
- the **notifier** writes the NOTI files of sets whose forms all have a result;
- the **deliverer** copies every outgoing file (then its empty GO) into the sender's OUT or
  OUTTEST folder.

All state is in PostgreSQL: a loop that dies, or a service that restarts, finds the same
work again. Several instances may run: sets are claimed with ``FOR UPDATE SKIP LOCKED``
and publication with an advisory lock. The loops are woken at once by the entry points that
give them work, and otherwise look for work every ``poll_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from socsec.batch import handlers
from socsec.batch import repository as repo
from socsec.batch.domain.names import out_folder
from socsec.batch.domain.reception import ContentRefused, FormReader, ReadForm
from socsec.kit.db import Database

log = logging.getLogger(__name__)


class TransferPoint:
    def __init__(self, db: Database, deps: handlers.Deps) -> None:
        self.db = db
        self.deps = deps
        self.acknowledge_now = asyncio.Event()
        self.publish_now = asyncio.Event()
        self.notify_now = asyncio.Event()
        self.deliver_now = asyncio.Event()

    def received(self, receipt: handlers.Receipt) -> None:
        """An entry point stored a file: wake whoever has work because of it."""
        if receipt.status == "TRIGGERED":
            self.acknowledge_now.set()
        elif receipt.status == "REFUSED":
            self.deliver_now.set()

    async def _pause(self, event: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), self.deps.settings.poll_seconds)

    # -- acknowledger --------------------------------------------------------------------

    async def acknowledger(self) -> None:
        await self.deps.senders.wait_ready()
        while True:
            self.acknowledge_now.clear()
            await self.acknowledge_pending()
            await self.expire_pending()
            await self._pause(self.acknowledge_now)

    async def acknowledge_pending(self) -> int:
        """The ACRF of every triggered set; how many were made."""
        done = 0
        while True:
            async with self.db.transaction() as conn:
                row = await repo.claim_triggered(conn)
                if row is None:
                    return done
                status = await handlers.acknowledge(conn, self.deps, row)
            done += 1
            self.deliver_now.set()
            if status == "ACCEPTED":
                self.publish_now.set()

    async def expire_pending(self) -> int:
        """Refuse (ACRF-130) the open sets older than the GO timeout."""
        done = 0
        before = self.deps.clock.now() - handlers.go_timeout(self.deps)
        while True:
            async with self.db.transaction() as conn:
                row = await repo.claim_expired(conn, before)
                if row is None:
                    return done
                await handlers.expire(conn, self.deps, row)
            done += 1
            self.deliver_now.set()

    # -- publisher -----------------------------------------------------------------------

    async def publisher(self) -> None:
        await self.deps.senders.wait_ready()
        while True:
            self.publish_now.clear()
            async with self.db.connection() as conn:
                rows = await repo.sets_with_status(conn, "ACCEPTED")
            for row in rows:
                await self.publish(row["id"])
            await self._pause(self.publish_now)

    async def publish(self, set_id: int) -> None:
        """Publish the forms of an accepted set from where publication stopped."""
        async with self.db.connection() as session:
            if not await repo.try_lock_publication(session, set_id):
                return  # another instance is at it
            try:
                await self._publish_locked(session, set_id)
            finally:
                await repo.unlock_publication(session, set_id)

    async def _publish_locked(self, session: asyncpg.Connection, set_id: int) -> None:
        row = await repo.set_by_id(session, set_id)
        if row is None or row["status"] != "ACCEPTED":
            return
        done = row["published"]
        size = self.deps.settings.publish_batch_size
        files = await repo.set_files(session, set_id)
        reader = FormReader(row["file_type"])
        batch: list[ReadForm] = []
        try:
            async for piece in handlers.read_blobs(session, handlers.fi_blobs(files)):
                for form in reader.feed(piece):
                    if form.position > done:
                        batch.append(form)
                while len(batch) >= size:
                    done = await self._flush(row, batch[:size])
                    batch = batch[size:]
            batch.extend(form for form in reader.close() if form.position > done)
        except ContentRefused:
            # The check pass accepted this content: it changed, or the parser disagrees.
            log.exception("ticket %s: forms cannot be read again; left ACCEPTED", row["ticket"])
            return
        while batch:
            done = await self._flush(row, batch[:size])
            batch = batch[size:]
        async with self.db.transaction() as conn:
            await repo.finish_publication(conn, set_id, reader.count)
        log.info("ticket %s: %d form(s) published", row["ticket"], reader.count)
        self.notify_now.set()

    async def _flush(self, row: asyncpg.Record, batch: list[ReadForm]) -> int:
        async with self.db.transaction() as conn:
            return await handlers.publish_forms(conn, self.deps, row, batch)

    # -- notifier ------------------------------------------------------------------------

    async def notifier(self) -> None:
        while True:
            self.notify_now.clear()
            await self.notify_pending()
            await self._pause(self.notify_now)

    async def notify_pending(self) -> int:
        """Write every NOTI file due; how many were written."""
        written = 0
        async with self.db.connection() as conn:
            rows = await repo.sets_with_status(conn, "PUBLISHED")
        for row in rows:
            if row["file_type"] not in handlers.NOTI_TYPES:
                continue
            async with self.db.transaction() as conn:
                locked = await repo.lock_set(conn, row["id"], "PUBLISHED")
                if locked is None:
                    continue
                name = await handlers.write_noti(conn, self.deps, locked)
            if name:
                written += 1
                self.deliver_now.set()
        return written

    # -- deliverer -----------------------------------------------------------------------

    async def deliverer(self) -> None:
        while True:
            self.deliver_now.clear()
            await self.deliver_pending()
            await self._pause(self.deliver_now)

    async def deliver_pending(self) -> int:
        """Copy every undelivered outgoing file into its sender's folder."""
        delivered = 0
        async with self.db.connection() as conn:
            rows = await repo.undelivered(conn)
            for row in rows:
                sender = row["sender"]
                if not (len(sender) == 6 and sender.isdigit()):
                    continue
                folder = self.deps.settings.transfer_root / sender / out_folder(row["environment"])
                try:
                    await self._write(conn, folder, row["name"], row["blob_id"])
                except OSError:
                    log.exception("cannot write %s into %s; retrying later", row["name"], folder)
                    continue
                await repo.mark_delivered(conn, row["id"], datetime.now(UTC))
                delivered += 1
        return delivered

    async def _write(self, conn: asyncpg.Connection, folder: Path, name: str, blob_id: int) -> None:
        """The file under a temporary name, renamed when complete, then its empty GO: the
        GO tells the sender the file is whole, as it does to us."""
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        partial = folder / f".{name}.part"
        with partial.open("wb") as out:
            async for piece in handlers.read_blobs(conn, [blob_id]):
                await asyncio.to_thread(out.write, piece)
        os.replace(partial, folder / name)
        (folder / f"GO{name[2:]}").touch()
