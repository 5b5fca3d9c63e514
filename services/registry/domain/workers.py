"""The worker identification register: a stand-in for the national and BIS registers.

Workers are looked up by INSZ (NISS): a national register number (NN) or a BIS number
(Crossroads Bank, for people not in the national register). An identification request
(a Dimona IN without INSZ) is answered after a delay: an existing worker with the same
identity is *found*, otherwise a BIS number is *created*, unless the identity is not
plausible (no name, a birth date in the future or too far back): *not found*, with a reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from stdnum.be import ssn
from stdnum.exceptions import ValidationError as StdnumError

from socsec.contracts.identifiers import insz_kind
from socsec.contracts.payloads.registry import IdentificationOutcome
from socsec.registry.domain.errors import Code, refusal
from socsec.registry.domain.mandataries import fold
from socsec.registry.domain.rules import Rules


class WorkerKind(StrEnum):
    NN = "NN"  # national register number (rijksregisternummer / numéro de registre national)
    BIS = "BIS"  # BIS number (Crossroads Bank for Social Security)


@dataclass(frozen=True)
class Worker:
    """A person of the register."""

    inss: str
    kind: WorkerKind
    family_name: str
    given_name: str
    flexi_eligible: bool
    birth_date: date | None = None
    sex: str | None = None
    nationality: str | None = None
    address: str | None = None
    replaced_by: str | None = None


def kind_of(inss: str) -> WorkerKind:
    """NN or BIS, as python-stdnum tells from the number (which must be a valid INSZ)."""
    kind = insz_kind(inss)
    if kind is None:
        raise ValueError(f"not a valid INSZ: {inss!r}")
    return WorkerKind.BIS if kind == "bis" else WorkerKind.NN


def birth_date_of(inss: str) -> date | None:
    """The birth date an INSZ encodes, or ``None`` when month or day is unknown (``00``)."""
    try:
        return ssn.get_birth_date(inss)
    except (StdnumError, ValueError):
        return None


def complete(worker: Worker) -> Worker:
    """The worker with its birth date taken from the number when not given."""
    if worker.birth_date is None:
        return replace(worker, birth_date=birth_date_of(worker.inss))
    return worker


def check_worker(worker: Worker) -> None:
    """Refuse a worker whose data contradicts its number.

    The birth date matches the one the INSZ encodes (when it encodes one); only a BIS
    number is replaced, by a national register number, never by itself.
    """
    encoded = birth_date_of(worker.inss)
    if encoded is not None and worker.birth_date is not None and encoded != worker.birth_date:
        raise refusal(
            Code.WORKER_BIRTH_DATE_MISMATCH,
            f"birth_date {worker.birth_date} does not match the birth date the INSZ encodes",
            field="birth_date",
        )
    if worker.replaced_by is not None:
        if worker.kind != WorkerKind.BIS:
            raise refusal(
                Code.WORKER_REPLACEMENT_INVALID,
                "only a BIS number is replaced (by a national register number)",
                field="replaced_by",
            )
        if kind_of(worker.replaced_by) != WorkerKind.NN or worker.replaced_by == worker.inss:
            raise refusal(
                Code.WORKER_REPLACEMENT_INVALID,
                "replaced_by must be a national register number",
                field="replaced_by",
            )


class IdentificationStatus(StrEnum):
    PENDING = "PENDING"
    RESOLVED = "RESOLVED"


@dataclass(frozen=True)
class IdentificationRequest:
    """A request to identify a worker declared without INSZ, and its answer once given."""

    id: str
    requested_by: str
    reference: str
    family_name: str
    given_name: str
    birth_date: date | None
    requested_at: datetime
    due_at: datetime
    sex: str | None = None
    nationality: str | None = None
    declared_insz: str | None = None
    status: IdentificationStatus = IdentificationStatus.PENDING
    outcome: IdentificationOutcome | None = None
    insz: str | None = None
    reason: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None

    def due(self, now: datetime) -> bool:
        """Whether the automatic answer is due at business instant ``now``."""
        return self.status == IdentificationStatus.PENDING and self.due_at <= now


def implausibility(request: IdentificationRequest, today: date, rules: Rules) -> str | None:
    """Why the identity of a request cannot be a person, or ``None`` when it is plausible.

    Implausible: an empty family or given name, no birth date, a birth date after
    ``today`` (business date) or before 1 January of ``rules.identification_min_birth_year``.
    """
    if not request.family_name.strip():
        return "family name is empty"
    if not request.given_name.strip():
        return "given name is empty"
    if request.birth_date is None:
        return "birth date is missing"
    if request.birth_date > today:
        return f"birth date {request.birth_date} is in the future"
    if request.birth_date.year < rules.identification_min_birth_year:
        return (
            f"birth date {request.birth_date} is before {rules.identification_min_birth_year}-01-01"
        )
    return None


def same_person(worker: Worker, request: IdentificationRequest) -> bool:
    """Whether a worker of the register has the identity a request describes.

    Names compare without case, accents or extra spaces; the sex only when both know it.
    """
    return (
        request.birth_date is not None
        and worker.birth_date == request.birth_date
        and fold(worker.family_name) == fold(request.family_name)
        and fold(worker.given_name) == fold(request.given_name)
        and (worker.sex is None or request.sex is None or worker.sex == request.sex)
    )


def insz_number(birth_date: date, serial: int, *, month_offset: int = 0) -> str:
    """The INSZ of a birth date and serial (``YYMMDDSSSCC``), month raised by ``month_offset``
    (0 national register, 20 or 40 BIS).

    The check digits are ``97 - (N mod 97)`` where ``N`` is the first nine digits, with a
    ``2`` in front for people born in 2000 or later.
    """
    if not 1 <= serial <= 998:
        raise ValueError(f"serial {serial} is not in 1..998")
    month = birth_date.month + month_offset
    body = f"{birth_date:%y}{month:02d}{birth_date:%d}{serial:03d}"
    base = int(body) + (2_000_000_000 if birth_date.year >= 2000 else 0)
    return f"{body}{97 - base % 97:02d}"


def bis_number(birth_date: date, serial: int, sex: str | None) -> str:
    """The BIS number of a birth date and serial.

    The month is raised by 20 when the sex is unknown, by 40 when it is known; the serial
    is odd for a man and even for a woman.
    """
    if (sex == "M" and serial % 2 == 0) or (sex == "F" and serial % 2 == 1):
        raise ValueError(f"serial {serial} does not fit sex {sex}")
    return insz_number(birth_date, serial, month_offset=40 if sex in ("M", "F") else 20)


def bis_candidates(birth_date: date, sex: str | None) -> Iterator[str]:
    """Every BIS number a person of that birth date and sex may get, lowest serial first."""
    start = 2 if sex == "F" else 1
    step = 1 if sex not in ("M", "F") else 2
    for serial in range(start, 999, step):
        yield bis_number(birth_date, serial, sex)


def bis_prefix(birth_date: date, sex: str | None) -> str:
    """The first six digits every BIS number of :func:`bis_candidates` starts with."""
    return bis_number(birth_date, 2 if sex == "F" else 1, sex)[:6]


def worker_for(request: IdentificationRequest, inss: str, rules: Rules) -> Worker:
    """The worker a request creates with a new BIS number (or registers for a found one)."""
    return Worker(
        inss=inss,
        kind=kind_of(inss),
        family_name=request.family_name.strip(),
        given_name=request.given_name.strip(),
        birth_date=request.birth_date,
        sex=request.sex,
        nationality=request.nationality,
        flexi_eligible=rules.flexi_eligible_default,
    )


def resolve(
    request: IdentificationRequest,
    *,
    outcome: IdentificationOutcome,
    insz: str | None,
    reason: str | None,
    at: datetime,
    by: str,
) -> IdentificationRequest:
    """The request answered; a request is answered once."""
    if request.status != IdentificationStatus.PENDING:
        raise refusal(
            Code.IDENTIFICATION_RESOLVED,
            f"identification request {request.id} was already resolved "
            f"({request.outcome.value if request.outcome else '?'})",
        )
    return replace(
        request,
        status=IdentificationStatus.RESOLVED,
        outcome=outcome,
        insz=insz,
        reason=reason,
        resolved_at=at,
        resolved_by=by,
    )
