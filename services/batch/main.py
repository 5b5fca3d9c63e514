"""Wiring of the batch service. Nothing runs at import time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from socsec.batch import api, consumers, handlers
from socsec.batch.domain.names import Folder
from socsec.batch.senders import SENDERS_TOPIC, SenderFollower, Senders
from socsec.batch.settings import BatchSettings
from socsec.batch.transfer import TransferPoint
from socsec.batch.watcher import FolderWatcher
from socsec.contracts.payloads.registry import SenderChanged
from socsec.kit.http import create_http_app
from socsec.kit.runtime import ServiceRuntime

log = logging.getLogger(__name__)

DESCRIPTION = (
    "The transfer point of the batch channel: declaration files in, ticket "
    "acknowledgements (ACRF) and notifications (NOTI) out."
)


def _folder_maker(settings: BatchSettings) -> Callable[[SenderChanged], None]:
    """Give every active sender its folder tree as soon as the registry names it."""

    def make(sender: SenderChanged) -> None:
        if not (settings.create_sender_folders and sender.active):
            return
        base = settings.transfer_root / sender.sender_number
        try:
            for folder in Folder:
                (base / folder.value).mkdir(parents=True, exist_ok=True)
        except OSError:
            log.exception("cannot create the folders of sender %s", sender.sender_number)

    return make


def create_app(settings: BatchSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or BatchSettings(**overrides)
    # The mandate read model also gives the employers' languages and enterprise numbers
    # (NOTI) and which seats and branches belong to which mandatary (who holds a sender).
    runtime = ServiceRuntime(
        settings, migrations_package="socsec.batch.migrations", authorization=True
    )
    senders = Senders(on_sender=_folder_maker(settings))
    follower = SenderFollower(
        settings.kafka_bootstrap_servers, settings.topic(SENDERS_TOPIC), senders
    )
    deps = handlers.Deps.build(
        settings,
        outbox=runtime.outbox,
        clock=runtime.clock,
        senders=senders,
        authorizer=runtime.authorizer,
    )
    transfer = TransferPoint(runtime.db, deps)
    watcher = FolderWatcher(runtime.db, deps, transfer)
    runtime.state.update(batch_deps=deps, batch_transfer=transfer, batch_watcher=watcher)

    async def follow_senders() -> None:
        # Runs for the life of the service; restarted by `every` if the topic cannot be read.
        await follower.start()
        try:
            await asyncio.Event().wait()
        finally:
            await follower.stop()

    runtime.every(5.0, follow_senders, "senders read model")
    # Each loop below runs until the service stops; `every` restarts one that failed.
    runtime.every(1.0, transfer.acknowledger, "acknowledger")
    runtime.every(1.0, transfer.publisher, "publisher")
    runtime.every(1.0, transfer.notifier, "notifier")
    runtime.every(1.0, transfer.deliverer, "deliverer")
    runtime.every(1.0, watcher.run, "folder watcher")
    consumers.register(runtime)
    return create_http_app(
        runtime,
        title="socsec batch",
        description=DESCRIPTION,
        routers=[api.router],
    )
