"""The anomaly catalogue and the REST item of dimona.md §3.5."""

from __future__ import annotations

import inspect
import re

import pytest

from socsec.dimona.domain import rules
from socsec.dimona.domain.anomalies import (
    CATALOGUE,
    GENERIC_LABELS,
    ZONE_TAGS,
    anomaly,
    label,
    quota_exceeded,
    to_rest_item,
)
from socsec.dimona.domain.model import Anomaly, Quota, Severity

NON_BLOCKING = {
    "00025-348",
    "00026-348",
    "00028-348",
    "00029-348",
    "90017-369",
    "90017-510",
    "90373-460",
    "90378-460",
}


def codes_used_by_the_rules() -> set[str]:
    source = inspect.getsource(rules)
    used = set(re.findall(r'"(\d{5}-\d{3})"', source))
    # Block codes are built from the kind (90373 for IN, 90378 for UPDATE) ...
    for generic in re.findall(r'f"\{self\.block\}-(\d{3})"', source):
        used |= {f"90373-{generic}", f"90378-{generic}"}
    # ... and hour codes from the field (00777 start, 00778 end).
    for generic in re.findall(r'f"\{zone\}-(\d{3})"', source):
        used |= {f"00777-{generic}", f"00778-{generic}"}
    return used


def test_every_code_the_rules_use_is_in_the_catalogue() -> None:
    used = codes_used_by_the_rules()
    assert len(used) > 70
    assert used - set(CATALOGUE) == set()


def test_catalogue_has_no_unused_code() -> None:
    assert set(CATALOGUE) - codes_used_by_the_rules() == set()


def test_every_code_has_a_generic_label_and_a_zone_tag() -> None:
    for code, info in CATALOGUE.items():
        assert re.fullmatch(r"\d{5}-\d{3}", code)
        assert code[-3:] in GENERIC_LABELS, code
        assert code[:5] in ZONE_TAGS, code
        assert info.tag and info.description_fr and info.description_nl


def test_only_the_used_generic_codes_are_listed() -> None:
    assert {code[-3:] for code in CATALOGUE} == set(GENERIC_LABELS)
    assert len(GENERIC_LABELS) == 35


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_class_of_every_code(code: str) -> None:
    expected = Severity.NP if code in NON_BLOCKING else Severity.B
    assert CATALOGUE[code].severity == expected
    assert anomaly(code).blocking is (expected == Severity.B)


@pytest.mark.parametrize(
    ("generic", "fr", "nl"),
    [
        ("001", "Non présent", "Niet aanwezig"),
        ("003", "Invalide", "Ongeldig"),
        ("005", "Interdit", "Verboden"),
        ("008", "Pas dans le domaine de définition", "Niet in het toegelaten domein"),
        ("369", "Dépassement du contingent", "Overschrijding van het contingent"),
        ("460", "Déclaration tardive", "Laattijdige aangifte"),
    ],
)
def test_annex_30_labels(generic: str, fr: str, nl: str) -> None:
    assert GENERIC_LABELS[generic] == (fr, nl)
    assert label(f"00910-{generic}") == (fr, nl)


def test_tags_are_the_batch_form_tags() -> None:
    assert CATALOGUE["00910-001"].tag == "StartingDate"
    assert CATALOGUE["00024-003"].tag == "INSS"
    assert CATALOGUE["90373-333"].tag == "DimonaIn"
    assert CATALOGUE["90378-444"].tag == "DimonaUpdate"
    assert CATALOGUE["90017-369"].tag == "PlannedHoursNbr"


def test_spec_quota_item() -> None:
    quota = quota_exceeded("STUDENT", 2026, 650, 662)
    item = anomaly("90017-369", value=8, quota=quota)
    assert to_rest_item(item) == {
        "code": "90017-369",
        "errorId": "90017-369",
        "severity": "NP",
        "label": {"fr": "Dépassement du contingent", "nl": "Overschrijding van het contingent"},
        "descriptionFr": "Dépassement du contingent étudiant : 12 heures (année 2026)",
        "descriptionNl": "Overschrijding van het studentencontingent: 12 uren (jaar 2026)",
        "tagName": "PlannedHoursNbr",
        "value": "8",
        "quota": {"type": "STUDENT", "year": 2026, "limitHours": 650, "exceedingHoursNbr": 12},
    }


def test_exceeding_amount_is_capped_at_999_and_never_negative() -> None:
    assert quota_exceeded("STUDENT", 2026, 650, 1649).exceeding_hours == 999
    assert quota_exceeded("STUDENT", 2026, 650, 1650).exceeding_hours == 999
    assert quota_exceeded("STUDENT", 2026, 650, 1648).exceeding_hours == 998
    assert quota_exceeded("STUDENT", 2026, 650, 600).exceeding_hours == 0


def test_art17_quota_is_blocking() -> None:
    item = anomaly("90017-369", quota=quota_exceeded("ART17", 2026, 300, 310))
    assert item.severity == Severity.B
    assert item.description_fr == "Dépassement du contingent article 17 : 10 heures (année 2026)"
    assert to_rest_item(item)["quota"]["type"] == "ART17"


def test_days_quota_item() -> None:
    item = anomaly("90017-369", quota=quota_exceeded("STUDENT", 2015, 50, 53, "days"))
    assert item.description_nl == "Overschrijding van het studentencontingent: 3 dagen (jaar 2015)"
    assert to_rest_item(item)["quota"] == {
        "type": "STUDENT",
        "year": 2015,
        "limitDays": 50,
        "exceedingDaysNbr": 3,
    }


def test_item_without_optional_parts() -> None:
    item = to_rest_item(Anomaly(code="00910-001", severity=Severity.B))
    assert item == {
        "code": "00910-001",
        "errorId": "00910-001",
        "severity": "B",
        "label": {"fr": "Non présent", "nl": "Niet aanwezig"},
        "descriptionFr": "Non présent",
        "descriptionNl": "Niet aanwezig",
    }


def test_helper_fills_class_tag_and_specific_descriptions() -> None:
    item = anomaly("00024-003", value="88022999991", path="worker.ssin")
    assert (item.severity, item.tag, item.value, item.path) == (
        Severity.B,
        "INSS",
        "88022999991",
        "worker.ssin",
    )
    assert (item.description_fr, item.description_nl) == ("NISS invalide", "Ongeldig INSZ")
    rest = to_rest_item(item)
    assert rest["label"] == {"fr": "Invalide", "nl": "Ongeldig"}
    assert (rest["tagName"], rest["value"]) == ("INSS", "88022999991")


def test_helper_overrides() -> None:
    item = anomaly(
        "90017-151", tag="INSS", description_fr="Inconnu au registre", description_nl="Onbekend"
    )
    assert (item.tag, item.description_fr, item.description_nl) == (
        "INSS",
        "Inconnu au registre",
        "Onbekend",
    )
    assert anomaly("90017-369", severity=Severity.W).severity == Severity.W


def test_unknown_code_is_refused() -> None:
    with pytest.raises(KeyError):
        anomaly("99999-999")


def test_quota_value_object() -> None:
    assert Quota("STUDENT", 2026, 650, 12).unit == "hours"
