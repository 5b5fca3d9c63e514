"""Catalogue of the DmfA anomaly codes this service reports.

An ErrorID is ``ZZZZZ-EEE``: the zone or block number concerned, then a generic code of
annex 30 (``ErrorCodes2022-1_30.xml``) whose French and Dutch text is the NOTI's
``AnomalyLabel``. Classes are the 2023/3 glossary's (dmfa.md §4, §6); codes marked
"default" in the spec are interpretations, kept here so that one table says what the
service can report. Structural codes (``-001``, ``-002``, ``-008``, ``-090``, ``-091``,
``-093``, ``-146``) exist for every zone and are always blocking.
"""

from __future__ import annotations

from socsec.dmfa.domain.model import Anomaly, PathItem, Severity
from socsec.dmfa.domain.schema import ORIGINAL_OF_TWIN, UPDATE_TWINS

# Annex 30, only the generic codes this service reports: code -> (FR, NL).
GENERIC_LABELS: dict[str, tuple[str, str]] = {
    "001": ("Non présent", "Niet aanwezig"),
    "002": ("Non numérique", "Niet numeriek"),
    "003": ("Invalide", "Ongeldig"),
    "004": ("Nombre de contrôle invalide", "Ongeldig controlegetal"),
    "006": ("Trop d'occurrences avec les mêmes identifiants", "Te veel identieke gevallen"),
    "007": (
        "Total calculé différent du total déclaré",
        "Berekend totaal verschillend van aangegeven totaal",
    ),
    "008": ("Pas dans le domaine de définition", "Niet in het toegelaten domein"),
    "011": (
        "Balance par catégorie d'employeur négative",
        "Balans per werkgeverscategorie is negatief",
    ),
    "014": (
        "Date de fin antérieure à la date de début",
        "Einddatum voorafgaand aan de begindatum",
    ),
    "025": ("Incompatibilité catégorie employeur", "Onverenigbaar met werkgeverscategorie"),
    "032": ("Incompatibilité régime de travail", "Onverenigbaar met arbeidsregeling"),
    "034": ("Incompatibilité trimestre", "Onverenigbaar met kwartaal"),
    "044": (
        "Montant calculé différent du montant déclaré",
        "Berekend bedrag verschilt van het aangegeven bedrag",
    ),
    "051": (
        "Non repris au répertoire pour le trimestre de déclaration",
        "Niet aanwezig in het repertorium voor het aangiftekwartaal",
    ),
    "090": ("Erreur de cardinalité", "Fout op cardinaliteit"),
    "091": ("Erreur de séquence", "Fout op volgorde"),
    "093": ("Longueur incorrecte", "Foutieve lengte"),
    "095": (
        "Nombre total de jours incompatible avec le trimestre de déclaration pour l'occupation",
        "Aantal dagen onverenigbaar met het aangiftekwartaal voor de tewerkstelling",
    ),
    "096": (
        "Nombre total de jours incompatible avec le régime de travail pour l'occupation",
        "Aantal dagen onverenigbaar met het arbeidsstelsel voor de tewerkstelling",
    ),
    "146": ("Non admis", "Niet toegelaten"),
    "151": ("Pas identifiable", "Niet identificeerbaar"),
    "155": ("Pas ou plus de mandat", "Geen of vervallen mandaat"),
    "163": ("Formulaire non traitable", "Niet verwerkbaar formulier"),
    "174": ("Action non autorisée", "Actie niet toegelaten"),
    "176": ("Discordance avec la DB DmfA", "Discordantie met de DB DmfA"),
    "180": (
        "La modification ou annulation ne porte pas sur la dernière situation",
        "De wijziging of annulatie heeft geen betrekking op de laatste situatie",
    ),
    "181": ("Modification ou annulation non autorisée", "Wijziging of annulatie niet toegelaten"),
    "182": ("Non trouvé en DB DmfA", "Niet gevonden in de DB DmfA"),
    "235": ("Non repris au répertoire", "Niet opgenomen in het repertorium"),
    "192": ("Nombre total de jours trop élevé", "Aantal dagen te hoog"),
    "242": (
        "Date de fin d'occupation manquante pour au moins une occupation",
        "Einddatum tewerkstelling ontbreekt voor minstens één tewerkstelling",
    ),
    "260": ("Nombre d'heures trop élevé", "Aantal uren te hoog"),
    "262": (
        "Plus de travailleurs déclarés en DmfA qu'en DIMONA",
        "Meer werknemers aangegeven in DmfA dan in DIMONA",
    ),
    "263": (
        "Moins de travailleurs déclarés en DmfA qu'en DIMONA",
        "Minder werknemers aangegeven in DmfA dan in DIMONA",
    ),
    "313": (
        "Attention ! Trimestre en danger de prescription ou prescrit.",
        "Let op! Kwartaal met gevaar voor verjaring of verjaard kwartaal.",
    ),
    "314": ("Commission paritaire 999 non admis", "Paritaire comité 999 niet toegelaten"),
    "429": (
        "Nombre de jours déclaré en DMFA différent du nombre de jours déclaré en DIMONA",
        "Aantal aangegeven dagen in DmfA verschilt van het aantal aangegeven dagen in DIMONA",
    ),
    "456": (
        "Pas de Dimona comme travailleur occasionnel pour cette occupation",
        "Geen Dimona als gelegenheidswerknemer voor deze tewerkstelling",
    ),
    "485": (
        "Occupation Flexijob non couverte ou pas totalement couverte par Dimona",
        "Tewerkstelling Flexijob niet of niet volledig gedekt door Dimona",
    ),
    "502": (
        "Différence heures en DmfA - heures planifiées en Dimona avec cotisations réduites",
        "Verschil uren in DmfA - geplande uren in Dimona met verminderde bijdragen",
    ),
    "504": (
        "Aucune heure planifiée en Dimona pouvant bénéficier de cotisations sociales réduites",
        "Geen geplande uren in Dimona waarvoor verminderde bijdragen van toepassing zijn",
    ),
}

B, P, NP = Severity.B, Severity.P, Severity.NP

#: Every content code: ErrorID -> (class, XML tag it reports, what it means).
CODES: dict[str, tuple[Severity, str, str]] = {
    # form and employer
    "90059-163": (B, "Form", "the form cannot be interpreted"),
    "00011-004": (B, "NOSSRegistrationNbr", "NSSO number check digits invalid"),
    "00014-004": (B, "CompanyID", "enterprise number check digits invalid"),
    "00011-051": (B, "NOSSRegistrationNbr", "employer not in the register for the quarter"),
    "00014-235": (B, "CompanyID", "enterprise number not in the register"),
    "90007-151": (B, "EmployerDeclaration", "employer not identifiable"),
    "00011-155": (B, "NOSSRegistrationNbr", "sender holds no DmfA mandate for the employer"),
    "00013-003": (B, "Quarter", "quarter before 20031 or not yet ended"),
    "00013-313": (B, "Quarter", "quarter at risk of prescription or prescribed"),
    "90007-006": (B, "EmployerDeclaration", "an accepted original already exists (use DMWA)"),
    "00015-007": (B, "NetOwedAmount", "net owed amount differs from the computed balance"),
    "00015-011": (B, "NetOwedAmount", "negative balance for an employer category"),
    # persons and lines
    "90017-006": (B, "NaturalPerson", "same INSZ twice in the declaration"),
    "00023-006": (B, "NaturalPersonSequenceNbr", "same person sequence number twice"),
    "00024-004": (B, "INSS", "INSZ check digits invalid"),
    "90017-151": (B, "INSS", "INSZ unknown in the worker register"),
    "90012-006": (B, "WorkerRecord", "same employer class and worker code twice for a person"),
    "90012-090": (B, "WorkerRecord", "combination of blocks not allowed for a worker line"),
    "00036-051": (B, "EmployerClass", "employer class not registered for the quarter"),
    "00037-008": (B, "WorkerCode", "worker code not in annex 2 (the worker-code table)"),
    "00037-025": (B, "WorkerCode", "worker code incompatible with the employer class"),
    "90012-192": (P, "ServiceNbrDays", "more days on the line than Monday-Saturday days"),
    "90012-242": (P, "OccupationEndingDate", "an occupation followed by another has no end"),
    "90012-260": (P, "ServiceNbrHours", "more hours on the line than the quarter allows"),
    "00038-034": (P, "NOSSQuarterStartingDate", "not the first day of the quarter"),
    "00039-034": (P, "NOSSQuarterEndingDate", "not the last day of the quarter"),
    # occupations
    "00044-034": (P, "OccupationStartingDate", "occupation starts after the quarter"),
    "00045-034": (P, "OccupationEndingDate", "occupation end date outside the quarter"),
    "00045-014": (B, "OccupationEndingDate", "occupation ends before it starts"),
    "00046-003": (B, "JointCommissionNbr", "joint committee not in CCC[.CC[.CC]] format"),
    "00046-314": (NP, "JointCommissionNbr", "joint committee 999"),
    "90015-095": (P, "ServiceNbrDays", "more days than Monday-Saturday days in the quarter"),
    "90015-096": (P, "ServiceNbrDays", "more days than the working-time regime allows"),
    "00064-032": (P, "ServiceNbrHours", "more hours than the mean working hours allow"),
    "90018-006": (B, "Service", "same service code twice in an occupation"),
    "90019-006": (B, "Remun", "same pay code, frequency and percentage twice"),
    # contributions
    "90001-006": (B, "WorkerContribution", "same contribution twice for a worker line"),
    "90002-006": (B, "ContributionUnrelatedToNP", "same unrelated contribution twice"),
    "00084-044": (P, "ContributionCalculationBasis", "declared basis differs from computed"),
    "00085-044": (P, "ContributionAmount", "declared contribution differs from computed"),
    "00077-044": (P, "StudentContributionAmount", "student contribution differs from computed"),
    "01158-260": (NP, "StudentHoursNbr", "student hours above the yearly quota"),
    # cross-checks with Dimona (crosscheck.md)
    "90007-262": (NP, "EmployerDeclaration", "more workers in DmfA than in Dimona"),
    "90007-263": (NP, "EmployerDeclaration", "fewer workers in DmfA than in Dimona"),
    "90015-485": (NP, "Occupation", "flexi-job occupation not covered by Dimona"),
    "90015-456": (NP, "Occupation", "occasional occupation without EXT Dimona"),
    "90017-429": (NP, "ServiceNbrDays", "occasional days differ from the EXT Dimona days"),
    "90017-502": (NP, "StudentHoursNbr", "student hours above the planned Dimona hours"),
    "90017-504": (NP, "NaturalPerson", "student line without a student Dimona"),
    # modifications
    "00534-182": (B, "EmployerDeclarationPID", "employer declaration not found"),
    "00548-176": (B, "DeclNaturalPersonPID", "person PID does not match the declaration"),
    "00549-176": (B, "NaturalPersonPID", "person PID does not match the declaration"),
    "00610-180": (B, "WorkerRecordVersionNbr", "not the last version of the worker line"),
    "00620-180": (B, "DeclNaturalPersonVersionNbr", "not the last version of the person"),
    "00618-174": (B, "UpdateAction", "update action not allowed"),
    "90219-181": (B, "EmployerDeclarationUpdate", "modification not allowed"),
    "90219-090": (B, "EmployerDeclarationUpdate", "a modification must change something"),
}


def _twin(code: str) -> str:
    zone, generic = code.split("-")
    return f"{UPDATE_TWINS.get(zone, zone)}-{generic}"


def original_code(code: str) -> str:
    """The code of a finding in the numbering of an original declaration."""
    zone, generic = code.split("-")
    return f"{ORIGINAL_OF_TWIN.get(zone, zone)}-{generic}"


def anomaly(
    code: str,
    *,
    value: object = None,
    path: tuple[PathItem, ...] = (),
    update: bool = False,
    tag: str | None = None,
) -> Anomaly:
    """An anomaly of the catalogue; in a modification its update-block twin is reported
    (90015-095 becomes 90211-095) and the original code kept as its rule."""
    severity, default_tag, _ = CODES[code]
    reported = _twin(code) if update else code
    return Anomaly(
        code=reported,
        severity=severity,
        tag=tag or default_tag,
        value=None if value is None else str(value),
        path=path,
        rule=code if reported != code else None,
    )


def structural(
    zone: str, generic: str, *, tag: str, value: object = None, path: tuple[PathItem, ...] = ()
) -> Anomaly:
    """A schema-level fault of zone or block ``zone`` (always blocking)."""
    code = f"{zone}-{generic}"
    return Anomaly(
        code=code,
        severity=Severity.B,
        tag=tag,
        value=None if value is None else str(value)[:200],
        path=path,
        rule=original_code(code) if original_code(code) != code else None,
    )


def label(code: str) -> tuple[str, str]:
    """The annex-30 text of an ErrorID (FR, NL): the NOTI's AnomalyLabel."""
    return GENERIC_LABELS.get(code[-3:], ("Anomalie", "Anomalie"))
