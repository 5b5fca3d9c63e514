"""Refusals of the registry, each with a stable code.

Every code belongs to exactly one kind of refusal, so it maps to exactly one HTTP status at
the edge: :class:`NotFound` (404), :class:`Conflict` (409) and :class:`RuleViolation` (422:
the payload parsed but breaks a rule of the register, such as a check digit or the legal
name of a secretariat). Raise them with :func:`refusal`, which picks the kind from the code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Code(StrEnum):
    """The stable codes of the registry's refusals (documented in docs/services/registry.md)."""

    # not found
    EMPLOYER_NOT_FOUND = "employer_not_found"
    MANDATARY_NOT_FOUND = "mandatary_not_found"
    MANDATE_NOT_FOUND = "mandate_not_found"
    SENDER_NOT_FOUND = "sender_not_found"
    WORKER_NOT_FOUND = "worker_not_found"
    IDENTIFICATION_NOT_FOUND = "identification_not_found"
    SENDER_HOLDER_NOT_FOUND = "sender_holder_not_found"
    # conflicts with the register's current content
    EMPLOYER_EXISTS = "employer_exists"
    MANDATARY_EXISTS = "mandatary_exists"
    MANDATE_EXISTS = "mandate_exists"
    SENDER_EXISTS = "sender_exists"
    WORKER_EXISTS = "worker_exists"
    MANDATE_OVERLAP = "mandate_overlap"
    APPROVAL_NUMBER_TAKEN = "approval_number_taken"
    ORGANISATION_ID_TAKEN = "organisation_id_taken"
    SEAT_IMMUTABLE = "seat_immutable"
    MANDATARY_KIND_IMMUTABLE = "mandatary_kind_immutable"
    MANDATE_PARTIES_IMMUTABLE = "mandate_parties_immutable"
    IDENTIFICATION_RESOLVED = "identification_resolved"
    SENDER_NUMBERS_EXHAUSTED = "sender_numbers_exhausted"
    CONCURRENT_CHANGE = "concurrent_change"
    # rules of the register
    NSSO_CHECK_DIGIT = "nsso_check_digit"
    MANDATARY_LEGAL_NAME = "mandatary_legal_name"
    APPROVAL_REQUIRED = "approval_required"
    APPROVAL_NOT_ALLOWED = "approval_not_allowed"
    BRANCH_SEAT_MISMATCH = "branch_seat_mismatch"
    AFFILIATION_POINT_UNKNOWN = "affiliation_point_unknown"
    COLLECTION_REQUIRES_APPROVAL = "collection_requires_approval"
    INVALID_PERIOD = "invalid_period"
    SCOPES_REQUIRED = "scopes_required"
    SENDER_NUMBER_RESERVED = "sender_number_reserved"
    WORKER_BIRTH_DATE_MISMATCH = "worker_birth_date_mismatch"
    WORKER_REPLACEMENT_INVALID = "worker_replacement_invalid"
    ID_MISMATCH = "id_mismatch"


class RegistryError(Exception):
    """A refusal: a stable ``code``, a sentence, the offending ``field`` and details."""

    def __init__(
        self, code: Code, message: str, *, field: str | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        """The refusal as plain values (for an HTTP body or an import report)."""
        out: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        out.update(self.details)
        return out


class NotFound(RegistryError):
    """An id that the register does not hold."""


class Conflict(RegistryError):
    """The request contradicts what the register already holds."""


class RuleViolation(RegistryError):
    """The request parses but breaks a rule of the register."""


_NOT_FOUND = {c for c in Code if c.value.endswith("_not_found")}
_CONFLICTS = {
    Code.EMPLOYER_EXISTS,
    Code.MANDATARY_EXISTS,
    Code.MANDATE_EXISTS,
    Code.SENDER_EXISTS,
    Code.WORKER_EXISTS,
    Code.MANDATE_OVERLAP,
    Code.APPROVAL_NUMBER_TAKEN,
    Code.ORGANISATION_ID_TAKEN,
    Code.SEAT_IMMUTABLE,
    Code.MANDATARY_KIND_IMMUTABLE,
    Code.MANDATE_PARTIES_IMMUTABLE,
    Code.IDENTIFICATION_RESOLVED,
    Code.SENDER_NUMBERS_EXHAUSTED,
    Code.CONCURRENT_CHANGE,
}


def kind_of(code: Code) -> type[RegistryError]:
    """The one kind of refusal a code belongs to."""
    if code in _NOT_FOUND:
        return NotFound
    if code in _CONFLICTS:
        return Conflict
    return RuleViolation


def refusal(code: Code, message: str, *, field: str | None = None, **details: Any) -> RegistryError:
    """Build the refusal of kind :func:`kind_of` ``code``, ready to raise."""
    return kind_of(code)(code, message, field=field, **details)
