"""The content models of the DmfA forms the service reads, with their zone numbers.

A compact statement of what ``DmfAOriginal_20223.xsd`` and ``DmfAUpdate_20223.xsd`` say about
the elements the rules use: for each element its zone (``xs:documentation``), and either a
simple type (integer with its total digits and bounds, date, time, string) or a sequence of
slots (accepted element names, minimum and maximum occurrences). Blocks the rules do not
interpret (second pillar, public-service data, deduction details...) are *opaque*: their
presence and place are checked, not their content. The official schemas are not shipped
with the service; tests validate the samples against them.

``max = 0`` marks the identity elements the schema forbids in DmfA (name, birth data,
address of the worker): their presence is ``ZZZZZ-146``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNBOUNDED = 10**9


@dataclass(frozen=True, slots=True)
class Simple:
    """A simple element. ``kind``: ``int``, ``code`` (an integer kept as a zero-padded
    string, like ``"015"``), ``date``, ``time`` or ``str``."""

    zone: str
    kind: str
    digits: int | None = None
    lo: int | None = None
    hi: int | None = None
    enum: frozenset[str] | None = None
    min_len: int = 0
    max_len: int | None = None
    pattern: re.Pattern[str] | None = None
    #: Generic code when ``pattern`` fails (the joint committee format is 00046-003).
    pattern_code: str = "008"


#: (accepted names, min, max) of one position in a sequence.
Slot = tuple[tuple[str, ...], int, int]


@dataclass(frozen=True, slots=True)
class Complex:
    """A block: its zone, its sequence of slots, and whether its content is read."""

    zone: str
    slots: tuple[Slot, ...] = ()
    opaque: bool = False
    #: Child elements whose values name the block in an anomaly's Path (PathType order).
    keys: tuple[str, ...] = ()


def _int(zone: str, digits: int, lo: int | None = 0, hi: int | None = None) -> Simple:
    return Simple(zone, "int", digits=digits, lo=lo, hi=hi if hi is not None else 10**digits - 1)


def _code(zone: str, digits: int, hi: int | None = None) -> Simple:
    return Simple(zone, "code", digits=digits, lo=0, hi=hi if hi is not None else 10**digits - 1)


def _enum(zone: str, *values: int, digits: int = 1) -> Simple:
    return Simple(zone, "int", digits=digits, enum=frozenset(str(v) for v in values))


def _str(zone: str, max_len: int, min_len: int = 0, *values: str) -> Simple:
    return Simple(
        zone, "str", min_len=min_len, max_len=max_len, enum=frozenset(values) if values else None
    )


def _date(zone: str) -> Simple:
    return Simple(zone, "date")


def _s(*names: str, lo: int = 0, hi: int = 1) -> Slot:
    return (names, lo, hi)


def _one(*names: str) -> Slot:
    return (names, 1, 1)


def _many(*names: str, lo: int = 0, hi: int = UNBOUNDED) -> Slot:
    return (names, lo, hi)


def _forbidden(*names: str) -> tuple[Slot, ...]:
    return tuple(((n,), 0, 0) for n in names)


_JOINT_COMMITTEE = re.compile(r"\d{3}|\d{3}\.\d{2}|\d{3}\.\d{2}\.\d{2}")
_REORGANISATION = (*range(1, 9), *range(501, 518), 531, *range(541, 547), 599)

SIMPLE: dict[str, Simple] = {
    # form header
    "Identification": _str("00296", 7, 0, "DMFA", "DMFAUPD"),
    "FormCreationDate": _date("00218"),
    "FormCreationHour": Simple("00299", "time"),
    "AttestationStatus": _enum("00110", 0, 1),
    "TypeForm": _str("00297", 2, 0, "SU"),
    "ReferenceType": _enum("00221", 1),
    "ReferenceOrigin": _enum("00298", 1),
    "ReferenceNbr": _str("00222", 20, 1),
    # employer declaration
    "Quarter": Simple("00013", "int", digits=5),  # its domain is rule 00013-003
    "NOSSRegistrationNbr": _code("00011", 9, 199_999_934),
    "Trusteeship": _int("00012", 1, 0, 1),
    "CompanyID": _code("00014", 10, 1_999_999_943),
    "NetOwedAmount": _int("00015", 15),
    "System5": _int("00016", 1, 0, 1),
    "HolidayStartingDate": _date("00017"),
    "EmployerDeclarationPID": _int("00534", 11, 1),
    "Justification": _str("00545", 560),
    # natural person
    "NaturalPersonSequenceNbr": _int("00023", 7, 1),
    "INSS": _code("00024", 11),
    "SIS": _int("00167", 10),
    "WorkerName": _str("00025", 48),
    "WorkerFirstName": _str("00026", 24),
    "WorkerInitial": _str("00027", 1),
    "WorkerBirthdate": _str("00028", 10),
    "WorkerBirthplace": _str("00168", 40),
    "WorkerBirthplaceCountry": _int("00169", 5),
    "WorkerSex": _int("00029", 1, 1, 2),
    "WorkerStreet": _str("00030", 35),
    "WorkerHouseNbr": _str("00031", 10),
    "WorkerPostBox": _str("00032", 4),
    "WorkerZIPCode": _str("00033", 9),
    "WorkerCity": _str("00034", 40),
    "WorkerCountry": _int("00035", 5),
    "Nationality": _int("00119", 5),
    "NaturalPersonUserReference": _str("00615", 20),
    "NaturalPersonPID": _int("00549", 11, 1),
    "DeclNaturalPersonPID": _int("00548", 11, 1),
    "DeclNaturalPersonVersionNbr": _int("00620", 11, 1),
    # worker line
    "EmployerClass": _code("00036", 3),
    "WorkerCode": _code("00037", 3),
    "NOSSQuarterStartingDate": _date("00038"),
    "NOSSQuarterEndingDate": _date("00039"),
    "Border": _int("00040", 1, 0, 1),
    "ActivityWithRisk": _int("00041", 3),
    "LocalUnitID": _code("00042", 10),
    "WorkerRecordUserReference": _str("00616", 20),
    "WorkerRecordVersionNbr": _int("00610", 11, 1),
    "UpdateAction": _enum("00618", 0, 1, 3, 9),
    # occupation
    "OccupationSequenceNbr": _int("00043", 2, 1, 99),
    "OccupationStartingDate": _date("00044"),
    "OccupationEndingDate": _date("00045"),
    "JointCommissionNbr": Simple(
        "00046", "str", min_len=1, max_len=9, pattern=_JOINT_COMMITTEE, pattern_code="003"
    ),
    "WorkingDaysSystem": _int("00047", 3, 0, 700),
    "ContractType": _int("00050", 1, 0, 1),
    "RefMeanWorkingHours": _int("00049", 4, 1, 6000),
    "WorkerStatus": _str("00053", 2),
    "MeanWorkingHours": _int("00048", 4, 0, 6000),
    "ReorganisationMeasure": _enum("00051", *_REORGANISATION, digits=3),
    "EmploymentPromotion": _int("00052", 3),
    "Retired": _int("00054", 1, 0, 1),
    "Apprenticeship": _int("00055", 1, 1, 5),
    "RemunMethod": _int("00056", 1, 1, 3),
    "PositionCode": _int("00057", 2, 0, 99),
    "FlyingStaffClass": _int("00059", 1, 1, 3),
    "TenthOrTwelfth": _enum("00060", 10, 12, 20, digits=2),
    "OccupationUserReference": _str("00617", 20),
    "DaysJustification": _str("00625", 1, 0, *"12345678"),
    "ActivityCode": _int("00228", 5),
    "OccupationVersionNbr": _int("00619", 11, 1),
    "ShipId": _int("01195", 7),
    "StaffCode": _int("01199", 4),
    "SubsidizedMeanWorkingHours": _int("01203", 4),
    "HorecaExtra": _str("00795", 1, 0, "E"),
    # service and pay
    "ServiceSequenceNbr": _int("00061", 2, 1, 99),
    "ServiceCode": _code("00062", 3),
    "ServiceNbrDays": _int("00063", 5, 1, 36600),
    "ServiceNbrHours": _int("00064", 7, 1),
    "FlightNbrMinutes": _int("00065", 7),
    "RemunSequenceNbr": _int("00066", 2, 1, 99),
    "RemunCode": _code("00067", 3),
    "BonusPaymentFrequency": _int("00068", 2, 0, 99),
    "PercentagePaid": _int("00069", 5, 10000, 15000),
    "RemunAmount": _int("00070", 11),
    # contributions
    "ContributionWorkerCode": _code("00082", 3),
    "ContributionType": _int("00083", 1, 0, 9),
    "ContributionCalculationBasis": _int("00084", 11),
    "ContributionAmount": _int("00085", 11),
    "FirstHiringDate": _date("00896"),
    "StudentRemunAmount": _int("00076", 9),
    "StudentContributionAmount": _int("00077", 9),
    "StudentNbrDays": _int("00078", 2, 0, 50),
    "StudentHoursNbr": _int("01158", 3),
    "UnrelatedEmployerClass": _code("00019", 3),
    "UnrelatedWorkerCode": _code("00020", 3),
    "UnrelatedCalculationBasis": _int("00021", 13),
    "UnrelatedAmount": _int("00022", 13),
    "ContUnrelatedToNPVersionNbr": _int("00611", 11, 1),
    # deductions
    "DeductionCode": _code("00086", 4),
    "DeductionCalculationBasis": _int("00088", 11),
    "DeductionAmount": _int("00089", 11),
    "DeductionRightStartingDate": _date("00090"),
    "ManagementCostNbrMonths": _int("00091", 1, 1, 3),
    "ReplacedINSS": _code("00092", 11),
    "ApplicantINSS": _code("00093", 11),
    "CertificateOrigin": _int("00094", 3, 1, 5),
    # company vehicles
    "CompanyVehicleSequenceNbr": _int("00780", 5, 1),
    "LicensePlate": _str("00781", 10),
    "EcoVehicle": _int("01217", 1, 0, 1),
    # special contributions
    "GrossRefRemunAmount": _int("00071", 9, 1),
    "GrossRefRemunContributionAmount": _int("00072", 9),
    "RefNbrDays": _int("00073", 3, 1, 624),
    "SubjectionStartingDate": _date("00127"),
    "SubjectionEndingDate": _date("00129"),
    "EarlyRetirementCode": _int("00079", 1, 0, 1),
    "EarlyRetirementNbrMonths": _int("00080", 3, 1, 156),
    "EarlyRetirementContributionAmount": _int("00081", 9, 1),
}

_FORM_HEADER = (
    _one("Identification"),
    _one("FormCreationDate"),
    _one("FormCreationHour"),
    _one("AttestationStatus"),
    _one("TypeForm"),
    _s("Reference"),
)
_EMPLOYER = (
    _one("Quarter"),
    _one("NOSSRegistrationNbr"),
    _one("Trusteeship"),
    _one("CompanyID"),
)
_PERSON = (
    _one("NaturalPersonSequenceNbr"),
    _one("INSS"),
    *_forbidden(
        "SIS",
        "WorkerName",
        "WorkerFirstName",
        "WorkerInitial",
        "WorkerBirthdate",
        "WorkerBirthplace",
        "WorkerBirthplaceCountry",
        "WorkerSex",
        "WorkerStreet",
        "WorkerHouseNbr",
        "WorkerPostBox",
        "WorkerZIPCode",
        "WorkerCity",
        "WorkerCountry",
        "Nationality",
    ),
    _s("NaturalPersonUserReference"),
)
#: The worker line's alternatives flattened into one order every alternative respects; which
#: combination is allowed is checked by :func:`socsec.dmfa.domain.reading.line_variant`.
_LINE_CONTENT = (
    _many("Occupation"),
    _s("ActivationInformation"),
    _s("DismissedStatutoryWorkerContribution"),
    _s("StudentContribution"),
    _many("EarlyRetirementContribution", hi=2),
    _many("ComplementaryIndemnity"),
    _many("WorkerContribution"),
    _many("WorkerDeduction"),
    _many("IndemnityWAPM"),
)
_LINE_UPDATE_CONTENT = tuple(
    ((("OccupationUpdate",), lo, hi) if names == ("Occupation",) else (names, lo, hi))
    for names, lo, hi in _LINE_CONTENT
)


def _occupation(*, update: bool) -> tuple[Slot, ...]:
    head: list[Slot] = [
        _one("OccupationSequenceNbr"),
        _s("OccupationStartingDate"),
        _s("OccupationEndingDate"),
        _one("JointCommissionNbr"),
        _one("WorkingDaysSystem"),
        _one("ContractType"),
        _s("RefMeanWorkingHours"),
        _s("WorkerStatus"),
        _s("MeanWorkingHours"),
        _s("ReorganisationMeasure"),
        _s("EmploymentPromotion"),
        _one("Retired"),
        _s("Apprenticeship"),
        _s("RemunMethod"),
        _s("PositionCode"),
        _s("FlyingStaffClass"),
        _s("TenthOrTwelfth"),
        _s("OccupationUserReference"),
        _s("DaysJustification"),
        _s("ActivityCode"),
    ]
    if update:
        head.append(_s("OccupationVersionNbr"))
    head += [
        _s("LocalUnitID"),
        _s("ShipId"),
        _s("StaffCode"),
        _s("SubsidizedMeanWorkingHours"),
        _s("OccupationInformations"),
        _s("SecondPillarInformation"),
        _many("Service"),
        _many("Remun"),
        _many("OccupationPublicServiceData", hi=99),
        _many("ReorgMeasureInformation", hi=2),
        _many("OccupationDeduction"),
    ]
    return tuple(head)


_DEDUCTION = (
    _one("DeductionCode"),
    _s("DeductionCalculationBasis"),
    _s("DeductionAmount"),
    _s("DeductionRightStartingDate"),
    _s("ManagementCostNbrMonths"),
    _s("ReplacedINSS"),
    _s("ApplicantINSS"),
    _s("CertificateOrigin"),
)
_OPAQUE = (
    ("ActivationInformation", "90578"),
    ("OccupationInformations", "90313"),
    ("SecondPillarInformation", "90172"),
    ("OccupationPublicServiceData", "90411"),
    ("ReorgMeasureInformation", "90438"),
    ("DeductionDetail", "90108"),
    ("OccupationDeductionDetail", "90250"),
    ("ComplementaryIndemnity", "90336"),
    ("IndemnityWAPM", "90011"),
    ("CompanyVehicleUpdateAction", "90312"),
)

_COMMON_COMPLEX: dict[str, Complex] = {
    "Reference": Complex(
        "90082", (_one("ReferenceType"), _one("ReferenceOrigin"), _one("ReferenceNbr"))
    ),
    "Service": Complex(
        "90018",
        (
            _one("ServiceSequenceNbr"),
            _one("ServiceCode"),
            _one("ServiceNbrDays"),
            _s("ServiceNbrHours"),
            _s("FlightNbrMinutes"),
        ),
        keys=("ServiceSequenceNbr", "ServiceCode"),
    ),
    "Remun": Complex(
        "90019",
        (
            _one("RemunSequenceNbr"),
            _one("RemunCode"),
            _s("BonusPaymentFrequency"),
            _s("PercentagePaid"),
            _one("RemunAmount"),
        ),
        keys=("RemunSequenceNbr", "RemunCode", "BonusPaymentFrequency", "PercentagePaid"),
    ),
    "WorkerContribution": Complex(
        "90001",
        (
            _one("ContributionWorkerCode"),
            _one("ContributionType"),
            _s("ContributionCalculationBasis"),
            _one("ContributionAmount"),
            _s("FirstHiringDate"),
        ),
        keys=("ContributionWorkerCode", "ContributionType"),
    ),
    "StudentContribution": Complex(
        "90003",
        (
            _one("StudentRemunAmount"),
            _one("StudentContributionAmount"),
            _one("StudentNbrDays", "StudentHoursNbr"),
            _s("LocalUnitID"),
        ),
    ),
    "WorkerDeduction": Complex(
        "90110", (*_DEDUCTION, _many("DeductionDetail", hi=99)), keys=("DeductionCode",)
    ),
    "OccupationDeduction": Complex(
        "90109", (*_DEDUCTION, _s("OccupationDeductionDetail")), keys=("DeductionCode",)
    ),
    "DismissedStatutoryWorkerContribution": Complex(
        "90005",
        (
            _one("GrossRefRemunAmount"),
            _one("GrossRefRemunContributionAmount"),
            _one("RefNbrDays"),
            _one("SubjectionStartingDate"),
            _one("SubjectionEndingDate"),
        ),
    ),
    "EarlyRetirementContribution": Complex(
        "90042",
        (
            _one("EarlyRetirementCode"),
            _s("EarlyRetirementNbrMonths"),
            _one("EarlyRetirementContributionAmount"),
        ),
    ),
    **{name: Complex(zone, opaque=True) for name, zone in _OPAQUE},
}

ORIGINAL_COMPLEX: dict[str, Complex] = {
    **_COMMON_COMPLEX,
    "Form": Complex("90059", (*_FORM_HEADER, _one("EmployerDeclaration"))),
    "EmployerDeclaration": Complex(
        "90007",
        (
            *_EMPLOYER,
            _one("NetOwedAmount"),
            _s("System5"),
            _s("HolidayStartingDate"),
            _many("NaturalPerson"),
            _many("CompanyVehicle"),
            _many("ContributionUnrelatedToNP"),
        ),
        keys=("Quarter", "NOSSRegistrationNbr"),
    ),
    "NaturalPerson": Complex(
        "90017",
        (*_PERSON, _many("WorkerRecord", lo=1)),
        keys=("NaturalPersonSequenceNbr", "INSS"),
    ),
    "WorkerRecord": Complex(
        "90012",
        (
            _one("EmployerClass"),
            _one("WorkerCode"),
            _one("NOSSQuarterStartingDate"),
            _one("NOSSQuarterEndingDate"),
            _one("Border"),
            _s("ActivityWithRisk"),
            _s("LocalUnitID"),
            _s("WorkerRecordUserReference"),
            *_LINE_CONTENT,
        ),
        keys=("EmployerClass", "WorkerCode"),
    ),
    "Occupation": Complex("90015", _occupation(update=False), keys=("OccupationSequenceNbr",)),
    "CompanyVehicle": Complex(
        "90294",
        (_one("CompanyVehicleSequenceNbr"), _one("LicensePlate"), _s("EcoVehicle")),
    ),
    "ContributionUnrelatedToNP": Complex(
        "90002",
        (
            _one("UnrelatedEmployerClass"),
            _one("UnrelatedWorkerCode"),
            _s("UnrelatedCalculationBasis"),
            _one("UnrelatedAmount"),
        ),
        keys=("UnrelatedEmployerClass", "UnrelatedWorkerCode"),
    ),
}

UPDATE_COMPLEX: dict[str, Complex] = {
    **_COMMON_COMPLEX,
    "Form": Complex("90059", (*_FORM_HEADER, _one("EmployerDeclarationUpdate"))),
    "EmployerDeclarationUpdate": Complex(
        "90219",
        (
            *_EMPLOYER,
            _s("System5"),
            _s("HolidayStartingDate"),
            _one("EmployerDeclarationPID"),
            _s("Justification"),
            _many("NaturalPersonUpdate"),
            _many("CompanyVehicleUpdateAction"),
            _many("ContributionUnrelatedToNPUpdate"),
        ),
        keys=("Quarter", "NOSSRegistrationNbr"),
    ),
    "NaturalPersonUpdate": Complex(
        "90220",
        (
            *_PERSON,
            _s("NaturalPersonPID"),
            _s("DeclNaturalPersonPID"),
            _s("DeclNaturalPersonVersionNbr"),
            _s("Justification"),
            _many("WorkerRecordUpdate", lo=1),
        ),
        keys=("NaturalPersonSequenceNbr", "INSS"),
    ),
    "WorkerRecordUpdate": Complex(
        "90223", (_s("LastSituationWR"), _one("WorkerRecordUpdateAction"))
    ),
    "LastSituationWR": Complex(
        "90221", (_one("EmployerClass"), _one("WorkerCode"), _one("WorkerRecordVersionNbr"))
    ),
    "WorkerRecordUpdateAction": Complex(
        "90225",
        (
            _one("EmployerClass"),
            _one("WorkerCode"),
            _s("NOSSQuarterStartingDate"),
            _s("NOSSQuarterEndingDate"),
            _s("Border"),
            _s("ActivityWithRisk"),
            _s("LocalUnitID"),
            _s("WorkerRecordUserReference"),
            _one("UpdateAction"),
            *_LINE_UPDATE_CONTENT,
        ),
        keys=("EmployerClass", "WorkerCode"),
    ),
    "OccupationUpdate": Complex("90211", _occupation(update=True), keys=("OccupationSequenceNbr",)),
    "ContributionUnrelatedToNPUpdate": Complex(
        "90224", (_s("LastSituationCUNP"), _one("CUNPUpdateAction"))
    ),
    "LastSituationCUNP": Complex(
        "90222",
        (
            _one("UnrelatedEmployerClass"),
            _one("UnrelatedWorkerCode"),
            _one("ContUnrelatedToNPVersionNbr"),
        ),
    ),
    "CUNPUpdateAction": Complex(
        "90237",
        (
            _one("UnrelatedEmployerClass"),
            _one("UnrelatedWorkerCode"),
            _s("UnrelatedCalculationBasis"),
            _s("UnrelatedAmount"),
            _one("UpdateAction"),
        ),
        keys=("UnrelatedEmployerClass", "UnrelatedWorkerCode"),
    ),
}

#: Zone of every element either message knows (for anomalies on unknown places).
ZONES: dict[str, str] = {
    **{name: spec.zone for name, spec in SIMPLE.items()},
    **{name: spec.zone for name, spec in ORIGINAL_COMPLEX.items()},
    **{name: spec.zone for name, spec in UPDATE_COMPLEX.items()},
}

#: Block numbers of the original and their twins in a modification (dmfa.md §6).
UPDATE_TWINS: dict[str, str] = {
    "90007": "90219",
    "90017": "90220",
    "90012": "90225",
    "90015": "90211",
    "90002": "90237",
}
ORIGINAL_OF_TWIN: dict[str, str] = {v: k for k, v in UPDATE_TWINS.items()}

#: Root element, Identification and AttestationStatus of each message (dmfa.md §1).
MESSAGES = {
    "DMFA": ("DmfAOriginal", "DMFA", 0, "EmployerDeclaration"),
    "DMWA": ("DmfAUpdate", "DMFAUPD", 1, "EmployerDeclarationUpdate"),
}
SCHEMA_VERSION = "20223"
