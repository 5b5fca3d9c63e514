"""Catalogue of the Dimona anomaly codes this system reports, and their REST rendering.

A code is ``ZZZZZ-EEE``: the zone (or block) number of the field concerned, then a generic
code of annex 30 (``EEE``). The annex's FR/NL text of ``EEE`` is the anomaly's *label*; the
*description* is a specific text (default: the label). Only the generic codes actually used
are listed here: the annex file itself is not shipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from socsec.dimona.domain.model import Anomaly, Quota, Severity

# Annex 30 (ErrorCodes 2022-1), only the generic codes this service reports: code -> (FR, NL).
GENERIC_LABELS: dict[str, tuple[str, str]] = {
    "001": ("Non présent", "Niet aanwezig"),
    "003": ("Invalide", "Ongeldig"),
    "005": ("Interdit", "Verboden"),
    "008": ("Pas dans le domaine de définition", "Niet in het toegelaten domein"),
    "014": (
        "Date de fin antérieure à la date de début",
        "Einddatum voorafgaand aan de begindatum",
    ),
    "151": ("Pas identifiable", "Niet identificeerbaar"),
    "155": ("Pas ou plus de mandat", "Geen of vervallen mandaat"),
    "235": ("Non repris au répertoire", "Niet opgenomen in het repertorium"),
    "333": ("Période Dimona en double", "Dubbele Dimonaperiode"),
    "334": ("En chevauchement", "Overlappend"),
    "341": ("Période trop longue (>24h)", "Te lange periode (>24h)"),
    "343": (
        "Employeur non- ou plus actif au répertoire des employeurs",
        "Werkgever niet (langer) actief in het werkgeversrepertorium",
    ),
    "344": ("Interdit de postposer", "Verboden uit te stellen"),
    "345": (
        "Heure de fin antérieure à l'heure de début",
        "Het einduur valt vroeger dan het beginuur",
    ),
    "347": (
        "Incompatible avec le numéro d'identification de la période Dimona",
        "Onverenigbaar met het identificatienummer van de Dimonaperiode",
    ),
    "348": ("Incompatible avec le NISS", "Onverenigbaar met het INSZ"),
    "349": (
        "Incompatibilité entre commission paritaire et type de travailleur",
        "Onverenigbaarheid tussen het paritair comité en het werknemerstype",
    ),
    "350": (
        "Type de travailleur interdit pour cet employeur",
        "Type werknemer verboden voor deze werkgever",
    ),
    "351": (
        "Numéro d'entreprise ou dénomination manquant",
        "Ondernemingsnummer of benaming ontbreekt",
    ),
    "352": (
        "Interdit de mentionner à la fois le numéro d'entreprise et la dénomination",
        "Verboden om tegelijkertijd het ondernemingsnummer en de benaming te vermelden",
    ),
    "354": (
        "Numéro d'identification de période Dimona inconnu",
        "Identificatienummer van Dimonaperiode onbekend",
    ),
    "355": (
        "Période Dimona ou enregistrement journalier déjà annulé(e)",
        "Reeds geannuleerde Dimonaperiode of dagelijkse registratie",
    ),
    "356": ("Période Dimona déjà clôturée", "Reeds afgesloten Dimonaperiode"),
    "359": (
        "Interdit de faire une déclaration de modification pour clôturer une période Dimona",
        "Verboden om een wijzigende aangifte te doen om een Dimonaperiode af te sluiten",
    ),
    "360": ("Date de début et/ou de fin obligatoire", "Begindatum en/of einddatum verplicht"),
    "362": (
        "Interdit de faire des déclarations Dimona sur une période verrouillée",
        "Verboden Dimona-aangiften te doen op een vergrendelde periode",
    ),
    "363": (
        "NISS ou données d'identification obligatoires",
        "INSZ of identificatiegegevens verplicht",
    ),
    "364": (
        "Numéro ONSS ou numéro d'entreprise obligatoire",
        "RSZ-nummer of ondernemingsnummer verplicht",
    ),
    "368": (
        "Interdit de supprimer la date de fin pour cette période",
        "Verboden de einddatum te verwijderen voor deze periode",
    ),
    "369": ("Dépassement du contingent", "Overschrijding van het contingent"),
    "421": (
        "Les dates de début et de fin de période doivent appartenir au même trimestre",
        "De begin- en einddatum van de periode moeten tot hetzelfde kwartaal behoren",
    ),
    "444": ("Aucune modification n'a été détectée", "Er zijn geen wijzigingen gevonden"),
    "459": (
        "Interdit d'avoir des périodes occasionnelles sur plus de deux jours consécutifs",
        "Verboden om periodes met gelegenheidswerknemers te hebben over meer dan twee"
        " opeenvolgende dagen",
    ),
    "460": ("Déclaration tardive", "Laattijdige aangifte"),
    "510": (
        "Conditions d'accès aux Flexi-Jobs non-respectées",
        "Toegangsvoorwaarden voor flexi-jobs niet gerespecteerd",
    ),
}

# Zone or block number -> XML tag of the batch form (Dimona_20231.xsd); REST reports it too.
ZONE_TAGS: dict[str, str] = {
    "00011": "NOSSRegistrationNbr",
    "00014": "CompanyID",
    "00024": "INSS",
    "00025": "WorkerName",
    "00026": "WorkerFirstName",
    "00028": "WorkerBirthdate",
    "00029": "WorkerSex",
    "00046": "JointCommissionNbr",
    "00131": "UsingEmployerCompanyID",
    "00652": "SubEntityNbr",
    "00655": "WorkerType",
    "00777": "StartingHour",
    "00778": "EndingHour",
    "00910": "StartingDate",
    "00911": "EndingDate",
    "00913": "DimonaPeriodId",
    "01135": "PlannedHoursNbr",
    "90017": "NaturalPerson",
    "90107": "UsingEmployer",
    "90256": "EmployerId",
    "90373": "DimonaIn",
    "90374": "DimonaFeatures",
    "90378": "DimonaUpdate",
}


@dataclass(frozen=True)
class CodeInfo:
    """One catalogue entry: class, XML tag and the specific FR/NL description."""

    severity: Severity
    tag: str
    description_fr: str
    description_nl: str


B, NP = Severity.B, Severity.NP

# code -> (class, specific FR, specific NL); the tag comes from the zone unless overridden.
_ENTRIES: dict[str, tuple[Severity, str, str]] = {
    # employer
    "90256-364": (
        B,
        "Numéro ONSS ou numéro d'entreprise de l'employeur obligatoire",
        "RSZ-nummer of ondernemingsnummer van de werkgever verplicht",
    ),
    "90256-155": (
        B,
        "L'expéditeur n'a pas ou plus de mandat Dimona pour cet employeur",
        "De afzender heeft geen (geldig) Dimona-mandaat voor deze werkgever",
    ),
    "00011-003": (B, "Numéro ONSS invalide", "Ongeldig RSZ-nummer"),
    "00014-003": (B, "Numéro d'entreprise invalide", "Ongeldig ondernemingsnummer"),
    "00011-235": (
        B,
        "Numéro ONSS inconnu au répertoire des employeurs",
        "RSZ-nummer niet opgenomen in het werkgeversrepertorium",
    ),
    "00014-235": (
        B,
        "Numéro d'entreprise inconnu au répertoire des employeurs",
        "Ondernemingsnummer niet opgenomen in het werkgeversrepertorium",
    ),
    "90373-343": (
        B,
        "Employeur non actif au répertoire à la date de début",
        "Werkgever niet actief in het repertorium op de begindatum",
    ),
    "90378-343": (
        B,
        "Employeur non actif au répertoire à la nouvelle date de début",
        "Werkgever niet actief in het repertorium op de nieuwe begindatum",
    ),
    "00011-347": (
        B,
        "Le numéro ONSS ne correspond pas à l'employeur de la période Dimona",
        "Het RSZ-nummer stemt niet overeen met de werkgever van de Dimonaperiode",
    ),
    "00014-347": (
        B,
        "Le numéro d'entreprise ne correspond pas à l'employeur de la période Dimona",
        "Het ondernemingsnummer stemt niet overeen met de werkgever van de Dimonaperiode",
    ),
    "00024-347": (
        B,
        "Le NISS ne correspond pas au travailleur de la période Dimona",
        "Het INSZ stemt niet overeen met de werknemer van de Dimonaperiode",
    ),
    # worker
    "90017-363": (
        B,
        "NISS absent et données d'identification incomplètes (nom, prénom, date de naissance)",
        "INSZ ontbreekt en identificatiegegevens onvolledig (naam, voornaam, geboortedatum)",
    ),
    "00024-001": (
        B,
        "NISS obligatoire pour un travailleur occasionnel (EXT)",
        "INSZ verplicht voor een gelegenheidswerknemer (EXT)",
    ),
    "00024-003": (B, "NISS invalide", "Ongeldig INSZ"),
    "00025-348": (
        NP,
        "Le nom ne correspond pas au NISS",
        "De naam stemt niet overeen met het INSZ",
    ),
    "00026-348": (
        NP,
        "Le prénom ne correspond pas au NISS",
        "De voornaam stemt niet overeen met het INSZ",
    ),
    "00028-348": (
        NP,
        "La date de naissance ne correspond pas au NISS",
        "De geboortedatum stemt niet overeen met het INSZ",
    ),
    "00029-348": (
        NP,
        "Le sexe ne correspond pas au NISS",
        "Het geslacht stemt niet overeen met het INSZ",
    ),
    "90017-151": (
        B,
        "Le travailleur n'a pas pu être identifié",
        "De werknemer kon niet worden geïdentificeerd",
    ),
    # features
    "00655-001": (B, "Type de travailleur obligatoire", "Type werknemer verplicht"),
    "00655-003": (B, "Type de travailleur inconnu", "Onbekend type werknemer"),
    "00655-005": (
        B,
        "Type de travailleur non autorisé à cette date",
        "Type werknemer niet toegelaten op deze datum",
    ),
    "00655-350": (
        B,
        "Type de travailleur interdit pour cet employeur",
        "Type werknemer verboden voor deze werkgever",
    ),
    "00046-001": (B, "Commission paritaire obligatoire", "Paritair comité verplicht"),
    "00046-003": (
        B,
        "Commission paritaire non admise en Dimona",
        "Paritair comité niet toegelaten in Dimona",
    ),
    "90374-349": (
        B,
        "Commission paritaire incompatible avec le type de travailleur",
        "Paritair comité onverenigbaar met het type werknemer",
    ),
    "00652-001": (
        B,
        "Numéro de sous-entité obligatoire pour cet employeur",
        "Nummer van de subentiteit verplicht voor deze werkgever",
    ),
    "00652-005": (
        B,
        "Numéro de sous-entité interdit pour cet employeur",
        "Nummer van de subentiteit verboden voor deze werkgever",
    ),
    "90107-351": (
        B,
        "Utilisateur (CP 322) : numéro d'entreprise ou dénomination manquant",
        "Gebruiker (PC 322): ondernemingsnummer of benaming ontbreekt",
    ),
    "90107-352": (
        B,
        "Utilisateur (CP 322) : numéro d'entreprise et dénomination mentionnés tous les deux",
        "Gebruiker (PC 322): ondernemingsnummer en benaming allebei vermeld",
    ),
    "00131-003": (
        B,
        "Numéro d'entreprise de l'utilisateur invalide",
        "Ongeldig ondernemingsnummer van de gebruiker",
    ),
    # dates
    "00910-001": (B, "Date de début obligatoire", "Begindatum verplicht"),
    "00910-003": (B, "Date de début invalide", "Ongeldige begindatum"),
    "00910-008": (
        B,
        "Date de début hors du domaine autorisé",
        "Begindatum buiten het toegelaten domein",
    ),
    "00911-001": (
        B,
        "Date de fin obligatoire pour ce type de période",
        "Einddatum verplicht voor dit soort periode",
    ),
    "00911-003": (B, "Date de fin invalide", "Ongeldige einddatum"),
    "00911-008": (
        B,
        "Date de fin hors du domaine autorisé",
        "Einddatum buiten het toegelaten domein",
    ),
    "00911-014": (
        B,
        "Date de fin antérieure à la date de début",
        "Einddatum voorafgaand aan de begindatum",
    ),
    "00910-005": (
        B,
        "Interdit de modifier la date de début d'une période étudiant",
        "Verboden de begindatum van een studentenperiode te wijzigen",
    ),
    "00910-344": (
        B,
        "Interdit de postposer une date de début déjà passée",
        "Verboden een reeds verstreken begindatum uit te stellen",
    ),
    "00910-459": (
        B,
        "Périodes occasionnelles sur plus de deux jours consécutifs",
        "Periodes van gelegenheidswerk over meer dan twee opeenvolgende dagen",
    ),
    # hours
    "00777-001": (B, "Heure de début obligatoire", "Beginuur verplicht"),
    "00777-003": (B, "Heure de début invalide (HHMM)", "Ongeldig beginuur (UUMM)"),
    "00777-005": (
        B,
        "Heure de début interdite pour ce type de travailleur",
        "Beginuur verboden voor dit type werknemer",
    ),
    "00778-001": (B, "Heure de fin obligatoire", "Einduur verplicht"),
    "00778-003": (B, "Heure de fin invalide (HHMM)", "Ongeldig einduur (UUMM)"),
    "00778-005": (
        B,
        "Heure de fin interdite pour ce type de travailleur",
        "Einduur verboden voor dit type werknemer",
    ),
    "00778-345": (
        B,
        "Heure de fin antérieure à l'heure de début",
        "Het einduur valt vroeger dan het beginuur",
    ),
    # planned hours
    "01135-001": (
        B,
        "Nombre d'heures planifiées obligatoire",
        "Aantal geplande uren verplicht",
    ),
    "01135-003": (
        B,
        "Nombre d'heures planifiées invalide (entier de 1 à 999)",
        "Ongeldig aantal geplande uren (geheel getal van 1 tot 999)",
    ),
    "01135-005": (
        B,
        "Nombre d'heures planifiées interdit pour ce type de travailleur",
        "Aantal geplande uren verboden voor dit type werknemer",
    ),
    # period and its block
    "90373-421": (
        B,
        "Début et fin de période dans des trimestres différents",
        "Begin en einde van de periode in verschillende kwartalen",
    ),
    "90378-421": (
        B,
        "Début et fin de période dans des trimestres différents",
        "Begin en einde van de periode in verschillende kwartalen",
    ),
    "90373-341": (B, "Période de plus de 24 heures", "Periode van meer dan 24 uur"),
    "90378-341": (B, "Période de plus de 24 heures", "Periode van meer dan 24 uur"),
    "90373-333": (
        B,
        "Une période Dimona identique existe déjà",
        "Er bestaat al een identieke Dimonaperiode",
    ),
    "90378-333": (
        B,
        "Une période Dimona identique existe déjà",
        "Er bestaat al een identieke Dimonaperiode",
    ),
    "90373-334": (
        B,
        "Chevauchement avec une période Dimona de mêmes caractéristiques",
        "Overlapping met een Dimonaperiode met dezelfde kenmerken",
    ),
    "90378-334": (
        B,
        "Chevauchement avec une période Dimona de mêmes caractéristiques",
        "Overlapping met een Dimonaperiode met dezelfde kenmerken",
    ),
    "00913-001": (
        B,
        "Numéro de période Dimona obligatoire",
        "Identificatienummer van de Dimonaperiode verplicht",
    ),
    "00913-003": (
        B,
        "Numéro de période Dimona invalide",
        "Ongeldig identificatienummer van de Dimonaperiode",
    ),
    "00913-354": (
        B,
        "Numéro de période Dimona inconnu",
        "Identificatienummer van de Dimonaperiode onbekend",
    ),
    "00913-355": (
        B,
        "Période Dimona déjà annulée",
        "Reeds geannuleerde Dimonaperiode",
    ),
    "00913-356": (
        B,
        "Période Dimona déjà clôturée",
        "Reeds afgesloten Dimonaperiode",
    ),
    "00913-359": (
        B,
        "Une période ouverte se clôture par une déclaration OUT, pas par une modification",
        "Een open periode wordt afgesloten met een OUT-aangifte, niet met een wijziging",
    ),
    "00913-362": (
        B,
        "Période verrouillée : déclaration interdite",
        "Vergrendelde periode: aangifte verboden",
    ),
    "00913-368": (
        B,
        "Interdit de supprimer la date de fin d'une période de travailleur intérimaire",
        "Verboden de einddatum van een periode van een uitzendkracht te verwijderen",
    ),
    "90378-368": (
        B,
        "Interdit de supprimer la date de fin pour ce type de travailleur",
        "Verboden de einddatum te verwijderen voor dit type werknemer",
    ),
    "90378-360": (
        B,
        "Modification sans date, heure ni nombre d'heures",
        "Wijziging zonder datum, uur of aantal uren",
    ),
    "90378-444": (
        B,
        "Aucune modification n'a été détectée",
        "Er zijn geen wijzigingen gevonden",
    ),
    # warnings
    "90017-369": (NP, "Dépassement du contingent", "Overschrijding van het contingent"),
    "90017-510": (
        NP,
        "Conditions d'accès aux flexi-jobs non remplies",
        "Toegangsvoorwaarden voor flexi-jobs niet vervuld",
    ),
    "90373-460": (NP, "Déclaration IN tardive", "Laattijdige IN-aangifte"),
    "90378-460": (NP, "Déclaration de modification tardive", "Laattijdige wijzigingsaangifte"),
}

# Where the zone's own tag would mislead: the quota concerns the planned hours (spec §3.5).
_TAG_OVERRIDES = {"90017-369": "PlannedHoursNbr"}

CATALOGUE: dict[str, CodeInfo] = {
    code: CodeInfo(severity, _TAG_OVERRIDES.get(code, ZONE_TAGS[code[:5]]), fr, nl)
    for code, (severity, fr, nl) in _ENTRIES.items()
}

QUOTA_CODE = "90017-369"
EXCEEDING_CAP = 999  # ExceedingHoursNbr has 3 digits


def label(code: str) -> tuple[str, str]:
    """The annex-30 FR and NL label of the generic part of ``code``."""
    return GENERIC_LABELS[code[-3:]]


def quota_exceeded(type_: str, year: int, limit: int, total: int, unit: str = "hours") -> Quota:
    """The quota part of a 90017-369: how much ``total`` exceeds ``limit``, capped at 999."""
    return Quota(
        type=type_,
        year=year,
        limit_hours=limit,
        exceeding_hours=min(max(total - limit, 0), EXCEEDING_CAP),
        unit=unit,
    )


def _quota_descriptions(quota: Quota) -> tuple[str, str]:
    amount = quota.exceeding_hours
    if quota.type == "STUDENT":
        what_fr, what_nl = "du contingent étudiant", "van het studentencontingent"
    else:
        what_fr, what_nl = "du contingent article 17", "van het contingent artikel 17"
    unit_fr, unit_nl = ("jours", "dagen") if quota.unit == "days" else ("heures", "uren")
    return (
        f"Dépassement {what_fr} : {amount} {unit_fr} (année {quota.year})",
        f"Overschrijding {what_nl}: {amount} {unit_nl} (jaar {quota.year})",
    )


def anomaly(
    code: str,
    *,
    value: object = None,
    tag: str | None = None,
    description_fr: str | None = None,
    description_nl: str | None = None,
    quota: Quota | None = None,
    path: str | None = None,
    severity: Severity | None = None,
) -> Anomaly:
    """Build the anomaly ``code`` with its class, tag and descriptions from the catalogue.

    A quota anomaly gets the spec's descriptions ("Dépassement du contingent étudiant :
    12 heures (année 2026)"); an art. 17 quota is blocking (§6). ``value`` is kept as text.
    Raises ``KeyError`` for a code outside the catalogue, so no unknown code leaves the
    domain.
    """
    info = CATALOGUE[code]
    if quota is not None and description_fr is None and description_nl is None:
        description_fr, description_nl = _quota_descriptions(quota)
    if severity is None:
        severity = info.severity
        if code == QUOTA_CODE and quota is not None and quota.type == "ART17":
            severity = Severity.B
    return Anomaly(
        code=code,
        severity=severity,
        tag=tag or info.tag,
        value=None if value is None else str(value),
        description_fr=description_fr or info.description_fr,
        description_nl=description_nl or info.description_nl,
        quota=quota,
        path=path,
    )


def to_rest_item(item: Anomaly) -> dict[str, Any]:
    """The REST v2 anomaly item (spec §3.5): the superset every known client reads."""
    label_fr, label_nl = label(item.code)
    out: dict[str, Any] = {
        "code": item.code,
        "errorId": item.code,
        "severity": str(item.severity),
        "label": {"fr": label_fr, "nl": label_nl},
        "descriptionFr": item.description_fr or label_fr,
        "descriptionNl": item.description_nl or label_nl,
    }
    if item.tag:
        out["tagName"] = item.tag
    if item.value is not None:
        out["value"] = item.value
    if item.quota is not None:
        q = item.quota
        if q.unit == "days":
            # Years up to 2016 counted days; the names follow the hours' pattern.
            out["quota"] = {
                "type": q.type,
                "year": q.year,
                "limitDays": q.limit_hours,
                "exceedingDaysNbr": q.exceeding_hours,
            }
        else:
            out["quota"] = {
                "type": q.type,
                "year": q.year,
                "limitHours": q.limit_hours,
                "exceedingHoursNbr": q.exceeding_hours,
            }
    return out
