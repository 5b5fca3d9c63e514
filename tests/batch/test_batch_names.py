"""File names of the transfer point and their arrival checks (batch.md §2, §4): pure."""

from __future__ import annotations

from datetime import date

import pytest

from socsec.batch.domain.names import (
    Folder,
    NameRules,
    answer_environment,
    check_name,
    out_folder,
    out_name,
    out_sequence,
    ticket,
)

TODAY = date(2026, 6, 1)


def check(name: str, *, owner: str | None = "054321", folder=Folder.IN, **rules):
    return check_name(name, owner=owner, folder=folder, today=TODAY, rules=NameRules(**rules))


@pytest.mark.parametrize(
    "name",
    [
        "FI.DIMN.054321.20260601.00001.R.1.1",
        "FS.DIMN.054321.20260601.00001.R.1.1",
        "GO.DIMN.054321.20260601.00001.R.1",
        "TD.DIMN.054321.20260601.00001.R.1",
        "FI.DMFA.054321.20260515.24AZG.R.4.1",
        "GO.DMWA.054321.20260502.0000a.R.9",
    ],
)
def test_good_names_pass(name: str) -> None:
    result = check(name)
    assert result.ok, result.errors
    assert result.name is not None and result.name.raw == name


def test_elements_of_a_name() -> None:
    name = check("FI.DMFA.054321.20260515.24AZG.R.4.2").name
    assert name is not None
    assert (name.prefix, name.file_type, name.sender) == ("FI", "DMFA", "054321")
    assert (name.created, name.sequence, name.environment) == ("20260515", "24AZG", "R")
    assert (name.parts_total, name.part_index) == (4, 2)
    assert name.set_key == "DMFA.054321.20260515.24AZG.R"
    assert name.go_name == "GO.DMFA.054321.20260515.24AZG.R.4"


@pytest.mark.parametrize(
    ("name", "error", "identified"),
    [
        ("GO.DIMN.054321.20260601.00001.R.1.1", "ACRF-107", True),
        ("GO.DIMN.054321.20260601.00001.R", "ACRF-107", True),
        ("FI.DIMN.054321.20260601.00001.R.1", "ACRF-131", True),
        ("FS.DIMN.054321.20260601.00001.R", "ACRF-132", True),
        ("FI.DIMN.054321.20260601.00001", "ACRF-131", False),
        ("FI.DIMN.54321.20260601.00001.R.1.1", "ACRF-131", False),
        ("XX.DIMN.054321.20260601.00001.R.1.1", "ACRF-129", False),
        ("FI.DMRQ.054321.20260601.00001.R.1.1", "ACRF-129", False),
        ("FI.DIMN.012345.20260601.00001.R.1.1", "ACRF-108", True),
        ("FI.DIMN.054321.2026061.00001.R.1.1", "ACRF-109", True),
        ("FI.DIMN.054321.20261301.00001.R.1.1", "ACRF-110", True),
        ("FI.DIMN.054321.2026060A.00001.R.1.1", "ACRF-110", True),
        ("FI.DIMN.054321.20260602.00001.R.1.1", "ACRF-111", True),
        ("FI.DIMN.054321.20260401.00001.R.1.1", "ACRF-126", True),
        ("FI.DIMN.054321.20260601.0001.R.1.1", "ACRF-112", True),
        ("FI.DIMN.054321.20260601.00000.R.1.1", "ACRF-127", True),
        ("FI.DIMN.054321.20260601.00001.R.12.1", "ACRF-114", True),
        ("FI.DIMN.054321.20260601.00001.R.A.1", "ACRF-115", True),
        ("FI.DIMN.054321.20260601.00001.R.0.1", "ACRF-116", True),
        ("FI.DIMN.054321.20260601.00001.X.1.1", "ACRF-117", True),
    ],
)
def test_each_name_error(name: str, error: str, identified: bool) -> None:
    result = check(name)
    assert error in result.errors, result.errors
    assert (result.name is not None) is identified


def test_configurable_name_rules() -> None:
    assert (
        "ACRF-113"
        in check("FI.DIMN.054321.20260601.0000A.R.1.1", strict_numeric_sequence=True).errors
    )
    assert check("FI.DIMN.054321.20260601.0000A.R.1.1").ok
    assert "ACRF-128" in check("FI.DIMN.054321.20260601.00001.R.4.1", max_parts=3).errors
    assert check("FI.DIMN.054321.20260401.00001.R.1.1", max_file_age_days=90).ok


@pytest.mark.parametrize(
    ("environment", "folder", "error"),
    [
        ("R", Folder.INTEST, "ACRF-118"),
        ("T", Folder.IN, "ACRF-119"),
        ("S", Folder.IN, "ACRF-119"),
        ("R", Folder.IN, None),
        ("T", Folder.INTEST, None),
        ("S", Folder.INTEST, None),
        ("R", None, None),  # an HTTP upload has no folder
    ],
)
def test_environment_and_folder(environment: str, folder, error: str | None) -> None:
    result = check(f"FI.DIMN.054321.20260601.00001.{environment}.1.1", folder=folder)
    assert result.errors == ((error,) if error else ())


def test_simulation_folder_is_configurable() -> None:
    result = check(
        "FI.DIMN.054321.20260601.00001.S.1.1", folder=Folder.IN, simulation_folder=Folder.IN
    )
    assert result.ok


def test_tickets_are_13_base36_characters_from_a_sequence() -> None:
    first, second = ticket(1), ticket(36**5 + 7)
    assert first == "3800000000001" and len(second) == 13
    assert all(c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" for c in second)
    assert len({ticket(n) for n in range(1, 2000)}) == 1999


def test_outgoing_names_and_sequences() -> None:
    assert out_name("ACRF", "FO", TODAY, out_sequence(1), "R") == "FO.ACRF.999999.20260601.00001.R"
    assert out_sequence(99_999) == "99999"
    beyond = {out_sequence(n) for n in range(100_000, 100_500)}
    assert len(beyond) == 500 and all(len(s) == 5 and s[0].isalpha() for s in beyond)
    assert out_folder("R") == Folder.OUT and out_folder("S") == Folder.OUTTEST
    assert answer_environment("X", Folder.INTEST) == "T"
    assert answer_environment(None, None) == "R"
