"""The Dimona rules (spec dimona.md §4–§8): one declaration, what the personnel file and the
registry know (:class:`Context`), and the settings -> an :class:`Outcome`.

Every rule runs and its anomalies are collected, except that a failed prerequisite stops
the rest (§3.4): for an IN, the employer (identified, valid, registered, mandate, active on
the start date); for an OUT/UPDATE/CANCEL, the period (valid id, known, mandate, the same
employer and worker as given, not cancelled, not locked, employer active on a new start).
Then the result rule: any B -> B; an IN whose worker must first be identified -> S; any
other anomaly -> W; none -> A. A and W carry the change to apply to the personnel file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from socsec.contracts.identifiers import (
    NSSO_MAX,
    NSSO_MIN,
    digits,
    insz_kind,
    is_valid_dimona_id,
    is_valid_enterprise_number,
    nsso_check_ok,
)
from socsec.dimona.domain.anomalies import anomaly, quota_exceeded
from socsec.dimona.domain.model import (
    Anomaly,
    Context,
    Declaration,
    Employer,
    Features,
    Kind,
    Outcome,
    Period,
    PeriodChange,
    Result,
    Worker,
)

REOPEN = date(9999, 12, 31)  # UPDATE end date that removes the end of a period
ART17 = ("O17", "S17", "T17")
TEMPORARY_AGENCY_JC = "322"


# -- worker types (zone 00655, spec §4) ---------------------------------------------------


@dataclass(frozen=True)
class TypeRule:
    """What a worker type requires. ``end``: optional / required / same_day (= start);
    ``hours``: forbidden / required / one_day (both required when end = start);
    ``planned``: forbidden / required (planned hours)."""

    end: str = "optional"
    hours: str = "forbidden"
    planned: str = "forbidden"
    same_quarter: bool = False


WORKER_TYPES: dict[str, TypeRule] = {
    "OTH": TypeRule(),
    "STU": TypeRule(end="required", planned="required", same_quarter=True),
    "FLX": TypeRule(hours="one_day"),
    "EXT": TypeRule(end="required", hours="required"),
    "IVT": TypeRule(end="required"),
    "TRI": TypeRule(end="required"),
    "STG": TypeRule(end="required"),
    "ALT": TypeRule(),
    "BCW": TypeRule(),
    "RTA": TypeRule(),
    "DWD": TypeRule(),
    "O17": TypeRule(end="required", planned="required", same_quarter=True),
    "S17": TypeRule(end="required", planned="required", same_quarter=True),
    "T17": TypeRule(end="same_day"),
    "PMP": TypeRule(),
    # Obsolete types: accepted only for periods before their end (RuleSettings).
    "A17": TypeRule(),
    "TEA": TypeRule(),
    "STX": TypeRule(),
    "QUA": TypeRule(),
}


# -- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaRow:
    """One row of the student quota table (§7): years ``first_year``..``last_year``
    (``None`` = open), a limit in ``unit`` (hours, or days up to 2016)."""

    first_year: int | None
    last_year: int | None
    limit: int
    unit: str = "hours"

    def covers(self, year: int) -> bool:
        """Whether ``year`` falls in this row."""
        return (self.first_year is None or self.first_year <= year) and (
            self.last_year is None or year <= self.last_year
        )


def student_quota_table(hours_from_2025: int = 650) -> tuple[QuotaRow, ...]:
    """The §7 table; the 2025+ quota (650 h, not confirmed) is the configurable part."""
    return (
        QuotaRow(None, 2016, 50, "days"),
        QuotaRow(2017, 2022, 475),
        QuotaRow(2023, 2024, 600),
        QuotaRow(2025, None, hours_from_2025),
    )


def _frozen(**sets: tuple[str, ...]) -> dict[str, frozenset[str]]:
    return {key: frozenset(values) for key, values in sets.items()}


@dataclass(frozen=True)
class RuleSettings:
    """Every "default, configurable" of dimona.md that the rules use."""

    # §3.4: a valid INSZ unknown to the worker register: "identify" (result S) or "accept".
    unknown_ssin_policy: str = "identify"
    # Without INSZ, the identity needed to ask for an identification (else 90017-363).
    required_identity_fields: tuple[str, ...] = ("family_name", "given_name", "birth_date")
    # §3.3 leniency: gender is never compared with the worker register (00029-348 off).
    compare_gender: bool = False
    # identifiers.md §3: the NSSO number check rule (mod 97 == 96) may be switched off.
    noss_check_enabled: bool = True
    # §5: joint committees accepted in Dimona (zone 00046) and since when some are.
    accepted_joint_commissions: frozenset[str] = frozenset(
        {"124", "140", "144", "145", "149", "302", "320", "322", "XXX"}
    )
    joint_commission_from: Mapping[str, date] = field(
        default_factory=lambda: {"149": date(2017, 10, 1), "320": date(2019, 4, 1)}
    )
    # §5 incompatibility matrix (90374-349): worker type -> the only JCs it may have, and
    # JC -> the worker types it may not have.
    jc_only_for_worker_types: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: _frozen(EXT=("144", "145", "302", "320", "322"))
    )
    worker_types_excluded_for_jc: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {"322": frozenset({"DWD", "STG", "IVT", "TRI", "PMP"})}
    )
    # §4: obsolete worker types, refused (00655-005) for periods starting on or after the
    # date: A17 after 2021, TEA after 2021/4, STX after 2013/4, QUA after 2022.
    obsolete_worker_types: Mapping[str, date] = field(
        default_factory=lambda: {
            "A17": date(2022, 1, 1),
            "TEA": date(2022, 1, 1),
            "STX": date(2014, 1, 1),
            "QUA": date(2023, 1, 1),
        }
    )
    # §4: types that exist only from a date (00655-005 before it).
    worker_types_from: Mapping[str, date] = field(
        default_factory=lambda: {
            "ALT": date(2023, 9, 1),
            "O17": date(2022, 1, 1),
            "S17": date(2022, 1, 1),
            "T17": date(2022, 1, 1),
        }
    )
    # §7: the student quota table; art. 17 quota (90017-369 is then B), check off by default.
    student_quota: tuple[QuotaRow, ...] = field(default_factory=student_quota_table)
    art17_quota_check: bool = False
    art17_quota_hours: int = 300
    # §6: 90017-510 from the worker register's flexi flag, off by default.
    flexi_access_check: bool = False
    # §4 advance limits (00910-008): FLX IN at most 31 days before the start of the quarter,
    # art. 17 IN at most 15 days before the start.
    flexi_advance_days: int = 31
    art17_advance_days: int = 15
    # §6 date domains: start from 1920-01-01, end from 1999-01-01, both until 31 December of
    # the current year + 9.
    earliest_start: date = date(1920, 1, 1)
    earliest_end: date = date(1999, 1, 1)
    years_ahead: int = 9
    # §6 00910-005: the start of a STU period starting after 2016 cannot be changed.
    student_start_locked_from: date = date(2017, 1, 1)
    # §8 lateness: on/off, working days after the end for OUT/UPDATE, and the legal clock.
    lateness_check: bool = True
    end_deadline_working_days: int = 1
    timezone: str = "Europe/Brussels"

    def student_quota_for(self, year: int) -> QuotaRow | None:
        """The student quota row of ``year`` (None when the table has none)."""
        return next((row for row in self.student_quota if row.covers(year)), None)


# -- helpers --------------------------------------------------------------------------------


class _Stop(Exception):
    """A prerequisite failed: no further rule runs."""


def _hhmm(value: str | None) -> time | None:
    """The time of a valid ``HHMM`` hour (00:00 to 23:59), else ``None``."""
    if value is None or len(value) != 4 or not value.isdigit():
        return None
    hours, minutes = int(value[:2]), int(value[2:])
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


def _quarter(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _characteristics(features: Features) -> tuple:
    """What makes two periods "the same kind" (§1): JC, worker type, sub-entity, user."""
    using = features.using_employer
    return (
        features.worker_type,
        features.joint_commission,
        features.sub_entity,
        (using.enterprise_number, using.name, using.joint_commission) if using else None,
    )


@dataclass(frozen=True)
class _Shape:
    """Dates, hours and planned hours of the period as it would be once the declaration is
    applied; a value that is absent or was reported as wrong is ``None``."""

    start: date | None
    end: date | None
    start_hour: time | None
    end_hour: time | None
    planned: int | None

    def interval(self) -> tuple[datetime, datetime]:
        """The period as a half-open datetime range; without hours it covers whole days."""
        assert self.start is not None
        begin = datetime.combine(self.start, self.start_hour or time())
        if self.end is None:
            return begin, datetime.max
        if self.end_hour is not None:
            return begin, datetime.combine(self.end, self.end_hour)
        return begin, datetime.combine(self.end + timedelta(days=1), time())


def _shape_of(period: Period) -> _Shape:
    return _Shape(
        period.start_date,
        period.end_date,
        _hhmm(period.start_hour),
        _hhmm(period.end_hour),
        period.planned_hours,
    )


_JSON_FIELDS = {
    "start_date": "startDate",
    "end_date": "endDate",
    "start_hour": "startHour",
    "end_hour": "endHour",
    "planned_hours": "plannedHoursNumber",
    "period_id": "periodId",
}
_JSON_PATHS = {
    "employer_nsso": "employer.employerId",
    "employer_enterprise": "employer.enterpriseNumber",
    "ssin": "worker.ssin",
    "identity": "worker",
    "family_name": "worker.familyName",
    "given_name": "worker.givenName",
    "birth_date": "worker.birthDate",
    "gender": "worker.gender",
    "features": "dimonaIn.features",
    "worker_type": "dimonaIn.features.workerType",
    "joint_commission": "dimonaIn.features.jointCommissionNumber",
    "sub_entity": "dimonaIn.features.subEntityNumber",
    "using_employer": "dimonaIn.features.usingEmployer",
    "using_employer.enterprise_number": "dimonaIn.features.usingEmployer.enterpriseNumber",
    "using_employer.joint_commission": "dimonaIn.features.usingEmployer.jointCommissionNumber",
}
_BLOCKS = {
    Kind.IN: "dimonaIn",
    Kind.OUT: "dimonaOut",
    Kind.UPDATE: "dimonaUpdate",
    Kind.CANCEL: "dimonaCancel",
}
# A missing or unknown worker type: its own rules cannot run, so nothing is forbidden.
_ANY_TYPE = TypeRule(hours="any", planned="any")


def _hour_text(value: time | None) -> str | None:
    return value.strftime("%H%M") if value is not None else None


# -- evaluation -----------------------------------------------------------------------------


class _Evaluation:
    """The state of one evaluation: what has been resolved and the anomalies found."""

    def __init__(self, declaration: Declaration, ctx: Context, settings: RuleSettings) -> None:
        self.d = declaration
        self.ctx = ctx
        self.s = settings
        self.found: list[Anomaly] = []
        self.employer: Employer | None = None
        self.employer_nsso: str | None = declaration.employer_nsso
        self.period: Period | None = None
        self.ssin: str | None = None  # valid and normalised
        self.worker: Worker | None = None
        self.identify = False
        self.late = False
        self.shape: _Shape | None = None
        self.tz = ZoneInfo(settings.timezone)
        # IN codes of a block are 90373-xxx, UPDATE codes 90378-xxx (§6 pairs).
        self.block = "90378" if declaration.kind == Kind.UPDATE else "90373"

    # -- reporting --

    def path(self, name: str | None) -> str | None:
        """The JSON path of a field for REST anomalies (the batch channel uses tags)."""
        if name is None or self.d.channel != "REST":
            return None
        if name in _JSON_FIELDS:
            return f"{_BLOCKS[self.d.kind]}.{_JSON_FIELDS[name]}"
        return _JSON_PATHS.get(name)

    def add(self, code: str, name: str | None = None, value: object = None, **kw: Any) -> None:
        """Record anomaly ``code`` about field ``name`` with the value concerned."""
        self.found.append(anomaly(code, value=value, path=self.path(name), **kw))

    def stop(self, code: str, name: str | None = None, value: object = None) -> None:
        """Record a failed prerequisite and stop the evaluation."""
        self.add(code, name, value)
        raise _Stop

    # -- clocks --

    def received(self) -> datetime:
        """The receipt time in Brussels (a naive time is taken as Brussels time)."""
        at = self.d.received_at
        return at.replace(tzinfo=self.tz) if at.tzinfo is None else at.astimezone(self.tz)

    def last_day(self) -> date:
        """31 December of the current year + 9: the upper bound of every date (§6)."""
        return date(self.ctx.today.year + self.s.years_ahead, 12, 31)

    def late_start(self, start: date, hour: time | None) -> bool:
        """§8 IN: late when received after start date + hour, or, without an hour, on a
        later date."""
        received = self.received()
        if hour is not None:
            return received > datetime.combine(start, hour, tzinfo=self.tz)
        return received.date() > start

    def late_end(self, end: date) -> bool:
        """§8 OUT / UPDATE of the end: late when received after the first working day after
        the end."""
        deadline = end
        for _ in range(self.s.end_deadline_working_days):
            deadline = self.ctx.next_working_day(deadline)
        return self.received().date() > deadline

    # -- entry --

    def run(self) -> None:
        """Run the rules of the declaration's kind until done or a prerequisite fails."""
        try:
            if self.d.kind == Kind.IN:
                self.check_in()
            else:
                self.check_on_period()
        except _Stop:
            pass

    # -- IN -----------------------------------------------------------------------------

    def check_in(self) -> None:
        """Every rule of an IN, prerequisites first, lateness last."""
        self.prerequisites_in()
        self.check_worker()
        rule = self.check_features()
        shape = self.check_values(rule, given=self.d, base=None)
        self.shape = shape
        self.check_combinations(rule, shape, exclude=None)
        if shape.start is not None:
            self.check_advance(shape.start)
            if self.s.lateness_check and self.late_start(shape.start, shape.start_hour):
                self.late = True
                self.add("90373-460", "start_date", shape.start.isoformat())

    def nsso_valid(self, number: str) -> bool:
        """Range and check digits of a definitive (9) or provisional (10 digits) number."""
        if not number.isdigit():
            return False
        value = int(number)
        if len(number) == 9:
            in_range = NSSO_MIN <= value <= NSSO_MAX
        elif len(number) == 10:  # provisional NSSO number (zone 00948)
            in_range = 5000000120 <= value <= 5999999989
        else:
            return False
        return in_range and (not self.s.noss_check_enabled or nsso_check_ok(number))

    def prerequisites_in(self) -> None:
        """The employer of an IN: identified, valid, registered, mandated, active."""
        d = self.d
        nsso, enterprise = d.employer_nsso, d.employer_enterprise
        if not nsso and not enterprise:
            self.stop("90256-364", "employer_nsso")
        if nsso:
            # The NSSO number wins over the enterprise number; a number the registry knows
            # is never refused on its check digits (identifiers.md §3).
            employer = self.ctx.employer(nsso)
            if employer is None:
                code = "00011-235" if self.nsso_valid(nsso) else "00011-003"
                self.stop(code, "employer_nsso", nsso)
        else:
            assert enterprise is not None
            employer = self.ctx.employer_by_enterprise(digits(enterprise, 10))
            if employer is None:
                valid = is_valid_enterprise_number(enterprise)
                self.stop("00014-235" if valid else "00014-003", "employer_enterprise", enterprise)
        assert employer is not None
        self.employer = employer
        self.employer_nsso = employer.nsso_number
        if not d.mandate_valid:
            self.stop("90256-155", "employer_nsso", employer.nsso_number)
        start = d.start_date
        # A start outside the date domain is reported as such (00910-008), not as a date
        # on which the employer was not active.
        if start is not None and self.in_start_domain(start) and not employer.active_on(start):
            self.stop("90373-343", "start_date", start.isoformat())

    def in_start_domain(self, start: date) -> bool:
        """Whether a start date lies in the 00910 domain."""
        return self.s.earliest_start <= start <= self.last_day()

    def identity_complete(self) -> bool:
        """Whether the identity given is enough to ask for an identification."""
        identity = self.d.identity
        if identity is None:
            return False
        return all(getattr(identity, name, None) for name in self.s.required_identity_fields)

    def check_worker(self) -> None:
        """INSZ or identity of an IN's worker, and whether it must first be identified."""
        d = self.d
        if d.identified is False:
            self.add("90017-151", "identity")
        if d.ssin:
            if insz_kind(d.ssin) is None:
                self.add("00024-003", "ssin", d.ssin)
                return
            self.ssin = digits(d.ssin, 11)
            worker = self.ctx.worker(self.ssin)
            if worker is None:
                self.identify = self.s.unknown_ssin_policy == "identify" and d.identified is None
            else:
                self.worker = worker
                self.compare_identity(worker)
            return
        if d.features.worker_type == "EXT":
            self.add("00024-001", "ssin")
        if self.identity_complete():
            self.identify = d.identified is not False
        else:
            self.add("90017-363", "identity")

    def compare_identity(self, worker: Worker) -> None:
        """§3.3: with an INSZ, the identity only yields NP 348 when it contradicts the
        worker register; gender is compared only when configured."""
        identity = self.d.identity
        if identity is None:
            return
        if (
            identity.family_name
            and worker.family_name
            and not _same_name(identity.family_name, worker.family_name)
        ):
            self.add("00025-348", "family_name", identity.family_name)
        if (
            identity.given_name
            and worker.given_name
            and not _same_name(identity.given_name, worker.given_name)
        ):
            self.add("00026-348", "given_name", identity.given_name)
        if identity.birth_date and worker.birth_date and identity.birth_date != worker.birth_date:
            self.add("00028-348", "birth_date", identity.birth_date.isoformat())
        if (
            self.s.compare_gender
            and identity.gender
            and worker.gender
            and identity.gender != worker.gender
        ):
            self.add("00029-348", "gender", identity.gender)

    def check_features(self) -> TypeRule | None:
        """Worker type, JC, matrix, sub-entity and the JC 322 user. Returns the rule of a
        usable worker type (None when missing or unknown: type rules then do not run)."""
        f, s, start = self.d.features, self.s, self.d.start_date
        employer = self.employer
        assert employer is not None
        wt = f.worker_type
        rule = None
        if not wt:
            self.add("00655-001", "worker_type")
        elif wt not in WORKER_TYPES:
            self.add("00655-003", "worker_type", wt)
        else:
            rule = WORKER_TYPES[wt]
            ends = s.obsolete_worker_types.get(wt)
            begins = s.worker_types_from.get(wt)
            if start is not None and (
                (ends is not None and start >= ends) or (begins is not None and start < begins)
            ):
                self.add("00655-005", "worker_type", wt)
            if employer.allowed_worker_types is not None and wt not in (
                employer.allowed_worker_types
            ):
                self.add("00655-350", "worker_type", wt)

        jc = f.joint_commission
        jc_ok = None
        if not jc:
            if not employer.public_sector:  # §5: required for private employers
                self.add("00046-001", "joint_commission")
        elif not self.jc_accepted(jc, start):
            self.add("00046-003", "joint_commission", jc)
        else:
            jc_ok = jc
        if rule is not None and jc_ok is not None and self.incompatible(jc_ok, wt):
            self.add("90374-349", "joint_commission", jc_ok)

        if employer.sub_entities:
            if f.sub_entity is None:
                self.add("00652-001", "sub_entity")
            elif f.sub_entity not in employer.sub_entities:
                self.add("00652-005", "sub_entity", f.sub_entity)
        elif f.sub_entity is not None:
            self.add("00652-005", "sub_entity", f.sub_entity)

        if jc == TEMPORARY_AGENCY_JC:
            self.check_using_employer()
        return rule

    def jc_accepted(self, jc: str, start: date | None) -> bool:
        """Whether Dimona accepts this JC for a period starting on ``start``."""
        if jc not in self.s.accepted_joint_commissions:
            return False
        since = self.s.joint_commission_from.get(jc)
        return since is None or start is None or start >= since

    def incompatible(self, jc: str, worker_type: str | None) -> bool:
        """The §5 matrix: whether this JC and worker type may not go together."""
        only = self.s.jc_only_for_worker_types.get(worker_type or "")
        if only is not None and jc not in only:
            return True
        return (worker_type or "") in self.s.worker_types_excluded_for_jc.get(jc, frozenset())

    def check_using_employer(self) -> None:
        """§4 temporary agency worker: the user, with its own JC (not 322), identified by
        either its enterprise number or its name."""
        using = self.d.features.using_employer
        if using is None:
            self.add("90107-351", "using_employer")
            return
        if not using.enterprise_number and not using.name:
            self.add("90107-351", "using_employer")
        elif using.enterprise_number and using.name:
            self.add("90107-352", "using_employer")
        if using.enterprise_number and not is_valid_enterprise_number(using.enterprise_number):
            self.add("00131-003", "using_employer.enterprise_number", using.enterprise_number)
        jc = using.joint_commission
        if not jc:
            self.add("00046-001", "using_employer.joint_commission")
        elif jc == TEMPORARY_AGENCY_JC or not self.jc_accepted(jc, self.d.start_date):
            self.add("00046-003", "using_employer.joint_commission", jc)

    def check_advance(self, start: date) -> None:
        """§4: how early an IN may be sent (FLX: 31 days before the quarter; art. 17: 15
        days before the start)."""
        wt, received = self.d.features.worker_type, self.received().date()
        if wt == "FLX":
            earliest = _quarter_start(start) - timedelta(days=self.s.flexi_advance_days)
            if received < earliest:
                self.add(
                    "00910-008",
                    "start_date",
                    start.isoformat(),
                    description_fr="Dimona flexi-job déclarée plus de "
                    f"{self.s.flexi_advance_days} jours avant le début du trimestre",
                    description_nl="Dimona flexi-job meer dan "
                    f"{self.s.flexi_advance_days} dagen voor het begin van het kwartaal",
                )
        elif wt in ART17 and received < start - timedelta(days=self.s.art17_advance_days):
            self.add(
                "00910-008",
                "start_date",
                start.isoformat(),
                description_fr="Dimona article 17 déclarée plus de "
                f"{self.s.art17_advance_days} jours avant le début",
                description_nl="Dimona artikel 17 meer dan "
                f"{self.s.art17_advance_days} dagen voor het begin aangegeven",
            )

    # -- values shared by IN and UPDATE --------------------------------------------------

    def check_values(
        self, rule: TypeRule | None, *, given: Declaration, base: Period | None
    ) -> _Shape:
        """Field rules on the values given (format, domain, forbidden) and requirement rules
        on the resulting period (``base`` is the period an UPDATE changes)."""
        d, raw = given, given.raw
        is_in = base is None
        kind_rules = rule or _ANY_TYPE
        features = d.features if base is None else base.features

        # start date
        start = d.start_date
        if "start_date" in raw:
            self.add("00910-003", "start_date", raw["start_date"])
        elif start is None and is_in:
            self.add("00910-001", "start_date")
        elif start is not None and not self.in_start_domain(start):
            self.add("00910-008", "start_date", start.isoformat())
            start = None
        if start is None and base is not None and "start_date" not in raw:
            start = base.start_date

        # end date (9999-12-31 re-opens, UPDATE only)
        end = d.end_date
        end_reported = False
        if "end_date" in raw:
            self.add("00911-003", "end_date", raw["end_date"])
            end_reported = True
        elif end == REOPEN and not is_in:
            end = None
        elif end is not None and not self.s.earliest_end <= end <= self.last_day():
            self.add("00911-008", "end_date", end.isoformat())
            end, end_reported = None, True
        if base is not None and d.end_date is None and not end_reported:
            end = base.end_date
        reopened = not is_in and d.end_date == REOPEN

        # hours
        hours: dict[str, time | None] = {}
        for name, zone in (("start_hour", "00777"), ("end_hour", "00778")):
            value = getattr(d, name)
            present = value is not None or name in raw
            if present and kind_rules.hours == "forbidden":
                self.add(f"{zone}-005", name, value or raw.get(name))
                hours[name] = None
                continue
            parsed = _hhmm(value)
            if name in raw or (value is not None and parsed is None):
                self.add(f"{zone}-003", name, value or raw.get(name))
            hours[name] = parsed
            if not present and base is not None:
                hours[name] = (
                    None if name == "end_hour" and reopened else _hhmm(getattr(base, name))
                )

        # planned hours
        planned = d.planned_hours
        planned_present = planned is not None or "planned_hours" in raw
        if planned_present and kind_rules.planned == "forbidden":
            self.add(
                "01135-005",
                "planned_hours",
                planned if planned is not None else raw.get("planned_hours"),
            )
            planned = None
        elif "planned_hours" in raw or (planned is not None and not 1 <= planned <= 999):
            self.add("01135-003", "planned_hours", raw.get("planned_hours", planned))
            planned = None
        elif planned is None and base is not None:
            planned = base.planned_hours

        shape = _Shape(start, end, hours["start_hour"], hours["end_hour"], planned)
        if rule is None:
            return shape

        # requirements on the resulting period
        end_required = rule.end != "optional" or features.joint_commission == TEMPORARY_AGENCY_JC
        if is_in and end_required and d.end_date is None and not end_reported:
            self.add("00911-001", "end_date")
        if rule.end == "same_day" and shape.start and shape.end and shape.end != shape.start:
            self.add("00911-008", "end_date", shape.end.isoformat())
        one_day = shape.start is not None and shape.end == shape.start
        if rule.hours == "required" or (rule.hours == "one_day" and one_day):
            for name, zone in (("start_hour", "00777"), ("end_hour", "00778")):
                given_hour = getattr(d, name) is not None or name in raw
                if _shape_hour(shape, name) is None and not given_hour:
                    self.add(f"{zone}-001", name)
        planned_needed = rule.planned == "required" and not (
            features.worker_type == "STU" and self.days_quota(shape.start)
        )
        if planned_needed and shape.planned is None and not planned_present:
            self.add("01135-001", "planned_hours")
        return shape

    def days_quota(self, start: date | None) -> bool:
        """Whether the student quota of the start year counts days (up to 2016): planned
        hours were not required then."""
        if start is None:
            return False
        row = self.s.student_quota_for(start.year)
        return row is not None and row.unit == "days"

    def check_combinations(self, rule: TypeRule | None, shape: _Shape, exclude: int | None) -> None:
        """Rules on the resulting period as a whole: order of dates and hours, quarter,
        24 hours, EXT days, duplicates and overlaps, quotas, flexi access."""
        if shape.start is None:
            return
        if shape.end is not None and shape.end < shape.start:
            self.add("00911-014", "end_date", shape.end.isoformat())
            return
        if (
            shape.end == shape.start
            and shape.start_hour is not None
            and shape.end_hour is not None
            and shape.end_hour < shape.start_hour
        ):
            self.add("00778-345", "end_hour", shape.end_hour.strftime("%H%M"))
        features = self.d.features if self.period is None else self.period.features
        wt = features.worker_type
        if rule is None:
            return
        if rule.same_quarter and shape.end and _quarter(shape.start) != _quarter(shape.end):
            self.add(f"{self.block}-421", "end_date", shape.end.isoformat())
        self.check_24_hours(wt, shape)
        if wt == "EXT":
            self.check_ext_days(shape, exclude)
        self.check_duplicates(features, shape, exclude)
        self.check_quota(wt, shape, exclude)
        if (
            wt == "FLX"
            and self.s.flexi_access_check
            and self.worker is not None
            and not self.worker.flexi_eligible
        ):
            self.add("90017-510", "ssin", self.ssin)

    def check_24_hours(self, wt: str | None, shape: _Shape) -> None:
        """§4: an EXT period, or a flexi shift (end at most the next day), lasts ≤ 24 h."""
        if shape.end is None or shape.start_hour is None or shape.end_hour is None:
            return
        assert shape.start is not None
        shift = wt == "FLX" and shape.end <= shape.start + timedelta(days=1)
        if wt != "EXT" and not shift:
            return
        begin = datetime.combine(shape.start, shape.start_hour)
        if datetime.combine(shape.end, shape.end_hour) - begin > timedelta(hours=24):
            self.add(f"{self.block}-341", "end_hour", shape.end_hour.strftime("%H%M"))

    def check_ext_days(self, shape: _Shape, exclude: int | None) -> None:
        """00910-459: the EXT periods of this employer and worker, this one included, may not
        cover more than two consecutive calendar days."""
        if self.ssin is None or self.employer_nsso is None or shape.end is None:
            return
        assert shape.start is not None
        days: set[date] = set()
        # Three days on either side are enough to decide: long periods are clipped to that
        # window instead of being walked day by day.
        window_low = shape.start - timedelta(days=3)
        window_high = min(shape.end, shape.start + timedelta(days=3)) + timedelta(days=3)

        def cover(first: date, last: date) -> None:
            day = max(first, window_low)
            while day <= min(last, window_high):
                days.add(day)
                day += timedelta(days=1)

        cover(shape.start, shape.end)
        for p in self.ctx.periods_of(self.employer_nsso, self.ssin):
            if p.is_cancelled or p.id == exclude or p.features.worker_type != "EXT":
                continue
            cover(p.start_date, p.end_date or p.start_date)
        low, high = shape.start, min(shape.end, window_high)
        while low - timedelta(days=1) in days:
            low -= timedelta(days=1)
        while high + timedelta(days=1) in days:
            high += timedelta(days=1)
        if (high - low).days + 1 > 2:
            self.add("00910-459", "start_date", shape.start.isoformat())

    def check_duplicates(self, features: Features, shape: _Shape, exclude: int | None) -> None:
        """333: an identical non-cancelled period (same characteristics, dates, hours);
        334: an overlapping one with the same characteristics. Periods with other
        characteristics may coexist."""
        if self.ssin is None or self.employer_nsso is None:
            return
        mine = _characteristics(features)
        begin, end = shape.interval()
        duplicate = overlap = None
        for p in self.ctx.periods_of(self.employer_nsso, self.ssin):
            if p.is_cancelled or p.id == exclude or _characteristics(p.features) != mine:
                continue
            other = _shape_of(p)
            if (other.start, other.end, other.start_hour, other.end_hour) == (
                shape.start,
                shape.end,
                shape.start_hour,
                shape.end_hour,
            ):
                duplicate = p
                break
            other_begin, other_end = other.interval()
            if begin < other_end and other_begin < end and overlap is None:
                overlap = p
        if duplicate is not None:
            self.add(f"{self.block}-333", "period_id", duplicate.id)
        elif overlap is not None:
            self.add(f"{self.block}-334", "period_id", overlap.id)

    def check_quota(self, wt: str | None, shape: _Shape, exclude: int | None) -> None:
        """§7 yearly quotas: students at every employer (NP), art. 17 when enabled (B)."""
        if self.ssin is None or shape.start is None:
            return
        year = shape.start.year
        if wt == "STU":
            row = self.s.student_quota_for(year)
            if row is None:
                return
            if row.unit == "days":
                own = self.own_days(shape)
                total = self.ctx.student_days(self.ssin, year, exclude) + own
            else:
                own = shape.planned or 0
                total = self.ctx.student_hours(self.ssin, year, exclude) + own
            if total > row.limit:
                quota = quota_exceeded("STUDENT", year, row.limit, total, row.unit)
                self.add("90017-369", "planned_hours", own, quota=quota)
        elif wt in ART17 and self.s.art17_quota_check:
            own = shape.planned or 0
            total = self.ctx.art17_hours(self.ssin, year, exclude) + own
            if total > self.s.art17_quota_hours:
                quota = quota_exceeded("ART17", year, self.s.art17_quota_hours, total)
                self.add("90017-369", "planned_hours", own, quota=quota)

    def own_days(self, shape: _Shape) -> int:
        """Student days of this period (years up to 2016): the declared planned days, else
        its calendar days."""
        declared = self.d.planned_days or (self.period.planned_days if self.period else None)
        if declared:
            return declared
        assert shape.start is not None
        return ((shape.end or shape.start) - shape.start).days + 1

    # -- OUT, UPDATE, CANCEL --------------------------------------------------------------

    def check_on_period(self) -> None:
        """Every rule of an OUT, UPDATE or CANCEL, the period's prerequisites first."""
        period = self.prerequisites_period()
        kind = self.d.kind
        if kind == Kind.OUT:
            self.check_out(period)
        elif kind == Kind.UPDATE:
            self.check_update(period)
        elif self.s.lateness_check and self.received().date() > period.start_date:
            # §8 CANCEL after the declared start: recorded, no anomaly code.
            self.late = True

    def prerequisites_period(self) -> Period:
        """The period concerned: valid id, known, mandated, same employer and worker as
        given, neither cancelled nor locked."""
        d = self.d
        if "period_id" in d.raw:
            self.stop("00913-003", "period_id", d.raw["period_id"])
        if d.period_id is None:
            self.stop("00913-001", "period_id")
        assert d.period_id is not None
        if not is_valid_dimona_id(d.period_id):
            self.stop("00913-003", "period_id", d.period_id)
        period = self.ctx.period(d.period_id)
        if period is None:
            self.stop("00913-354", "period_id", d.period_id)
        assert period is not None
        self.period = period
        self.employer_nsso = period.employer_nsso
        self.ssin = period.ssin
        if not d.mandate_valid:
            self.stop("90256-155", "employer_nsso", period.employer_nsso)
        mismatch = False
        if d.employer_nsso and d.employer_nsso != period.employer_nsso:
            self.add("00011-347", "employer_nsso", d.employer_nsso)
            mismatch = True
        if d.employer_enterprise:
            employer = self.ctx.employer(period.employer_nsso)
            if employer is None or digits(employer.enterprise_number, 10) != digits(
                d.employer_enterprise, 10
            ):
                self.add("00014-347", "employer_enterprise", d.employer_enterprise)
                mismatch = True
        if d.ssin and digits(d.ssin, 11) != period.ssin:
            self.add("00024-347", "ssin", d.ssin)
            mismatch = True
        if period.is_cancelled:
            self.add("00913-355", "period_id", period.id)
            mismatch = True
        if period.is_locked:
            self.add("00913-362", "period_id", period.id)
            mismatch = True
        if mismatch:
            raise _Stop
        return period

    def check_out(self, period: Period) -> None:
        """The end date of an OUT on an open period, and its lateness."""
        d = self.d
        end = d.end_date
        if "end_date" in d.raw:
            self.add("00911-003", "end_date", d.raw["end_date"])
            end = None
        elif end is None:
            self.add("00911-001", "end_date")
        elif not self.s.earliest_end <= end <= self.last_day():
            # 9999-12-31 included: it only re-opens through an UPDATE.
            self.add("00911-008", "end_date", end.isoformat())
            end = None
        if period.end_date is not None:
            self.add("00913-356", "period_id", period.id)
        if end is not None and end < period.start_date:
            self.add("00911-014", "end_date", end.isoformat())
        elif end is not None and self.s.lateness_check and self.late_end(end):
            self.late = True  # §8: isLate, no anomaly code is published for OUT
        self.shape = replace(_shape_of(period), end=end)

    def check_update(self, period: Period) -> None:
        """The changes of an UPDATE, then the rules on the period as it would become."""
        d, raw = self.d, self.d.raw
        fields = ("start_date", "end_date", "start_hour", "end_hour", "planned_hours")
        if not any(getattr(d, name) is not None or name in raw for name in fields):
            self.stop("90378-360", "period_id", period.id)
        new_start = d.start_date
        if new_start is not None and new_start != period.start_date:
            employer = self.ctx.employer(period.employer_nsso)
            if (
                employer is not None
                and self.in_start_domain(new_start)
                and not employer.active_on(new_start)
            ):
                self.stop("90378-343", "start_date", d.start_date.isoformat())

        wt = period.features.worker_type
        rule = WORKER_TYPES.get(wt or "")
        if period.end_date is None and d.end_date is not None and d.end_date != REOPEN:
            self.add("00913-359", "end_date", d.end_date.isoformat())
        if d.end_date == REOPEN and rule is not None:
            if rule.end != "optional":
                self.add("90378-368", "end_date", REOPEN.isoformat())
            elif period.features.joint_commission == TEMPORARY_AGENCY_JC:
                self.add("00913-368", "end_date", REOPEN.isoformat())
        if d.start_date is not None and d.start_date != period.start_date:
            if wt == "STU" and period.start_date >= self.s.student_start_locked_from:
                self.add("00910-005", "start_date", d.start_date.isoformat())
            if d.start_date > period.start_date and period.start_date < self.received().date():
                self.add("00910-344", "start_date", d.start_date.isoformat())

        shape = self.check_values(rule, given=d, base=period)
        self.shape = shape
        current = _shape_of(period)
        if not raw and shape == current and not any(a.blocking for a in self.found):
            self.add("90378-444", "period_id", period.id)
            return
        self.check_combinations(rule, shape, exclude=period.id)
        if self.s.lateness_check and shape.start is not None:
            self.late = self.update_is_late(period, shape)
            if self.late:
                self.add("90378-460", "period_id", period.id)

    def update_is_late(self, period: Period, shape: _Shape) -> bool:
        """§8 UPDATE: an earlier start as an IN; an earlier end by the first working day
        after the new end; a later end (or a re-opening) by the first working day after the
        end first declared."""
        assert shape.start is not None
        late = False
        if shape.start < period.start_date:
            late = self.late_start(shape.start, shape.start_hour)
        old_end = period.end_date
        if old_end is not None and self.d.end_date is not None:
            if shape.end is not None and shape.end < old_end:
                late = late or self.late_end(shape.end)
            elif shape.end is None or shape.end > old_end:
                late = late or self.late_end(old_end)
        return late

    # -- outcome ----------------------------------------------------------------------------

    def outcome(self) -> Outcome:
        """The result rule of §3.4 applied to the anomalies found."""
        anomalies = tuple(self.found)
        d = self.d
        period_id = self.period.id if self.period is not None else None
        common = {
            "anomalies": anomalies,
            "employer_nsso": self.employer_nsso,
            "ssin": self.ssin,
            "is_late": self.late,
        }
        if any(a.blocking for a in anomalies):
            return Outcome(result=Result.REFUSED, period_id=period_id, **common)
        if d.kind == Kind.IN and self.identify:
            return Outcome(
                result=Result.WAITING, period_id=None, needs_identification=True, **common
            )
        change = self.change()
        result = Result.WARNING if anomalies else Result.ACCEPTED
        return Outcome(result=result, change=change, period_id=change.after.id, **common)

    def change(self) -> PeriodChange:
        """What an accepted declaration does to the personnel file."""
        d, shape = self.d, self.shape
        hour = _hour_text
        if d.kind == Kind.IN:
            assert shape is not None and shape.start is not None
            assert self.employer_nsso and self.ssin
            after = Period(
                id=d.declaration_id,
                employer_nsso=self.employer_nsso,
                ssin=self.ssin,
                features=d.features,
                start_date=shape.start,
                end_date=shape.end,
                start_hour=hour(shape.start_hour),
                end_hour=hour(shape.end_hour),
                planned_hours=shape.planned,
                is_late=self.late,
                planned_days=d.planned_days,
            )
            return PeriodChange(Kind.IN, None, after)
        before = self.period
        assert before is not None
        is_late = before.is_late or self.late
        if d.kind == Kind.OUT:
            assert shape is not None
            after = replace(before, end_date=shape.end, is_late=is_late)
        elif d.kind == Kind.UPDATE:
            assert shape is not None and shape.start is not None
            after = replace(
                before,
                start_date=shape.start,
                end_date=shape.end,
                start_hour=hour(shape.start_hour),
                end_hour=hour(shape.end_hour),
                planned_hours=shape.planned,
                is_late=is_late,
            )
        else:
            after = replace(before, is_cancelled=True, is_late=is_late)
        return PeriodChange(d.kind, before, after)


def _shape_hour(shape: _Shape, name: str) -> time | None:
    """The start or end hour of a shape by attribute name of the declaration."""
    return shape.start_hour if name == "start_hour" else shape.end_hour


def evaluate(
    declaration: Declaration, ctx: Context, settings: RuleSettings | None = None
) -> Outcome:
    """Apply every Dimona rule to ``declaration`` and decide its result (A, W, B or S).

    Anomalies are collected from all rules; a failed prerequisite (employer for an IN,
    period for the other kinds) stops the rules after it. For A and W the outcome carries
    the :class:`PeriodChange` to apply; for S, ``needs_identification`` is set and nothing
    changes until the final evaluation.
    """
    evaluation = _Evaluation(declaration, ctx, settings or RuleSettings())
    evaluation.run()
    return evaluation.outcome()
