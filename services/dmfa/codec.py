"""Domain values to and from JSON (database columns) and to event payloads."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import TypeAdapter

from socsec.contracts.payloads.dmfa import (
    DmfaFormEcho,
    DmfaNotificationAnomaly,
    DmfaPathElement,
    DmfaReference,
)
from socsec.dmfa.domain.catalogue import label
from socsec.dmfa.domain.model import Anomaly, FormHeader, Reference, WorkerRecord
from socsec.dmfa.domain.tables import Tables

_RECORD = TypeAdapter(WorkerRecord)


def record_to_json(record: WorkerRecord) -> dict[str, Any]:
    return _RECORD.dump_python(record, mode="json")


def record_json(record: WorkerRecord) -> str:
    """The line as JSON text, serialised in one go (the hot path of a large quarter); values
    equal to their default are left out, :func:`record_from_json` puts them back."""
    return _RECORD.dump_json(record, exclude_defaults=True).decode()


def record_from_json(data: dict[str, Any]) -> WorkerRecord:
    return _RECORD.validate_python(data)


def path_payload(anomaly: Anomaly) -> tuple[DmfaPathElement, ...]:
    return tuple(DmfaPathElement(tag=t, value=v) for t, v in anomaly.path)


def notification_anomaly(
    anomaly: Anomaly, priority: str, anomaly_id: Any = None
) -> DmfaNotificationAnomaly:
    label_fr, label_nl = label(anomaly.code)
    return DmfaNotificationAnomaly(
        error_id=anomaly.code,
        rule_code=anomaly.rule_code,
        tag_name=anomaly.tag,
        value=anomaly.value,
        anomaly_class=str(anomaly.severity),
        label_fr=label_fr,
        label_nl=label_nl,
        path=path_payload(anomaly),
        priority=priority,
        anomaly_id=anomaly_id,
    )


def anomaly_json(anomaly: Anomaly, priority: str, anomaly_id: Any = None) -> dict[str, Any]:
    """An anomaly as the declaration row keeps it (and the REST API shows it)."""
    label_fr, label_nl = label(anomaly.code)
    return {
        "errorId": anomaly.code,
        "ruleCode": anomaly.rule_code,
        "anomalyClass": str(anomaly.severity),
        "priority": priority,
        "tagName": anomaly.tag,
        "value": anomaly.value,
        "labelFr": label_fr,
        "labelNl": label_nl,
        "path": [{"tag": t, "value": v} for t, v in anomaly.path],
        "anomalyId": str(anomaly_id) if anomaly_id else None,
    }


def form_echo(header: FormHeader | None) -> DmfaFormEcho | None:
    if header is None:
        return None
    return DmfaFormEcho(
        identification=header.identification,
        creation_date=header.creation_date,
        creation_hour=header.creation_hour,
        attestation_status=header.attestation_status,
        type_form=header.type_form,
    )


def references(refs: tuple[Reference, ...]) -> tuple[DmfaReference, ...]:
    return tuple(
        DmfaReference(reference_type=r.type, reference_origin=r.origin, reference_nbr=r.number)
        for r in refs
    )


def worker_line(
    tables: Tables,
    inss: str,
    sequence: int,
    record: WorkerRecord,
    *,
    natural_person_pid: int | None = None,
    decl_person_pid: int | None = None,
    decl_person_version: int | None = None,
    version: int | None = None,
    occupation_versions: dict[int, int] | None = None,
) -> dict[str, Any]:
    """A worker line as the cross-check reads it: a :class:`DmfaWorkerLine` as JSON data,
    built directly (a quarter holds millions; every value comes from a checked
    declaration, and consumers validate the event against the model)."""
    flexi = tables.flexi_remun_codes
    versions = occupation_versions or {}
    student = record.student
    return {
        "inss": inss,
        "natural_person_sequence": sequence,
        "natural_person_pid": natural_person_pid,
        "decl_natural_person_pid": decl_person_pid,
        "decl_natural_person_version_nbr": decl_person_version,
        "employer_class": record.employer_class,
        "worker_code": record.worker_code,
        "worker_kind": tables.worker_kind(record.worker_code),
        "needs_dimona": record.needs_dimona,
        "quarter_start": _iso(record.quarter_start),
        "quarter_end": _iso(record.quarter_end),
        "occupations": [
            {
                "sequence": o.sequence,
                "start_date": _iso(o.start),
                "end_date": _iso(o.end),
                "joint_commission": o.joint_commission,
                "working_days_system": o.working_days_system,
                "contract_type": o.contract_type,
                "mean_working_hours": o.mean_hours,
                "ref_mean_working_hours": o.ref_mean_hours,
                "days": o.days,
                "hours": o.hours,
                "wage": o.wage,
                "flexi": o.is_flexi(flexi),
                "occasional": o.horeca_extra,
                "version_nbr": versions.get(o.sequence),
            }
            for o in record.occupations
        ],
        "student_hours": student.hours if student else None,
        "student_days": student.days if student else None,
        "wage_mass": record.wage_mass,
        "worker_record_version_nbr": version,
        "update_action": int(record.action) if record.action is not None else None,
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
