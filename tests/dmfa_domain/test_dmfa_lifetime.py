"""Anomaly lifetime (dmfa.md §6), deadlines and quarters (§8), silent employers (§9) and the
configurable tables (§3, §7): pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from dmfa_domain.dmfa_samples import TABLES, employer

from socsec.dmfa.domain.catalogue import anomaly, original_code
from socsec.dmfa.domain.lifetime import OpenInstance, Scope, lifetime_changes, lifetime_days
from socsec.dmfa.domain.model import Priority, Severity, Subject
from socsec.dmfa.domain.quarters import (
    bounds,
    deadline,
    legal_due_date,
    mon_sat_days,
    parse_quarter,
    prescription_date,
)
from socsec.dmfa.domain.silent import (
    Completeness,
    active_employers,
    is_inaccurate,
    is_incomplete,
    list_date,
    review_date,
)
from socsec.kit.calendar import WorkingDays

LINE = (
    ("Quarter", "20251"),
    ("NOSSRegistrationNbr", "155555504"),
    ("NaturalPersonSequenceNbr", "1"),
    ("INSS", "95050530028"),
    ("EmployerClass", "010"),
    ("WorkerCode", "495"),
)
OCCUPATION = (*LINE, ("OccupationSequenceNbr", "1"))
OPENED = datetime(2025, 5, 26, 8, 0, tzinfo=UTC)


def _open(a, instance_id: str = "a1") -> OpenInstance:
    return OpenInstance(
        instance_id,
        a.key,
        a.subject,
        a.path_value("INSS"),
        a.path_value("EmployerClass"),
        a.path_value("WorkerCode"),
        OPENED,
    )


def test_an_original_opens_every_non_blocking_anomaly_once() -> None:
    found = (anomaly("00046-314", path=OCCUPATION), anomaly("00046-314", path=OCCUPATION))
    changes = lifetime_changes([], found, None)
    assert len(changes.opened) == 1 and changes.resolved == ()


def test_a_correction_resolves_what_no_longer_fires_in_its_scope() -> None:
    jc = anomaly("00046-314", path=OCCUPATION)
    scope = Scope(frozenset({"95050530028"}), frozenset({("95050530028", "010", "495")}))
    changes = lifetime_changes([_open(jc)], (), scope)
    assert [i.id for i in changes.resolved] == ["a1"]


def test_an_anomaly_found_again_stays_open() -> None:
    jc = anomaly("00046-314", path=OCCUPATION)
    scope = Scope(frozenset({"95050530028"}), frozenset({("95050530028", "010", "495")}))
    changes = lifetime_changes([_open(jc)], (jc,), scope)
    assert changes.resolved == () and changes.opened == () and changes.kept == (jc,)


def test_a_line_the_correction_does_not_touch_keeps_its_anomalies() -> None:
    jc = anomaly("00046-314", path=OCCUPATION)
    other_line = Scope(frozenset({"88041212434"}), frozenset({("88041212434", "010", "015")}))
    assert lifetime_changes([_open(jc)], (), other_line).resolved == ()


def test_update_twins_keep_the_lifetime_of_their_original() -> None:
    days = anomaly("90015-096", path=OCCUPATION)
    twin = anomaly("90015-096", path=OCCUPATION, update=True)
    assert twin.code == "90211-096" and twin.key == days.key
    assert original_code("90220-502") == "90017-502"


def test_the_person_sequence_number_does_not_identify_a_finding() -> None:
    renumbered = tuple(
        ("NaturalPersonSequenceNbr", "7") if t == "NaturalPersonSequenceNbr" else (t, v)
        for t, v in OCCUPATION
    )
    assert anomaly("00046-314", path=renumbered).key == anomaly("00046-314", path=OCCUPATION).key


def test_lifetime_in_calendar_days() -> None:
    assert lifetime_days(OPENED, datetime(2025, 6, 10, 7, 0, tzinfo=UTC)) == 15


def test_subjects() -> None:
    assert anomaly("00046-314", path=OCCUPATION).subject == Subject.OCCUPATION
    assert anomaly("00085-044", path=LINE).subject == Subject.WORKER_LINE
    assert anomaly("00024-004", path=LINE[:4]).subject == Subject.INSZ
    assert anomaly("90007-262", path=LINE[:2]).subject == Subject.EMPLOYER


# -- priority table ----------------------------------------------------------------------------


def test_priority_classification_follows_the_table() -> None:
    table = TABLES.priority
    assert table.classify("00046-314", Severity.NP) == Priority.AP
    assert table.classify("90015-095", Severity.P) == Priority.AP
    assert table.classify(original_code("90211-095"), Severity.P) == Priority.AP
    assert table.classify("00085-044", Severity.P) == Priority.ANP
    assert table.classify("00038-034", Severity.P) == Priority.ANP
    assert table.classify("00015-007", Severity.B) == Priority.EXCLUDED
    assert table.classify("90007-262", Severity.NP) == Priority.EXCLUDED


def test_rates_are_dated() -> None:
    assert TABLES.contribution_rate(20251, "495", 0).rate == Decimal("0.3807")
    assert TABLES.contribution_rate(20174, "495", 0) is None  # before the table starts
    assert TABLES.contribution_rate(20251, "015", 1).pay_factor == Decimal("1.08")
    assert TABLES.student_rate(20251) == Decimal("0.0813")
    assert TABLES.student_quota_hours(2024) == 600 and TABLES.student_quota_hours(2025) == 650


# -- quarters and deadlines ----------------------------------------------------------------------


def test_due_dates_are_the_last_day_of_the_month_after_the_quarter() -> None:
    assert [legal_due_date(q) for q in (20251, 20252, 20253, 20254)] == [
        date(2025, 4, 30),
        date(2025, 7, 31),
        date(2025, 10, 31),
        date(2026, 1, 31),
    ]


def test_approved_secretariats_get_15_working_days() -> None:
    add = WorkingDays().add
    assert deadline(20251, approved_secretariat=True, extra_days=15, add_working_days=add) == date(
        2025, 5, 22
    )  # Labour Day skipped
    assert deadline(20251, approved_secretariat=False, extra_days=15, add_working_days=add) == date(
        2025, 4, 30
    )


def test_prescription_date() -> None:
    assert prescription_date(20251, years=3, margin_days=10) == date(2028, 4, 20)


def test_monday_to_saturday_days_of_the_spec_example() -> None:
    assert mon_sat_days(date(2025, 1, 6), date(2025, 2, 28)) == 47
    assert bounds(20251) == (date(2025, 1, 1), date(2025, 3, 31))


def test_quarters_are_read_in_every_usual_spelling() -> None:
    assert {parse_quarter(t) for t in ("2025-1", "2025/1", "2025Q1", "20251")} == {20251}


# -- silent employers ----------------------------------------------------------------------------


def test_list_and_review_dates() -> None:
    add = WorkingDays().add
    assert list_date(20251, working_days=20, add_working_days=add) == date(2025, 5, 30)
    assert review_date(20251, months=6) == date(2025, 9, 30)


def test_active_employers() -> None:
    a = employer("123456749", "0123456749")
    b = employer("187654356", "0876543270")
    gone = employer("111111171", "0812345603", registered_to=date(2025, 2, 1))
    active = active_employers(
        [a, b, gone],
        20251,
        with_dimona={"123456749", "111111171"},
        with_persons_before={"187654356"},
    )
    assert active == {"123456749", "187654356"}


def test_incomplete_and_inaccurate_thresholds() -> None:
    five_percent = Completeness("123456749", 20, 1, 100, 100)
    assert is_incomplete(five_percent, 0.05)
    assert not is_incomplete(Completeness("123456749", 21, 1, 100, 100), 0.05)
    assert is_inaccurate(Completeness("123456749", 0, 0, 1000, 1050), 0.05)
    assert not is_inaccurate(Completeness("123456749", 0, 0, 1000, 1049), 0.05)
