"""Domain values to and from JSON (the ``request`` column, event payloads)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from socsec.contracts.payloads.dimona import NotificationAnomaly, PeriodState
from socsec.dimona.domain.anomalies import GENERIC_LABELS
from socsec.dimona.domain.model import Anomaly, Declaration, Features, Period, UsingEmployer

_DECLARATION = TypeAdapter(Declaration)
_ANOMALIES = TypeAdapter(list[Anomaly])


def declaration_to_text(declaration: Declaration) -> str:
    """The declaration as JSON text (the ``request`` column)."""
    return _DECLARATION.dump_json(declaration).decode()


def declaration_from_text(text: str | bytes) -> Declaration:
    return _DECLARATION.validate_json(text)


def anomalies_to_text(anomalies: tuple[Anomaly, ...] | list[Anomaly]) -> str:
    """The anomalies as JSON text (the ``anomalies`` column)."""
    return _ANOMALIES.dump_json(list(anomalies)).decode()


def anomalies_from_text(text: str | bytes) -> list[Anomaly]:
    return _ANOMALIES.validate_json(text)


def period_state(period: Period) -> PeriodState:
    using = period.features.using_employer
    return PeriodState(
        id=period.id,
        employer_nsso=period.employer_nsso,
        insz=period.ssin,
        worker_type=period.features.worker_type or "",
        joint_commission=period.features.joint_commission,
        sub_entity=period.features.sub_entity,
        using_employer=TypeAdapter(UsingEmployer).dump_python(using, mode="json")
        if using
        else None,
        start_date=period.start_date,
        end_date=period.end_date,
        start_hour=period.start_hour,
        end_hour=period.end_hour,
        planned_hours=period.planned_hours,
        is_cancelled=period.is_cancelled,
        is_late=period.is_late,
    )


def notification_anomaly(anomaly: Anomaly) -> NotificationAnomaly:
    # The annex-30 label travels too: the batch channel's NOTI shows it (AnomalyLabel).
    label_fr, label_nl = GENERIC_LABELS.get(anomaly.code[-3:], (None, None))
    quota = anomaly.quota
    return NotificationAnomaly(
        code=anomaly.code,
        severity=str(anomaly.severity),
        tag=anomaly.tag,
        value=anomaly.value,
        description_fr=anomaly.description_fr,
        description_nl=anomaly.description_nl,
        label_fr=label_fr,
        label_nl=label_nl,
        quota_type=quota.type if quota else None,
        quota_exceeding=quota.exceeding_hours if quota else None,
        quota_unit=quota.unit if quota else None,
    )


def period_from_row(row: Any) -> Period:
    using = row["using_employer"]
    return Period(
        id=row["id"],
        employer_nsso=row["employer_nsso"],
        ssin=row["insz"],
        features=Features(
            worker_type=row["worker_type"],
            joint_commission=row["joint_commission"],
            sub_entity=row["sub_entity"],
            using_employer=TypeAdapter(UsingEmployer).validate_python(using) if using else None,
        ),
        start_date=row["start_date"],
        end_date=row["end_date"],
        start_hour=row["start_hour"],
        end_hour=row["end_hour"],
        planned_hours=row["planned_hours"],
        planned_days=row["planned_days"],
        is_cancelled=row["is_cancelled"],
        is_locked=row["is_locked"],
        is_late=row["is_late"],
    )
