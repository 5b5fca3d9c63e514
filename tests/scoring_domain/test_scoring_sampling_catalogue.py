"""The T sample (stratified, reproducible), the catalogue's validation and versions, the
evaluation and due dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import yaml

from socsec.scoring.domain import catalogue
from socsec.scoring.domain.ledger import LedgerCsvError, parse_csv
from socsec.scoring.domain.periods import due_dates, evaluation_date, parse_period
from socsec.scoring.domain.sampling import Unit, allocate, draw

Z, P, E = D("1.96"), D("0.5"), D("0.05")


def population(n: int) -> list[Unit]:
    kinds = ["WHITE_COLLAR"] * 6 + ["BLUE_COLLAR"] * 3 + ["STUDENT"]
    return [Unit(key=(f"{i:09d}", f"{i:011d}"), stratum=kinds[i % 10]) for i in range(n)]


def test_sample_is_of_the_computed_size_stratified_and_reproducible() -> None:
    units = population(2000)
    size, first = draw(units, "seed-1", z=Z, p=P, e=E)
    assert size == 2000 and len(first) == 323
    by_stratum = {s: sum(1 for u in first if u.stratum == s) for s in {u.stratum for u in first}}
    # Proportional: 60 %, 30 %, 10 % of 323 = 193.8, 96.9, 32.3 -> 194, 97, 32.
    assert by_stratum == {"WHITE_COLLAR": 194, "BLUE_COLLAR": 97, "STUDENT": 32}
    assert len({u.key for u in first}) == 323  # without replacement
    # The same seed draws the same sample, whatever order the population is read in.
    _, again = draw(list(reversed(units)), "seed-1", z=Z, p=P, e=E)
    assert again == first
    _, other = draw(units, "seed-2", z=Z, p=P, e=E)
    assert other != first and len(other) == 323


def test_allocation_uses_largest_remainders() -> None:
    assert allocate({"a": 1, "b": 1, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}
    assert sum(allocate({"a": 7, "b": 5, "c": 1}, 10).values()) == 10


def _data() -> dict:
    text = catalogue.resources.files("socsec.scoring.catalogue").joinpath("default.yaml")
    return yaml.safe_load(text.read_text())


def test_default_catalogue_is_the_spec() -> None:
    cat = catalogue.load()
    v = cat.for_quarter(20261)
    assert {i.code: i.weight for i in v.domains["S"].indicators} == {
        "S1": D("1.0"),
        "S2": D("0.6"),
        "S3": D("0.6"),
        "S4": D("0.3"),
    }
    assert v.domains["F"].applies_to == "approved"
    assert (
        v.domains["AP"].param("target_days") == 60 and v.domains["ANP"].param("target_days") == 120
    )
    assert v.domains["C"].evaluation_offset == "N+6M"


def test_a_new_version_applies_from_its_quarter_on() -> None:
    data = _data()
    newer = yaml.safe_load(yaml.safe_dump(data["versions"][0]))
    newer["catalogue_version"], newer["valid_from_quarter"] = "2026.1", 20262
    newer["domains"]["S"]["indicators"][3]["weight"] = 0.5
    data["versions"].append(newer)
    cat = catalogue.parse(data)
    assert cat.for_period("20261").catalogue_version == "2017.1"
    assert cat.for_period("20262").catalogue_version == "2026.1"
    assert cat.for_period("2026").catalogue_version == "2017.1"  # a year: its first quarter
    assert cat.for_period("2027").catalogue_version == "2026.1"
    with pytest.raises(ValueError, match="no catalogue version"):
        cat.for_quarter(20164)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v["domains"]["S"]["indicators"][0].update(weight=1.5), "wpu weights"),
        (lambda v: v["domains"].pop("C"), "domains must be exactly"),
        (lambda v: v["domains"]["F"].update(applies_to="provider"), "never applies to providers"),
        (lambda v: v["domains"]["AP"].update(evaluation_offset="Q+6X"), "evaluation_offset"),
        (lambda v: v["domains"]["AP"]["parameters"].pop("floor"), "floor"),
        (lambda v: v.update(valid_from_quarter=20265), "not YYYYQ"),
    ],
)
def test_invalid_catalogues_are_refused_with_the_reason(change, message) -> None:
    data = _data()
    change(data["versions"][0])
    with pytest.raises(catalogue.CatalogueError, match=message):
        catalogue.parse(data)


def test_versions_must_grow(tmp_path) -> None:
    data = _data()
    data["versions"].append(yaml.safe_load(yaml.safe_dump(data["versions"][0])))
    data["versions"][1]["catalogue_version"] = "2016.1"
    data["versions"][1]["valid_from_quarter"] = 20161
    path = tmp_path / "cat.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(catalogue.CatalogueError, match="strictly increasing"):
        catalogue.load(path)
    path.write_text("versions: [")
    with pytest.raises(catalogue.CatalogueError, match="not valid YAML"):
        catalogue.load(path)


def test_evaluation_and_due_dates() -> None:
    assert evaluation_date("Q+6M", "20261") == date(2026, 9, 30)
    assert evaluation_date("Q+1Q", "20264") == date(2027, 3, 31)
    assert evaluation_date("N+6M", "2025") == date(2026, 6, 30)
    assert evaluation_date("CAMPAIGN", "20261") is None
    # dmfa.md §8: Q1 2025 balance due 30 April + 15 working days = 22 May (1 May skipped).
    assert due_dates(20251, balance_extra_working_days=15) == {
        "P1": date(2025, 2, 5),
        "P2": date(2025, 3, 5),
        "P3": date(2025, 4, 5),
        "BALANCE": date(2025, 5, 22),
    }
    assert due_dates(20254)["P3"] == date(2026, 1, 5)
    assert parse_period("2026-1") == "20261" and parse_period("2026") == "2026"
    with pytest.raises(ValueError):
        parse_period("2026-5")


def test_ledger_csv_errors_name_every_bad_line() -> None:
    text = (
        "employer,quarter,item,direction,amount,date,reference\n"
        "155555504,20261,P1,DUE,100.00,2026-02-05,R1\n"
        "15555550,20261,P1,DUE,100.00,2026-02-05,R2\n"
        "155555504,20265,P9,PAID,1.001,2026-02-31,R3\n"
        "155555504,20261,P1,DUE,100.00,2026-02-05,R1\n"
    )
    with pytest.raises(LedgerCsvError) as caught:
        parse_csv(text, max_rows=100)
    errors = caught.value.errors
    assert any(e.startswith("line 3: employer") for e in errors)
    assert any(e.startswith("line 4:") and "decimals" in e for e in errors)
    assert any(e.startswith("line 5:") and "repeats line 2" in e for e in errors)
    good = parse_csv(text.splitlines()[0] + "\n" + text.splitlines()[1] + "\n", max_rows=10)
    assert good[0].amount_cents == 10_000 and good[0].on_date == date(2026, 2, 5)
