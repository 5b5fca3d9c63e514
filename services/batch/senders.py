"""Who holds which sender number: a read model of the registry's ``registry.senders.v1``.

Followed from the beginning of the compacted topic by every instance (like the mandate read
model of ``socsec.kit.authz``), so a restarted service knows every sender again. The batch
service asks two questions of it: may this caller send for this sender number (HTTP
uploads), and is the sender active and allowed in this environment (ACRF-103).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from socsec.contracts.envelope import Envelope
from socsec.contracts.events import ContractError, parse_payload
from socsec.contracts.payloads.registry import SenderChanged
from socsec.kit.follower import TopicFollower

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord

    from socsec.kit.authz import Authorizer

log = logging.getLogger(__name__)

SENDERS_TOPIC = "registry.senders.v1"


class Senders:
    """The current state of every sender number, with the question of who holds one."""

    def __init__(self, on_sender: Callable[[SenderChanged], None] | None = None) -> None:
        self.by_number: dict[str, SenderChanged] = {}
        self._on_sender = on_sender
        self.ready = asyncio.Event()

    def apply(self, sender: SenderChanged) -> None:
        self.by_number[sender.sender_number] = sender
        if self._on_sender is not None:
            self._on_sender(sender)

    def remove(self, number: str) -> None:
        self.by_number.pop(number, None)

    def get(self, number: str) -> SenderChanged | None:
        return self.by_number.get(number)

    def holds(self, organisation: str, number: str, authorizer: Authorizer | None) -> bool:
        """Whether ``organisation`` (a token's) holds sender ``number``: it is the holder, or
        it belongs to the same mandatary as the holding seat or branch."""
        sender = self.by_number.get(number)
        if sender is None:
            return False
        if organisation == sender.holder:
            return True
        if authorizer is None:
            return False
        # mandatary_of knows a mandatary's own id, its seat and its branches.
        mine = authorizer.mandatary_of(organisation)
        return mine is not None and mine in {
            sender.mandatary_id,
            authorizer.mandatary_of(sender.holder),
        }

    async def wait_ready(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Until the topic has been read up to where it stood at start."""
        await asyncio.wait_for(self.ready.wait(), timeout)


class SenderFollower:
    """Keeps a :class:`Senders` in step with the registry's topic."""

    def __init__(self, bootstrap: str, topic: str, senders: Senders) -> None:
        self.senders = senders
        self._follower = TopicFollower(bootstrap, topic, self._on_record, name="batch:senders")

    def _on_record(self, record: ConsumerRecord) -> None:
        if record.value is None:  # tombstone
            self.senders.remove(record.key.decode() if record.key else "")
            return
        try:
            payload = parse_payload(Envelope.from_bytes(record.value))
        except (ContractError, ValueError):
            log.exception("ignoring unreadable record on %s@%d", record.topic, record.offset)
            return
        if isinstance(payload, SenderChanged):
            self.senders.apply(payload)

    async def start(self) -> None:
        await self._follower.start()
        self.senders.ready.set()

    async def stop(self) -> None:
        await self._follower.stop()
