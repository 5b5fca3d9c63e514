"""The demo's reference data, in the import format, for ``socsec registry seed-demo``.

Two parts, both data and nothing the service's rules depend on:

- ``demo_reference.json`` beside this module: the shared synthetic set of
  ``shared/domain/README.md`` §5 (Exemplum with its branches, PayPro, employers A to D,
  their mandates and senders, the listed workers) plus two more approved secretariats
  (Horizon, Noorderlicht; three in all, Exemplum with two branches) and a second provider
  (Loonwerk);
- :func:`generated_data`: fifty more employers spread over the five mandataries, with
  their mandates (DIMONA and DMFA, plus CONTRIBUTION_COLLECTION through an approved
  secretariat), a few employers' own senders and more workers, every number with valid
  check digits.

The result is deterministic, so seeding twice changes nothing.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib import resources
from typing import Any

from socsec.contracts.identifiers import nsso_number_from
from socsec.registry.domain.workers import insz_number

#: Generated employers go round these mandataries (id, approved?, seat, branches).
_MANDATARIES = (
    ("M-EXEMPLUM", True, ("S-EXEMPLUM-BXL", "B-EXEMPLUM-GENT", "B-EXEMPLUM-LIEGE")),
    ("M-HORIZON", True, ("S-HORIZON-NAMUR",)),
    ("M-NOORDERLICHT", True, ("S-NOORDERLICHT-ANTWERPEN",)),
    ("M-PAYPRO", False, ("S-PAYPRO-BXL",)),
    ("M-LOONWERK", False, ("S-LOONWERK-LEUVEN",)),
)
_DUTCH = {"M-NOORDERLICHT", "M-LOONWERK"}
_TRADES = (
    "Bakery",
    "Garage",
    "Bistro",
    "Logistics",
    "Cleaning",
    "Printing",
    "Dental Practice",
    "Florist",
    "Construction",
    "Software",
)
_FAMILY = ("Mertens", "Willems", "Jacobs", "Goossens", "Martin", "Simon", "Lemaire", "Hermans")
_GIVEN_M = ("Noah", "Louis", "Arthur", "Jules", "Victor")
_GIVEN_F = ("Olivia", "Louise", "Mila", "Alice", "Juliette")


def reference_data() -> dict[str, list[dict[str, Any]]]:
    """The fixed demo set (README §5 and the other mandataries), in the import format."""
    text = resources.files("socsec.registry").joinpath("demo_reference.json").read_text("utf-8")
    return json.loads(text)


def enterprise_number(base8: int) -> str:
    """A valid 10-digit enterprise number from 8 leading digits (mod-97 check)."""
    return f"{base8:08d}{97 - base8 % 97:02d}"


def generated_data(count: int = 50) -> dict[str, list[dict[str, Any]]]:
    """``count`` more employers with their mandates, some senders, and twenty workers."""
    employers, mandates, senders, workers = [], [], [], []
    for i in range(count):
        mandatary, approved, points = _MANDATARIES[i % len(_MANDATARIES)]
        nsso = nsso_number_from(1_400_000 + i * 37)
        registered = date(2005 + i // 12, 1 + i % 12, 1)
        language = "de" if i % 10 == 9 else ("nl" if mandatary in _DUTCH else "fr")
        employers.append(
            {
                "nsso_number": nsso,
                "enterprise_number": enterprise_number(3_000_000 + i * 1_013),
                "name": f"{_TRADES[i % len(_TRADES)]} Demo {i + 1:02d}",
                "language": language,
                "registered_from": registered.isoformat(),
                "employer_classes": [
                    {
                        "employer_class": "000",
                        "from_quarter": registered.year * 10 + (registered.month - 1) // 3 + 1,
                    }
                ],
                "public_sector": i % 17 == 16,
            }
        )
        valid_from = date(2022 + i // 24, 1 + i % 12, 1)
        scopes = ["DIMONA", "DMFA"] + (["CONTRIBUTION_COLLECTION"] if approved else [])
        mandates.append(
            {
                "id": f"MD-DEMO-{i + 1:03d}",
                "employer_nsso": nsso,
                "mandatary_id": mandatary,
                "affiliation_point": points[(i // len(_MANDATARIES)) % len(points)],
                "scopes": scopes,
                "written_mandate_ref": f"DEMO-{valid_from.year}-{i + 1:04d}",
                "signed_on": (valid_from - timedelta(days=20)).isoformat(),
                "proxy_registered_on": (valid_from - timedelta(days=10)).isoformat(),
                "valid_from": valid_from.isoformat(),
            }
        )
        if i % 10 == 4:  # a few employers also send their own files
            senders.append(
                {"sender_number": f"09{i:04d}", "holder": nsso, "environments": ["R", "T"]}
            )
    for i in range(20):
        born = date(1970 + i, 1 + i % 12, 1 + (i * 3) % 28)
        male = i % 2 == 0
        workers.append(
            {
                "inss": insz_number(born, 101 + 2 * i + (0 if male else 1)),
                "family_name": _FAMILY[i % len(_FAMILY)],
                "given_name": (_GIVEN_M if male else _GIVEN_F)[i % 5],
                "sex": "M" if male else "F",
                "nationality": "150",
                "flexi_eligible": i % 7 != 6,
            }
        )
    return {"employers": employers, "mandates": mandates, "senders": senders, "workers": workers}


def demo_dataset(count: int = 50) -> dict[str, list[dict[str, Any]]]:
    """The whole demo set: the fixed reference data, then the generated part."""
    data = reference_data()
    for kind, entries in generated_data(count).items():
        data.setdefault(kind, []).extend(entries)
    return data


def client_organisations(data: dict[str, list[dict[str, Any]]]) -> tuple[list[str], dict[str, str]]:
    """The organisations that get a demo API client (every mandatary, every employer with
    its own sender) and the sender number each is known by."""
    seats = {m["seat"]["id"]: m["id"] for m in data.get("mandataries", [])}
    organisations = [m["id"] for m in data.get("mandataries", [])]
    senders: dict[str, str] = {}
    for sender in data.get("senders", []):
        holder = sender["holder"]
        if holder in seats:
            senders.setdefault(seats[holder], sender["sender_number"])
        elif holder.isdigit():
            organisations.append(holder)
            senders.setdefault(holder, sender["sender_number"])
    return organisations, senders
