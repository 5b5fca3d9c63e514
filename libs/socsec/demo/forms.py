"""The declarations of the demo world, shaped as real clients send them.

Dimona: REST bodies (``/REST/dimona/v2``) and ``Form`` elements of a ``DIMN`` batch file
(batch.md §6). DmfA: the JSON of ``/dmfa/v1`` (the XML labels one to one, dmfa.md §1) for
each employer and quarter, which :func:`dmfa_file` turns into a ``DMFA`` batch file with the
dmfa service's own JSON-to-Form mapping. Amounts follow the dmfa service's rate table, so a
line is clean unless the world says its employer got it wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from socsec.demo.world import Employer, Worker, quarter_bounds

WHITE_RATE = Decimal("0.3807")
BLUE_FACTOR = Decimal("1.08")
STUDENT_RATE = Decimal("0.0813")
STUDENT_HOURLY = 1_450  # cents


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def weekdays(start: date, end: date) -> int:
    return sum(1 for n in range((end - start).days + 1) if (start + timedelta(n)).weekday() < 5)


# -- Dimona ------------------------------------------------------------------------------------


class DimonaIn:
    """One IN of the world: a worker, a worker type and a period."""

    def __init__(
        self,
        worker: Worker,
        worker_type: str,
        start: date,
        end: date | None = None,
        *,
        planned_hours: int | None = None,
        hours: tuple[str, str] | None = None,
    ) -> None:
        self.worker = worker
        self.worker_type = worker_type
        self.start = start
        self.end = end
        self.planned_hours = planned_hours
        self.hours = hours

    def rest_body(self) -> dict[str, Any]:
        block: dict[str, Any] = {
            "startDate": self.start.isoformat(),
            "features": {
                "jointCommissionNumber": self.worker.joint_committee,
                "workerType": self.worker_type,
            },
        }
        if self.end is not None:
            block["endDate"] = self.end.isoformat()
        if self.planned_hours is not None:
            block["plannedHoursNumber"] = self.planned_hours
        if self.hours is not None:
            block["startHour"], block["endHour"] = self.hours
        return {
            "employer": {"employerId": int(self.worker.employer.nsso)},
            "worker": {"ssin": self.worker.insz},
            "dimonaIn": block,
        }

    def form_xml(self, reference: str, created: date) -> str:
        parts = [f"<StartingDate>{self.start.isoformat()}</StartingDate>"]
        if self.hours is not None:
            parts.append(f"<StartingHour>{self.hours[0]}</StartingHour>")
        if self.end is not None:
            parts.append(f"<EndingDate>{self.end.isoformat()}</EndingDate>")
        if self.hours is not None:
            parts.append(f"<EndingHour>{self.hours[1]}</EndingHour>")
        if self.planned_hours is not None:
            parts.append(f"<PlannedHoursNbr>{self.planned_hours}</PlannedHoursNbr>")
        return (
            "<Form><Identification>DIMONA</Identification>"
            f"<FormCreationDate>{created.isoformat()}</FormCreationDate>"
            "<FormCreationHour>09:00:00.000</FormCreationHour><AttestationStatus>0"
            "</AttestationStatus><TypeForm>SU</TypeForm><Reference><ReferenceType>1"
            f"</ReferenceType><ReferenceOrigin>1</ReferenceOrigin><ReferenceNbr>"
            f"{escape(reference)}</ReferenceNbr></Reference><DimonaIn>{''.join(parts)}"
            f"<EmployerId><NOSSRegistrationNbr>{self.worker.employer.nsso}"
            "</NOSSRegistrationNbr></EmployerId>"
            f"<NaturalPerson><INSS>{self.worker.insz}</INSS></NaturalPerson>"
            f"<DimonaFeatures><JointCommissionNbr>{self.worker.joint_committee}"
            f"</JointCommissionNbr><WorkerType>{self.worker_type}</WorkerType>"
            "</DimonaFeatures></DimonaIn></Form>\n"
        )


def dimona_ins(workers: Iterable[Worker], year: int, quarter: int) -> list[DimonaIn]:
    """Every IN whose period starts in ``quarter``: hires, the quarter's students and the
    flexi and occasional days."""
    start_q, end_q = quarter_bounds(year, quarter)
    out: list[DimonaIn] = []
    for w in workers:
        if w.no_dimona:
            continue
        if w.kind in ("WHITE", "BLUE"):
            if w.start is not None and start_q <= w.start <= end_q:
                out.append(DimonaIn(w, "OTH", w.start))
        elif w.kind == "STUDENT" and quarter in w.student_hours:
            out.append(DimonaIn(w, "STU", start_q, end_q, planned_hours=w.student_hours[quarter]))
        elif w.kind == "FLEXI":
            for day in w.days.get(quarter, ()):
                out.append(DimonaIn(w, "FLX", day, day, hours=("1700", "2300")))
        elif w.kind == "EXTRA":
            for day in w.days.get(quarter, ()):
                out.append(DimonaIn(w, "EXT", day, day, hours=("0900", "1700")))
    return out


def dimona_file(ins: list[DimonaIn], created: date, prefix: str) -> bytes:
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n<Dimona xmlns:xsi="http://www.w3.org/2001/'
        'XMLSchema-instance" xsi:noNamespaceSchemaLocation="Dimona_20231.xsd">\n'
    )
    body = "".join(d.form_xml(f"{prefix}-{i:06d}", created) for i, d in enumerate(ins, 1))
    return (head + body + "</Dimona>\n").encode()


# -- DmfA --------------------------------------------------------------------------------------


def _occupation(sequence: int, start: date, end: date | None, days: int, **extra: Any) -> dict:
    return {
        "OccupationSequenceNbr": sequence,
        "OccupationStartingDate": start.isoformat(),
        **({"OccupationEndingDate": end.isoformat()} if end is not None else {}),
        "JointCommissionNbr": extra.pop("jc"),
        "WorkingDaysSystem": extra.pop("regime", 500),
        "ContractType": extra.pop("contract", 0),
        "RefMeanWorkingHours": 3800,
        "MeanWorkingHours": extra.pop("mean", 3800),
        "Retired": 0,
        **({"OccupationInformations": extra.pop("info")} if "info" in extra else {}),
        "Service": [{"ServiceSequenceNbr": 1, "ServiceCode": "001", "ServiceNbrDays": days}],
        "Remun": [
            {
                "RemunSequenceNbr": 1,
                "RemunCode": extra.pop("remun_code", "001"),
                "RemunAmount": extra.pop("pay"),
            }
        ],
    }


def dmfa_joint_committee(w: Worker) -> str:
    """The DmfA joint committee of a worker: Dimona's ``XXX`` stands for 200 (white-collar
    employees' committee)."""
    return "200" if w.joint_committee == "XXX" else w.joint_committee


def worker_record(w: Worker, year: int, quarter: int, employer_class: str) -> dict | None:
    """The worker line of ``w`` in ``quarter`` (None when it has none), clean or with the
    mistake the world gives it."""
    start_q, end_q = quarter_bounds(year, quarter)
    base = {
        "EmployerClass": employer_class,
        "NOSSQuarterStartingDate": start_q.isoformat(),
        "NOSSQuarterEndingDate": end_q.isoformat(),
        "Border": 0,
    }
    if w.kind in ("WHITE", "BLUE"):
        if w.start is None or w.start > end_q or (w.end is not None and w.end < start_q):
            return None
        if w.cancelled or quarter in w.missing_in_dmfa:
            return None
        first, last = max(w.start, start_q), min(w.end or end_q, end_q)
        worked = weekdays(first, last)
        days = worked * 100 if quarter not in w.too_many_days else (worked + 8) * 100
        pay = w.pay * 3 * worked // max(1, weekdays(start_q, end_q))
        code, kind, factor = (
            ("495", 0, Decimal(1)) if w.kind == "WHITE" else ("015", 1, BLUE_FACTOR)
        )
        basis = _half_up(Decimal(pay) * factor)
        amount = _half_up(Decimal(basis) * WHITE_RATE)
        if quarter in w.wrong_contribution:
            amount = _half_up(Decimal(amount) * Decimal("0.9"))
        occupation = _occupation(
            1,
            w.start,
            w.end if w.end and w.end <= end_q else None,
            days,
            jc=dmfa_joint_committee(w),
            pay=pay,
        )
        return {
            **base,
            "WorkerCode": code,
            "Occupation": [occupation],
            "WorkerContribution": [
                {
                    "ContributionWorkerCode": code,
                    "ContributionType": kind,
                    "ContributionCalculationBasis": basis,
                    "ContributionAmount": amount,
                }
            ],
        }
    if w.kind == "STUDENT":
        hours = w.student_hours.get(quarter)
        if hours is None:
            return None
        if quarter in w.hours_over_dimona:
            hours += 24
        remun = hours * STUDENT_HOURLY
        return {
            **base,
            "WorkerCode": "841" if w.joint_committee != "302" else "840",
            "StudentContribution": {
                "StudentRemunAmount": remun,
                "StudentContributionAmount": _half_up(Decimal(remun) * STUDENT_RATE),
                "StudentHoursNbr": hours,
            },
        }
    days_worked = w.days.get(quarter)
    if not days_worked:
        return None
    occupations = []
    for n, day in enumerate(days_worked, 1):
        extra: dict[str, Any] = {
            "jc": "302",
            "regime": 500,
            "contract": 1,
            "mean": 1900,
            "pay": w.pay,
        }
        if w.kind == "FLEXI":
            extra["remun_code"] = "022"
        else:
            extra["info"] = {"HorecaExtra": "E"}
        occupations.append(_occupation(n, day, day, 100, **extra))
    pay = w.pay * len(days_worked)
    return {
        **base,
        "WorkerCode": "495",
        "Occupation": occupations,
        "WorkerContribution": [
            {
                "ContributionWorkerCode": "495",
                "ContributionType": 0,
                "ContributionCalculationBasis": pay,
                "ContributionAmount": _half_up(Decimal(pay) * WHITE_RATE),
            }
        ],
    }


def net_owed(persons: list[dict]) -> int:
    total = 0
    for person in persons:
        for line in person["WorkerRecord"]:
            total += sum(c["ContributionAmount"] for c in line.get("WorkerContribution", ()))
            if "StudentContribution" in line:
                total += line["StudentContribution"]["StudentContributionAmount"]
    return total


def dmfa_original(e: Employer, year: int, quarter: int) -> dict | None:
    """The REST body of ``e``'s original for ``quarter`` (None: nobody to declare)."""
    persons = []
    for w in e.workers:
        line = worker_record(w, year, quarter, e.employer_class)
        if line is not None:
            persons.append(
                {
                    "NaturalPersonSequenceNbr": len(persons) + 1,
                    "INSS": w.insz,
                    "WorkerRecord": [line],
                }
            )
    if not persons:
        return None
    return {
        "Reference": [
            {
                "ReferenceType": 1,
                "ReferenceOrigin": 1,
                "ReferenceNbr": f"DEMO-{e.nsso}-{year}{quarter}",
            }
        ],
        "EmployerDeclaration": {
            "Quarter": year * 10 + quarter,
            "NOSSRegistrationNbr": e.nsso,
            "Trusteeship": 0,
            "CompanyID": e.enterprise,
            "NetOwedAmount": net_owed(persons),
            "NaturalPerson": persons,
        },
    }


def dmfa_file(bodies: list[dict], created: datetime) -> bytes:
    """A ``DMFA`` batch file of the original declarations ``bodies``."""
    from socsec.dmfa.domain.json_form import form_from_json

    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n<DmfAOriginal xmlns:xsi="http://www.w3.org/'
        '2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="DmfAOriginal_20223.xsd">\n'
    )
    forms = [
        etree.tostring(form_from_json(body, received_at=created)[1]).decode() + "\n"
        for body in bodies
    ]
    return (head + "".join(forms) + "</DmfAOriginal>\n").encode()
