"""The authorisation rules, on the in-memory model (no I/O)."""

from __future__ import annotations

from datetime import date

from reference_data import EXEMPLUM, PAYPRO

from socsec.contracts.payloads.registry import (
    Approval,
    EmployerChanged,
    MandateChanged,
    Scope,
)
from socsec.kit.authz import Authorizer


def mandate(mid: str, employer: str, mandatary: str, point: str, *scopes: Scope, **kw):
    values = {
        "proxy_registered_on": date(2021, 5, 27),
        "valid_from": date(2021, 7, 1),
        "valid_to": None,
    }
    values.update(kw)
    return MandateChanged(
        id=mid,
        employer_nsso=employer,
        mandatary_id=mandatary,
        affiliation_point=point,
        seat_id="S-EXEMPLUM-BXL" if mandatary == "M-EXEMPLUM" else "S-PAYPRO",
        scopes=scopes,
        **values,
    )


def model() -> Authorizer:
    authz = Authorizer()
    authz.apply_mandatary(EXEMPLUM)
    authz.apply_mandatary(PAYPRO)
    authz.apply_employer(
        EmployerChanged(
            nsso_number="155555504",
            enterprise_number="0555555523",
            name="Employer C",
            language="nl",
            registered_from=date(2010, 1, 1),
        )
    )
    authz.apply_mandate(
        mandate(
            "MD-000031",
            "155555504",
            "M-EXEMPLUM",
            "B-EXEMPLUM-GENT",
            Scope.DIMONA,
            Scope.DMFA,
            Scope.CONTRIBUTION_COLLECTION,
        )
    )
    authz.apply_mandate(mandate("MD-000040", "123456749", "M-PAYPRO", "S-PAYPRO", Scope.DIMONA))
    return authz


D = date(2025, 3, 1)


def test_an_employer_may_always_act_for_itself() -> None:
    assert model().may_act("187654356", "187654356", Scope.DIMONA, D)


def test_mandatary_seat_and_branch_act_within_the_mandataries_mandates() -> None:
    authz = model()
    for org in ("M-EXEMPLUM", "S-EXEMPLUM-BXL", "B-EXEMPLUM-GENT"):
        decision = authz.may_act(org, "155555504", Scope.DIMONA, D)
        assert decision and decision.mandate_id == "MD-000031", org


def test_a_secretariat_without_a_mandate_for_the_employer_is_refused() -> None:
    decision = model().may_act("M-EXEMPLUM", "123456749", Scope.DIMONA, D)
    assert not decision
    assert "no usable DIMONA mandate of M-EXEMPLUM for 123456749" in decision.reason


def test_scope_not_in_the_mandate_is_refused() -> None:
    assert not model().may_act("M-PAYPRO", "123456749", Scope.DMFA, D)


def test_mandate_outside_its_validity_or_before_proxy_registration_is_refused() -> None:
    authz = model()
    authz.apply_mandate(
        mandate(
            "MD-000031",
            "155555504",
            "M-EXEMPLUM",
            "S-EXEMPLUM-BXL",
            Scope.DIMONA,
            valid_to=date(2024, 12, 31),
        )
    )
    assert authz.may_act("M-EXEMPLUM", "155555504", Scope.DIMONA, date(2024, 12, 31))
    assert not authz.may_act("M-EXEMPLUM", "155555504", Scope.DIMONA, date(2025, 1, 1))
    assert not authz.may_act("M-EXEMPLUM", "155555504", Scope.DIMONA, date(2021, 6, 30))
    late_proxy = mandate(
        "MD-9", "111111171", "M-EXEMPLUM", "S-EXEMPLUM-BXL", Scope.DIMONA,
        proxy_registered_on=date(2021, 8, 1),
    )  # fmt: skip
    authz.apply_mandate(late_proxy)
    assert not authz.may_act("M-EXEMPLUM", "111111171", Scope.DIMONA, date(2021, 7, 15))
    assert authz.may_act("M-EXEMPLUM", "111111171", Scope.DIMONA, date(2021, 8, 1))


def test_a_provider_never_collects_contributions_and_withdrawn_approval_stops_collection():
    authz = model()
    authz.apply_mandate(
        mandate("MD-41", "187654356", "M-PAYPRO", "S-PAYPRO", Scope.CONTRIBUTION_COLLECTION)
    )
    assert not authz.may_act("M-PAYPRO", "187654356", Scope.CONTRIBUTION_COLLECTION, D)
    assert authz.may_act("M-EXEMPLUM", "155555504", Scope.CONTRIBUTION_COLLECTION, D)
    withdrawn = EXEMPLUM.model_copy(
        update={"approval": Approval(number="950", approved_from=date(2017, 1, 1),
                                     withdrawn_on=date(2025, 1, 1))}
    )  # fmt: skip
    authz.apply_mandatary(withdrawn)
    assert not authz.may_act("M-EXEMPLUM", "155555504", Scope.CONTRIBUTION_COLLECTION, D)
    assert authz.may_act("M-EXEMPLUM", "155555504", Scope.DIMONA, D)


def test_a_withdrawn_mandate_or_branch_is_forgotten() -> None:
    authz = model()
    authz.apply_mandate(
        mandate("MD-000031", "155555504", "M-EXEMPLUM", "B-EXEMPLUM-GENT", Scope.DIMONA)
        .model_copy(update={"deleted": True})
    )  # fmt: skip
    assert not authz.may_act("B-EXEMPLUM-GENT", "155555504", Scope.DIMONA, D)
    authz.apply_mandatary(EXEMPLUM.model_copy(update={"branches": ()}))
    assert authz.mandatary_of("B-EXEMPLUM-GENT") is None
    assert authz.mandatary_of("S-EXEMPLUM-BXL") == "M-EXEMPLUM"


def test_employers_of_lists_what_an_organisation_may_read() -> None:
    authz = model()
    assert authz.employers_of("B-EXEMPLUM-GENT", Scope.DIMONA, D) == ["155555504"]
    assert authz.employers_of("M-PAYPRO", Scope.DIMONA, D) == ["123456749"]
    assert authz.employers_of("155555504", Scope.DIMONA, D) == ["155555504"]
