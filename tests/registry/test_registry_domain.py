"""The registry's domain rules, without any I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from stdnum.be import ssn

from socsec.contracts.payloads.registry import (
    IdentificationOutcome,
    MandataryKind,
    NotificationRouting,
    Scope,
)
from socsec.registry.domain import mandataries as m
from socsec.registry.domain import mandates as md
from socsec.registry.domain import senders as s
from socsec.registry.domain import workers as w
from socsec.registry.domain.employers import Employer, check_employer
from socsec.registry.domain.errors import Code, Conflict, NotFound, RuleViolation, kind_of
from socsec.registry.settings import RegistrySettings

RULES = RegistrySettings().rules()

EXEMPLUM = m.Mandatary(
    id="M-EXEMPLUM",
    kind=MandataryKind.APPROVED_SECRETARIAT,
    legal_name="ASBL - Secrétariat Social Exemplum",
    enterprise_number="0412345614",
    legal_form="ASBL",
    language="fr",
    seat=m.Seat("S-EXEMPLUM-BXL", "Rue de la Loi 1"),
    approval=m.Approval("950", date(2017, 1, 1)),
    branches=(
        m.Branch(
            "B-EXEMPLUM-GENT", "S-EXEMPLUM-BXL", "Veldstraat 1", date(2020, 3, 2), date(2020, 4, 1)
        ),
    ),
)
PAYPRO = m.Mandatary(
    id="M-PAYPRO",
    kind=MandataryKind.SERVICE_PROVIDER,
    legal_name="PayPro Services SRL",
    enterprise_number="0456789133",
    legal_form="SRL",
    language="fr",
    seat=m.Seat("S-PAYPRO", "Avenue Louise 100"),
)


def a_mandate(**changes: object) -> md.Mandate:
    mandate = md.Mandate(
        id="MD-1",
        employer_nsso="123456749",
        mandatary_id="M-EXEMPLUM",
        affiliation_point="S-EXEMPLUM-BXL",
        seat_id="S-EXEMPLUM-BXL",
        scopes=(Scope.DIMONA, Scope.DMFA, Scope.CONTRIBUTION_COLLECTION),
        proxy_registered_on=date(2021, 5, 27),
        valid_from=date(2021, 7, 1),
        notification_routing=NotificationRouting.MANDATARY,
    )
    return replace(mandate, **changes)  # type: ignore[arg-type]


class refused:
    """``with refused(code):`` expects a refusal of the register with that code."""

    def __init__(self, code: Code) -> None:
        self.code = code

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:  # type: ignore[no-untyped-def]
        assert exc is not None, f"expected a refusal {self.code}"
        assert getattr(exc, "code", None) == self.code, f"{exc!r} is not {self.code}"
        return True


# -- errors ------------------------------------------------------------------------------


def test_every_code_has_one_kind() -> None:
    assert kind_of(Code.MANDATE_NOT_FOUND) is NotFound
    assert kind_of(Code.MANDATE_OVERLAP) is Conflict
    assert kind_of(Code.COLLECTION_REQUIRES_APPROVAL) is RuleViolation
    assert {kind_of(c) for c in Code} == {NotFound, Conflict, RuleViolation}


# -- employers ---------------------------------------------------------------------------


def test_nsso_check_rule_applies_to_new_numbers_only_when_enabled() -> None:
    bad = Employer("156065072", "0123456749", "X", "fr", date(2020, 1, 1))
    with refused(Code.NSSO_CHECK_DIGIT):
        check_employer(bad, is_new=True, rules=RULES)
    check_employer(bad, is_new=False, rules=RULES)  # already in the register: never refused
    check_employer(bad, is_new=True, rules=replace(RULES, noss_check_enabled=False))
    check_employer(replace(bad, nsso_number="123456749"), is_new=True, rules=RULES)
    with refused(Code.INVALID_PERIOD):
        check_employer(replace(bad, registered_to=date(2019, 1, 1)), is_new=False, rules=RULES)


def test_employer_registration_is_dated() -> None:
    employer = Employer("123456749", "0123456749", "A", "fr", date(2020, 1, 1), date(2020, 12, 31))
    assert not employer.registered_on(date(2019, 12, 31))
    assert employer.registered_on(date(2020, 12, 31))
    assert not employer.registered_on(date(2021, 1, 1))


# -- mandataries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ASBL - Secrétariat Social Exemplum",
        "asbl - secretariat social exemplum",
        "Association sans but lucratif - Secrétariat social Horizon",
        "VZW - Sociaal Secretariaat Noorderlicht",
    ],
)
def test_approved_secretariat_names(name: str) -> None:
    m.check_legal_name(MandataryKind.APPROVED_SECRETARIAT, name, RULES)


@pytest.mark.parametrize("name", ["Exemplum ASBL", "Secrétariat Exemplum", "VZW Noorderlicht"])
def test_approved_secretariat_without_the_legal_form_in_its_name(name: str) -> None:
    with refused(Code.MANDATARY_LEGAL_NAME):
        m.check_legal_name(MandataryKind.APPROVED_SECRETARIAT, name, RULES)


@pytest.mark.parametrize(
    "name", ["PayPro Secrétariat Social", "SECRETARIAT SOCIAL PayPro", "Loon Sociaal  Secretariaat"]
)
def test_providers_may_not_call_themselves_social_secretariat(name: str) -> None:
    with refused(Code.MANDATARY_LEGAL_NAME):
        m.check_legal_name(MandataryKind.SERVICE_PROVIDER, name, RULES)
    m.check_legal_name(MandataryKind.SERVICE_PROVIDER, "PayPro Services SRL", RULES)


def test_approval_and_branches_of_a_mandatary() -> None:
    m.check_mandatary(EXEMPLUM, RULES)
    with refused(Code.APPROVAL_REQUIRED):
        m.check_mandatary(replace(EXEMPLUM, approval=None), RULES)
    with refused(Code.APPROVAL_NOT_ALLOWED):
        m.check_mandatary(replace(PAYPRO, approval=m.Approval("951", date(2020, 1, 1))), RULES)
    elsewhere = replace(EXEMPLUM.branches[0], seat_id="S-OTHER")
    with refused(Code.BRANCH_SEAT_MISMATCH):
        m.check_mandatary(replace(EXEMPLUM, branches=(elsewhere,)), RULES)
    twice = replace(EXEMPLUM.branches[0], id="S-EXEMPLUM-BXL")
    with refused(Code.ORGANISATION_ID_TAKEN):
        m.check_mandatary(replace(EXEMPLUM, branches=(twice,)), RULES)
    with refused(Code.SEAT_IMMUTABLE):
        m.check_change(EXEMPLUM, replace(EXEMPLUM, seat=m.Seat("S-NEW", "x")))


def test_approved_list_on_a_date() -> None:
    withdrawn = replace(
        EXEMPLUM,
        id="M-OLD",
        approval=m.Approval("900", date(2010, 1, 1), withdrawn_on=date(2018, 1, 1)),
    )
    everyone = [EXEMPLUM, withdrawn, PAYPRO]
    assert [x.id for x in m.approved_list(everyone, date(2016, 6, 1))] == ["M-OLD"]
    assert [x.id for x in m.approved_list(everyone, date(2017, 12, 31))] == ["M-OLD", "M-EXEMPLUM"]
    assert [x.id for x in m.approved_list(everyone, date(2018, 1, 1))] == ["M-EXEMPLUM"]


def test_affiliation_point_resolves_the_seat() -> None:
    assert m.seat_of(EXEMPLUM, "S-EXEMPLUM-BXL") == "S-EXEMPLUM-BXL"
    assert m.seat_of(EXEMPLUM, "B-EXEMPLUM-GENT") == "S-EXEMPLUM-BXL"
    with refused(Code.AFFILIATION_POINT_UNKNOWN):
        m.seat_of(EXEMPLUM, "S-PAYPRO")


def test_branches_are_merged_never_removed() -> None:
    liege = m.Branch("B-LIEGE", "S-EXEMPLUM-BXL", "Liège", date(2021, 9, 1), date(2021, 10, 1))
    closed = replace(EXEMPLUM.branches[0], active_to=date(2024, 12, 31))
    merged = m.merge_branches(EXEMPLUM.branches, [liege, closed])
    assert [(b.id, b.active_to) for b in merged] == [
        ("B-EXEMPLUM-GENT", date(2024, 12, 31)),
        ("B-LIEGE", None),
    ]
    assert m.merge_branches(merged, []) == merged


# -- mandates ----------------------------------------------------------------------------


def test_mandate_usable_only_with_the_proxy_registered() -> None:
    mandate = a_mandate(valid_to=date(2025, 6, 30))
    assert not mandate.usable_on(date(2021, 6, 30))
    assert mandate.usable_on(date(2021, 7, 1))
    assert mandate.usable_on(date(2025, 6, 30))
    assert not mandate.usable_on(date(2025, 7, 1))
    late_proxy = a_mandate(proxy_registered_on=date(2021, 8, 1))
    assert not late_proxy.usable_on(date(2021, 7, 15))
    assert late_proxy.usable_from == date(2021, 8, 1)


def test_contribution_collection_needs_an_approved_secretariat() -> None:
    md.check_mandate(a_mandate(), EXEMPLUM)
    provider = a_mandate(mandatary_id="M-PAYPRO", affiliation_point="S-PAYPRO", seat_id="S-PAYPRO")
    with refused(Code.COLLECTION_REQUIRES_APPROVAL):
        md.check_mandate(provider, PAYPRO)
    md.check_mandate(replace(provider, scopes=(Scope.DIMONA, Scope.DMFA)), PAYPRO)
    before_approval = a_mandate(valid_from=date(2016, 1, 1), proxy_registered_on=date(2016, 1, 1))
    with refused(Code.COLLECTION_REQUIRES_APPROVAL):
        md.check_mandate(before_approval, EXEMPLUM)


def test_one_usable_mandate_per_employer_and_scope() -> None:
    first = a_mandate(valid_to=date(2023, 12, 31))
    second = a_mandate(
        id="MD-2", valid_from=date(2023, 12, 1), proxy_registered_on=date(2023, 12, 1)
    )
    with refused(Code.MANDATE_OVERLAP):
        md.check_overlap(second, [first], RULES)
    found = md.overlap(second, [first])
    assert found is not None and found[0].id == "MD-1" and found[1] == Scope.DIMONA

    # usable only after the first ended: no common day
    md.check_overlap(replace(second, proxy_registered_on=date(2024, 1, 1)), [first], RULES)
    # another scope: no conflict
    md.check_overlap(
        replace(second, scopes=(Scope.CONTRIBUTION_COLLECTION,)),
        [replace(first, scopes=(Scope.DIMONA,))],
        RULES,
    )
    # another employer: no conflict
    md.check_overlap(replace(second, employer_nsso="187654356"), [first], RULES)
    # configurable
    md.check_overlap(second, [first], replace(RULES, one_mandate_per_scope=False))
    # open ends overlap everything after them
    assert md.overlap(replace(second, valid_from=date(2030, 1, 1)), [a_mandate()]) is not None


def test_end_notice_is_late_less_than_fifteen_days_before_the_end() -> None:
    end = date(2025, 6, 30)
    assert not md.is_late(date(2025, 6, 15), end, RULES)  # exactly 15 days before
    assert md.is_late(date(2025, 6, 16), end, RULES)
    assert not md.is_late(date(2025, 1, 1), end, RULES)
    assert md.is_late(date(2025, 7, 2), end, RULES)
    ended = md.end(
        a_mandate(), notified_on=date(2025, 6, 16), effective_end=end, reason="x", rules=RULES
    )
    assert ended.valid_to == end
    assert ended.end_notice == md.EndNotice(date(2025, 6, 16), end, "x", True)
    with refused(Code.INVALID_PERIOD):
        md.end(
            a_mandate(), notified_on=end, effective_end=date(2020, 1, 1), reason="x", rules=RULES
        )


def test_notification_routing_defaults_per_kind() -> None:
    assert md.default_routing(MandataryKind.APPROVED_SECRETARIAT, RULES) == "MANDATARY"
    assert md.default_routing(MandataryKind.SERVICE_PROVIDER, RULES) == "SENDER"
    assert md.scopes_of(["DMFA", "DIMONA", "DMFA"]) == (Scope.DIMONA, Scope.DMFA)


# -- senders -----------------------------------------------------------------------------


def test_sender_numbers() -> None:
    with refused(Code.SENDER_NUMBER_RESERVED):
        s.check_sender_number("999999", RULES.reserved_sender_numbers)
    s.check_sender_number("054321", RULES.reserved_sender_numbers)
    assert s.issuable(1, RULES.reserved_sender_numbers)
    assert not s.issuable(999999, RULES.reserved_sender_numbers)
    assert not s.issuable(0, RULES.reserved_sender_numbers)
    assert s.environments_of(["S", "R", "S"]) == ("R", "S")
    with pytest.raises(ValueError):
        s.environments_of(["X"])


# -- workers and identification ------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "sex"),
    [
        (date(1988, 2, 29), None),
        (date(1998, 7, 28), "M"),
        (date(2005, 3, 15), "F"),
        (date(2001, 1, 1), None),
    ],
)
def test_bis_numbers_pass_their_checksum(born: date, sex: str | None) -> None:
    numbers = list(w.bis_candidates(born, sex))
    assert len(set(numbers)) == len(numbers) >= 499
    for number in numbers[:50] + numbers[-5:]:
        assert ssn.is_valid(number) and ssn.guess_type(number) == "bis"
        assert ssn.get_birth_date(number) == born
        assert ssn.get_gender(number) == sex
        assert number.startswith(w.bis_prefix(born, sex))
    month = int(numbers[0][2:4])
    assert month == born.month + (20 if sex is None else 40)


def test_national_numbers_of_the_generator() -> None:
    number = w.insz_number(date(1985, 7, 30), 33)
    assert number == "85073003328"
    assert w.kind_of(number) == w.WorkerKind.NN
    assert w.kind_of("88222999936") == w.WorkerKind.BIS
    assert w.birth_date_of("80000099902") is None


def _request(**changes: object) -> w.IdentificationRequest:
    at = datetime(2025, 5, 1, 7, tzinfo=UTC)
    request = w.IdentificationRequest(
        id="IDR-1",
        requested_by="dimona",
        reference="D-1",
        family_name="Nowak",
        given_name="Anna",
        birth_date=date(1990, 3, 4),
        requested_at=at,
        due_at=at,
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def test_implausible_identities() -> None:
    today = date(2025, 5, 1)
    assert w.implausibility(_request(), today, RULES) is None
    assert w.implausibility(_request(family_name=" "), today, RULES) == "family name is empty"
    assert w.implausibility(_request(given_name=""), today, RULES) == "given name is empty"
    assert "future" in (w.implausibility(_request(birth_date=date(2025, 5, 2)), today, RULES) or "")
    assert "1900" in (w.implausibility(_request(birth_date=date(1899, 12, 31)), today, RULES) or "")
    assert w.implausibility(_request(birth_date=None), today, RULES) == "birth date is missing"


def test_same_person_ignores_case_and_accents() -> None:
    worker = w.Worker("90030412345", w.WorkerKind.NN, "Nowák", "ANNA", True, date(1990, 3, 4), "F")
    assert w.same_person(worker, _request())
    assert not w.same_person(worker, _request(sex="M"))
    assert not w.same_person(worker, _request(birth_date=date(1990, 3, 5)))


def test_worker_data_must_fit_its_number() -> None:
    worker = w.complete(w.Worker("85073003328", w.WorkerKind.NN, "Janssens", "Pieter", True))
    assert worker.birth_date == date(1985, 7, 30)
    w.check_worker(worker)
    with refused(Code.WORKER_BIRTH_DATE_MISMATCH):
        w.check_worker(replace(worker, birth_date=date(1985, 7, 31)))
    with refused(Code.WORKER_REPLACEMENT_INVALID):
        w.check_worker(replace(worker, replaced_by="88041212434"))  # an NN is not replaced
    bis = w.Worker("88222999936", w.WorkerKind.BIS, "X", "Y", True)
    w.check_worker(replace(bis, replaced_by="88022999297"))
    with refused(Code.WORKER_REPLACEMENT_INVALID):
        w.check_worker(replace(bis, replaced_by="98472899765"))  # by another BIS


def test_a_request_is_answered_once() -> None:
    at = datetime(2025, 5, 2, tzinfo=UTC)
    answered = w.resolve(
        _request(), outcome=IdentificationOutcome.NOT_FOUND, insz=None, reason="x", at=at, by="op"
    )
    assert answered.status == w.IdentificationStatus.RESOLVED
    assert not answered.due(at)
    with refused(Code.IDENTIFICATION_RESOLVED):
        w.resolve(
            answered, outcome=IdentificationOutcome.FOUND, insz=None, reason=None, at=at, by="op"
        )
