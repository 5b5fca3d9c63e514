"""Sender numbers of the batch channel: 6 digits, issued by the registry, never reused.

A sender is held by a mandatary (through its seat or one of its branches) or by an
employer that sends its own files. The reserved numbers (``999999``: the social-security
side when it sends files) are never issued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from socsec.contracts.payloads.registry import SenderHolderKind
from socsec.registry.domain.errors import Code, refusal

ENVIRONMENTS = ("R", "T", "S")  # real, test, simulation: the transfer point's environments


@dataclass(frozen=True)
class Sender:
    """A sender number and who holds it."""

    sender_number: str
    holder: str
    holder_kind: SenderHolderKind
    environments: tuple[str, ...]
    active: bool = True
    certificate: str | None = None
    mandatary_id: str | None = None
    seat_id: str | None = None
    employer_nsso: str | None = None


def environments_of(environments: Iterable[str]) -> tuple[str, ...]:
    """The environments without duplicates, in the order R, T, S."""
    given = set(environments)
    unknown = given - set(ENVIRONMENTS)
    if unknown:
        raise ValueError(f"unknown environments {sorted(unknown)}; use R, T or S")
    return tuple(e for e in ENVIRONMENTS if e in given)


def check_sender_number(number: str, reserved: Iterable[str]) -> None:
    """Refuse a reserved sender number (``999999`` by default)."""
    if number in set(reserved):
        raise refusal(
            Code.SENDER_NUMBER_RESERVED,
            f"sender number {number} is reserved for the social-security side",
            field="sender_number",
        )


def issuable(candidate: int, reserved: Iterable[str]) -> bool:
    """Whether a value of the sender sequence may be issued as a sender number."""
    number = f"{candidate:06d}"
    return 1 <= candidate <= 999999 and number not in set(reserved)
