"""DmfA declarations for the tests, built as plain dicts that mirror the XML labels.

The same dict is the REST body (dmfa.md §1) and, through :func:`form_xml` (written here,
independently of the service), the batch ``Form``. The base sample is the employer-C
declaration of dmfa.md §5 for quarter 2025/1, made consistent so that it is accepted without
anomaly: a white-collar full-timer (JC 200, 810 000 cents, contribution 308 367) and a
blue-collar part-timer (2.5 days a week from 6 January to 28 February 2025, 912 000 cents
taken at 108 %, contribution 374 974).
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from socsec.contracts.identifiers import nsso_number_from
from socsec.dmfa.domain.checks import Facts, Rules
from socsec.dmfa.domain.model import Employer
from socsec.dmfa.main import load_tables

SCHEMAS = "/work/shared/nsso-schemas"

NSSO_A, KBO_A = "123456749", "0123456749"  # employer A, mandate PayPro
NSSO_B, KBO_B = "187654356", "0876543270"  # employer B, mandate PayPro
NSSO_C, KBO_C = "155555504", "0555555523"  # employer C, mandate Exemplum (branch Gent)
NSSO_D, KBO_D = "111111171", "0812345603"  # employer D, mandate Exemplum (seat)

WHITE_COLLAR = "95050530028"
BLUE_COLLAR = "88041212434"
OTHER_ADULT = "85073003328"
STUDENT = "05031512367"

TODAY = date(2025, 5, 26)  # the day of the §5 example declaration (a Monday)


def white_collar_person(sequence: int = 1, inss: str = WHITE_COLLAR, **occupation: Any) -> dict:
    return {
        "NaturalPersonSequenceNbr": sequence,
        "INSS": inss,
        "WorkerRecord": [
            {
                "EmployerClass": "010",
                "WorkerCode": "495",
                "NOSSQuarterStartingDate": "2025-01-01",
                "NOSSQuarterEndingDate": "2025-03-31",
                "Border": 0,
                "Occupation": [
                    {
                        "OccupationSequenceNbr": 1,
                        "OccupationStartingDate": "2023-01-09",
                        "OccupationEndingDate": None,
                        "JointCommissionNbr": "200",
                        "WorkingDaysSystem": 500,
                        "ContractType": 0,
                        "RefMeanWorkingHours": 3800,
                        "MeanWorkingHours": 3800,
                        "Retired": 0,
                        "OccupationVersionNbr": None,  # modifications only
                        "LocalUnitID": "3555555586",
                        "OccupationInformations": None,
                        "Service": [
                            {"ServiceSequenceNbr": 1, "ServiceCode": "001", "ServiceNbrDays": 6400}
                        ],
                        "Remun": [
                            {"RemunSequenceNbr": 1, "RemunCode": "001", "RemunAmount": 810000}
                        ],
                        **occupation,
                    }
                ],
                "WorkerContribution": [
                    {
                        "ContributionWorkerCode": "495",
                        "ContributionType": 0,
                        "ContributionCalculationBasis": 810000,
                        "ContributionAmount": 308367,
                    }
                ],
            }
        ],
    }


def blue_collar_person(sequence: int = 2, inss: str = BLUE_COLLAR, days: int = 1600) -> dict:
    return {
        "NaturalPersonSequenceNbr": sequence,
        "INSS": inss,
        "WorkerRecord": [
            {
                "EmployerClass": "010",
                "WorkerCode": "015",
                "NOSSQuarterStartingDate": "2025-01-01",
                "NOSSQuarterEndingDate": "2025-03-31",
                "Border": 0,
                "Occupation": [
                    {
                        "OccupationSequenceNbr": 1,
                        "OccupationStartingDate": "2025-01-06",
                        "OccupationEndingDate": "2025-02-28",
                        "JointCommissionNbr": "124",
                        "WorkingDaysSystem": 250,
                        "ContractType": 1,
                        "RefMeanWorkingHours": 3800,
                        "MeanWorkingHours": 1900,
                        "Retired": 0,
                        "OccupationVersionNbr": None,  # modifications only
                        "OccupationInformations": None,
                        "Service": [
                            {
                                "ServiceSequenceNbr": 1,
                                "ServiceCode": "001",
                                "ServiceNbrDays": days,
                                "ServiceNbrHours": 12160,
                            }
                        ],
                        "Remun": [
                            {"RemunSequenceNbr": 1, "RemunCode": "001", "RemunAmount": 912000}
                        ],
                    }
                ],
                "WorkerContribution": [
                    {
                        "ContributionWorkerCode": "015",
                        "ContributionType": 1,
                        "ContributionCalculationBasis": 984960,
                        "ContributionAmount": 374974,
                    }
                ],
            }
        ],
    }


def student_person(sequence: int = 3, inss: str = STUDENT, hours: int = 120) -> dict:
    return {
        "NaturalPersonSequenceNbr": sequence,
        "INSS": inss,
        "WorkerRecord": [
            {
                "EmployerClass": "010",
                "WorkerCode": "841",
                "NOSSQuarterStartingDate": "2025-01-01",
                "NOSSQuarterEndingDate": "2025-03-31",
                "Border": 0,
                "StudentContribution": {
                    "StudentRemunAmount": 150000,
                    "StudentContributionAmount": 12195,
                    "StudentHoursNbr": hours,
                },
            }
        ],
    }


def clean(value: Any) -> Any:
    """The value without its ``None`` placeholders (they keep the schema's order of the keys
    a test may fill in)."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def net_owed(employer: dict) -> int:
    """Σ declared contributions − Σ deductions, the way a payroll package computes it."""
    total = 0
    for person in employer.get("NaturalPerson", []):
        for line in person["WorkerRecord"]:
            total += sum(c["ContributionAmount"] for c in line.get("WorkerContribution", []))
            student = line.get("StudentContribution")
            if student:
                total += student["StudentContributionAmount"]
    total += sum(u["UnrelatedAmount"] for u in employer.get("ContributionUnrelatedToNP", []))
    return total


def original(
    persons: list[dict] | None = None,
    *,
    quarter: int = 20251,
    nsso: str = NSSO_C,
    company: str = KBO_C,
    net: int | None = None,
    reference: str | None = "EXEMPLUM-2025-1-C",
) -> dict:
    """The body of an original declaration (REST) / the content of its Form (batch)."""
    persons = persons if persons is not None else [white_collar_person(), blue_collar_person()]
    employer: dict[str, Any] = {
        "Quarter": quarter,
        "NOSSRegistrationNbr": nsso,
        "Trusteeship": 0,
        "CompanyID": company,
        "NetOwedAmount": 0,
        "NaturalPerson": clean(copy.deepcopy(persons)),
    }
    employer["NetOwedAmount"] = net_owed(employer) if net is None else net
    body: dict[str, Any] = {}
    if reference:
        body["Reference"] = [{"ReferenceType": 1, "ReferenceOrigin": 1, "ReferenceNbr": reference}]
    body["EmployerDeclaration"] = employer
    return body


def update_body(
    pid: int,
    persons: list[dict],
    *,
    quarter: int = 20251,
    nsso: str = NSSO_C,
    company: str = KBO_C,
    justification: str | None = "Contribution recomputed; JC corrected",
) -> dict:
    block: dict[str, Any] = {
        "Quarter": quarter,
        "NOSSRegistrationNbr": nsso,
        "Trusteeship": 0,
        "CompanyID": company,
        "EmployerDeclarationPID": pid,
    }
    if justification:
        block["Justification"] = justification
    block["NaturalPersonUpdate"] = clean(copy.deepcopy(persons))
    return {"EmployerDeclarationUpdate": block}


def person_update(
    person: dict, pids: dict, line: dict, *, action: int = 1, last: dict | None = None
) -> dict:
    """A NaturalPersonUpdate quoting the PIDs of a notification's ``pids`` person."""
    record = {k: v for k, v in line.items() if k not in ("Occupation",)}
    content: dict[str, Any] = {
        "EmployerClass": record["EmployerClass"],
        "WorkerCode": record["WorkerCode"],
        "NOSSQuarterStartingDate": record["NOSSQuarterStartingDate"],
        "NOSSQuarterEndingDate": record["NOSSQuarterEndingDate"],
        "Border": record["Border"],
        "UpdateAction": action,
    }
    if "Occupation" in line:
        content["OccupationUpdate"] = line["Occupation"]
    for key in ("WorkerContribution", "StudentContribution"):
        if key in line:
            content[key] = line[key]
    update: dict[str, Any] = {"WorkerRecordUpdateAction": content}
    if last is not None:
        update = {"LastSituationWR": last, **update}
    return {
        "NaturalPersonSequenceNbr": person["NaturalPersonSequenceNbr"],
        "INSS": person["INSS"],
        "NaturalPersonPID": pids["natural_person_pid"],
        "DeclNaturalPersonPID": pids["decl_natural_person_pid"],
        "DeclNaturalPersonVersionNbr": pids["decl_natural_person_version_nbr"],
        "WorkerRecordUpdate": [update],
    }


# -- XML ---------------------------------------------------------------------------------------

HEADER = {
    "DMFA": ("DmfAOriginal", "DMFA", 0, "DmfAOriginal_20223.xsd"),
    "DMWA": ("DmfAUpdate", "DMFAUPD", 1, "DmfAUpdate_20223.xsd"),
}


def _xml(tag: str, value: Any) -> str:
    if isinstance(value, dict):
        inner = "".join(
            _xml(k, one)
            for k, v in value.items()
            if v is not None
            for one in (v if isinstance(v, list) else [v])
        )
        return f"<{tag}>{inner}</{tag}>"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def form_xml(body: dict, file_type: str = "DMFA", created: datetime | None = None) -> str:
    """The batch ``Form`` of a body, header first (in the order of the schema)."""
    _, identification, attestation, _ = HEADER[file_type]
    created = created or datetime(2025, 5, 26, 10, 0)
    head = {
        "Identification": identification,
        "FormCreationDate": created.date().isoformat(),
        "FormCreationHour": created.strftime("%H:%M:%S.000"),
        "AttestationStatus": attestation,
        "TypeForm": "SU",
    }
    return _xml("Form", {**head, **body})


def document_xml(forms: list[str], file_type: str = "DMFA") -> str:
    root, _, _, xsd = HEADER[file_type]
    return (
        f'<{root} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="{xsd}">{"".join(forms)}</{root}>'
    )


def schema_errors(document: str, file_type: str = "DMFA") -> list[str]:
    """Validation against the official schema, where it is kept (never copied)."""
    _, _, _, xsd = HEADER[file_type]
    schema = etree.XMLSchema(etree.parse(f"{SCHEMAS}/{xsd}"))
    ok = schema.validate(etree.fromstring(document.encode()))
    return [] if ok else [str(e) for e in schema.error_log]


def form_element(body: dict, file_type: str = "DMFA") -> Any:
    return etree.fromstring(form_xml(body, file_type).encode())


# -- domain fixtures -----------------------------------------------------------------------------

TABLES = load_tables()


def rules(**overrides: Any) -> Rules:
    return Rules(**{"tables": TABLES, **overrides})


def employer(
    nsso: str = NSSO_C,
    kbo: str = KBO_C,
    classes: tuple = (("010", 20031, None),),
    registered_from: date = date(2010, 1, 1),
    registered_to: date | None = None,
) -> Employer:
    return Employer(nsso, kbo, registered_from, registered_to, classes)


def facts(**overrides: Any) -> Facts:
    """What the registry and the stores say for employer C on the business day."""
    values: dict[str, Any] = {
        "today": TODAY,
        "by_nsso": employer(),
        "by_enterprise": employer(),
        "nsso_in_registry": True,
        "mandate_ok": True,
    }
    values.update(overrides)
    return Facts(**values)


def other_nsso(n: int) -> str:
    """A valid NSSO number that is not one of the reference employers."""
    return nsso_number_from(1_300_000 + n)
