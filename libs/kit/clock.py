"""The business clock: every "today" and every deadline reads it, never ``datetime.now``.

In production it is the wall clock. For demos and tests the whole stack can run on a
simulation clock that an operator sets or advances (``socsec clock set 2025-05-01``); the
state travels on the compacted topic ``system.clock.v1`` so that every service sees it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from socsec.contracts.envelope import Envelope
from socsec.contracts.events import parse_payload

BRUSSELS = ZoneInfo("Europe/Brussels")
CLOCK_TOPIC = "system.clock.v1"
CLOCK_KEY = b"clock"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current business instant, timezone-aware (UTC)."""
        ...

    def today(self) -> date:
        """The current business date in Belgium."""
        ...


class _DateMixin(ABC):
    @abstractmethod
    def now(self) -> datetime: ...

    def today(self) -> date:
        return self.now().astimezone(BRUSSELS).date()


class SystemClock(_DateMixin):
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class ClockState:
    """Business time = wall time + ``offset``, unless ``frozen_at`` stops it."""

    offset_seconds: float = 0.0
    frozen_at: datetime | None = None

    def business_now(self, wall: datetime) -> datetime:
        if self.frozen_at is not None:
            return self.frozen_at
        return wall + timedelta(seconds=self.offset_seconds)

    @property
    def simulated(self) -> bool:
        return self.frozen_at is not None or self.offset_seconds != 0

    def to_json(self) -> dict[str, Any]:
        return {
            "offset_seconds": self.offset_seconds,
            "frozen_at": self.frozen_at.isoformat() if self.frozen_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClockState:
        frozen = data.get("frozen_at")
        return cls(
            offset_seconds=float(data.get("offset_seconds", 0.0)),
            frozen_at=datetime.fromisoformat(frozen) if frozen else None,
        )

    def set_to(self, target: datetime, *, wall: datetime, frozen: bool) -> ClockState:
        if frozen:
            return ClockState(offset_seconds=0.0, frozen_at=target)
        return ClockState(offset_seconds=(target - wall).total_seconds())

    def advanced(self, delta: timedelta) -> ClockState:
        if self.frozen_at is not None:
            return ClockState(offset_seconds=0.0, frozen_at=self.frozen_at + delta)
        return ClockState(offset_seconds=self.offset_seconds + delta.total_seconds())


class BusinessClock(_DateMixin):
    """The clock a service reads; its state is replaced when ``system.clock.v1`` changes."""

    def __init__(self, state: ClockState | None = None) -> None:
        self.state = state or ClockState()

    def now(self) -> datetime:
        return self.state.business_now(datetime.now(UTC))

    def apply(self, raw: bytes | None) -> None:
        """Take the state carried by a ``ClockChanged`` envelope (``None``: wall clock)."""
        self.state = decode_clock(raw)


class FixedClock(_DateMixin):
    """A clock that only moves when told to (unit tests)."""

    def __init__(self, at: datetime | date) -> None:
        if not isinstance(at, datetime):
            at = datetime(at.year, at.month, at.day, 9, 0, tzinfo=BRUSSELS)
        self._now = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


_DURATION = re.compile(r"(\d+)\s*([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """``15d``, ``2w``, ``1d12h``, ``90m`` -> timedelta; a leading ``-`` goes back."""
    raw = text.strip().lower()
    sign = -1 if raw.startswith("-") else 1
    raw = raw.lstrip("+-")
    parts = _DURATION.findall(raw)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != raw.replace(" ", ""):
        raise ValueError(f"not a duration: {text!r} (use e.g. 15d, 2w, 1d12h, 90m)")
    delta = timedelta()
    for number, unit in parts:
        delta += timedelta(**{_UNITS[unit]: int(number)})
    return sign * delta


def parse_instant(text: str) -> datetime:
    """A date (taken at 09:00 in Brussels) or an ISO date-time (naive = Brussels)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a date or date-time: {text!r}") from exc
    if len(text) <= 10:
        parsed = parsed.replace(hour=9)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BRUSSELS)
    return parsed.astimezone(UTC)


def decode_clock(raw: bytes | None) -> ClockState:
    """The clock state in a record of the clock topic, validated against its contract."""
    if not raw:
        return ClockState()
    payload = parse_payload(Envelope.from_bytes(raw))
    return ClockState.from_json(payload.model_dump(mode="json"))


async def read_clock_state(bootstrap: str, topic: str = CLOCK_TOPIC) -> ClockState:
    """The latest state on the clock topic (wall clock when it was never set)."""
    from socsec.kit.follower import TopicFollower

    latest: list[bytes | None] = [None]

    def keep(record: Any) -> None:
        latest[0] = record.value

    follower = TopicFollower(bootstrap, topic, keep, name="clock-reader")
    await follower.start()
    await follower.stop()
    return decode_clock(latest[0])


async def write_clock_state(bootstrap: str, state: ClockState, topic: str = CLOCK_TOPIC) -> None:
    from aiokafka import AIOKafkaProducer

    envelope = Envelope(event_type="ClockChanged", producer="operator", payload=state.to_json())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            envelope.to_bytes(),
            key=CLOCK_KEY,
            headers=[("event_type", b"ClockChanged")],
        )
    finally:
        await producer.stop()
