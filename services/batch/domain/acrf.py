"""The ACRF (accusé de réception / ontvangstbevestiging) of a set, ``ACRF_20231.xsd``.

One ACRF per set, with the set's fresh ticket: ResultCode 1 (accepted, no ErrorID) or 0
(refused, every applicable ErrorID). ``FileName`` is the name of the set's GO file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lxml import etree

from socsec.batch.domain.xml import SCHEMA_LOCATION, XSI, creation_stamp

#: Annex 30 texts of the file-level codes (``ErrorCodes2022-1_30.xml``), FR and NL, with a
#: short English gloss for the command line; ``ACRF-`` + code is the ErrorID (batch.md §4).
ACRF_ERRORS: dict[str, tuple[str, str, str]] = {
    "088": ("Schéma Inconnu", "Schema niet gekend", "unknown schema"),
    "089": ("Root inconnu", "Root niet gekend", "unknown root element"),
    "102": ("Syntaxe XML incorrecte", "XML-syntax niet correct", "XML not well formed"),
    "103": ("Expéditeur non autorisé", "Verzender niet toegelaten", "sender not allowed"),
    "107": (
        "La structure du nom d'un fichier GO n'est pas correcte",
        "De structuur van de naam van een GO-bestand is niet correct",
        "GO file name structure wrong",
    ),
    "108": (
        "L'expéditeur spécifié dans le nom du fichier ne correspond pas à l'expéditeur du"
        " répertoire",
        "De verzender in de naam van het bestand stemt niet overeen met die van het repertorium",
        "sender in the name is not the folder's (or the caller's) sender",
    ),
    "109": (
        "La date spécifiée dans le nom du fichier comporte plus ou moins 8 positions",
        "De datum in de naam van het bestand bevat meer of minder dan 8 posities",
        "date not 8 positions",
    ),
    "110": (
        "La date spécifiée dans le nom du fichier n'est pas une date correcte au format AAAAMMJJ",
        "De datum in de naam van het bestand is geen correcte datum met het formaat JJJJMMDD",
        "date not a valid YYYYMMDD date",
    ),
    "111": (
        "La date spécifiée dans le nom du fichier est supérieure à la date du jour",
        "De datum in de naam van het bestand is groter dan de datum van de dag",
        "date in the future",
    ),
    "112": (
        "Le numéro d'envoi spécifié dans le nom du fichier comporte plus ou moins de 5 positions",
        "Het zendingsnummer in de naam van het bestand bevat meer of minder dan 5 posities",
        "sequence not 5 positions",
    ),
    "113": (
        "Le numéro d'envoi spécifié dans le nom du fichier n'est pas numérique",
        "Het zendingsnummer in de naam van het bestand is niet numeriek",
        "sequence not numeric",
    ),
    "114": (
        "Le nombre de morceaux spécifié dans le nom du fichier comporte plus ou moins de 1"
        " position",
        "Het aantal stukken in de naam van het bestand bevat meer of minder dan 1 positie",
        "part number not 1 position",
    ),
    "115": (
        "Le nombre de morceaux spécifié dans le nom du fichier n'est pas numérique",
        "Het aantal stukken in de naam van het bestand is niet numeriek",
        "part number not numeric",
    ),
    "116": (
        "Le nombre de morceaux spécifié dans le nom du fichier est égal à zéro",
        "Het aantal stukken in de naam van het bestand is gelijk aan nul",
        "part number zero",
    ),
    "117": (
        "L'environnement spécifié dans le nom du fichier est différent de T, R, et S",
        "De omgeving in de bestandsnaam is verschillend van T, R en S",
        "environment not R, T or S",
    ),
    "118": (
        "Un fichier avec un environnement R a été déposé dans un répertoire différent de IN",
        "Een bestand met omgeving R werd gedeponeerd in een ander repertorium dan IN",
        "production file outside IN",
    ),
    "119": (
        "Un fichier avec un environnement T a été déposé dans un répertoire différent de INTEST",
        "Een bestand met omgeving T werd gedeponeerd in een ander repertorium dan INTEST",
        "test file outside INTEST",
    ),
    "120": (
        "Le nombre de fichiers FI présents ne correspond pas au nombre de fichiers requis",
        "Het aantal FI-bestanden stemt niet overeen met het vereiste aantal bestanden",
        "number of FI parts wrong",
    ),
    "122": (
        "Le nombre de fichiers FS présents ne correspond pas au nombre de fichiers requis",
        "Het aantal FS-bestanden stemt niet overeen met het vereiste aantal bestanden",
        "number of FS parts wrong",
    ),
    "123": (
        "Numérotation erronée pour les fichiers FI",
        "Nummering verkeerd voor de FI-bestanden",
        "FI parts numbered wrongly",
    ),
    "124": (
        "Numérotation erronée pour les fichiers FS",
        "Nummering verkeerd voor de FS-bestanden",
        "FS parts numbered wrongly",
    ),
    "125": ("Signature invalide", "Handtekening ongeldig", "signature invalid"),
    "126": (
        "La date spécifiée dans le nom de fichier est trop vieille par rapport à la date du jour",
        "De datum in de naam van het bestand is te oud ten opzichte van de datum van de dag",
        "date too old",
    ),
    "127": (
        "Le numéro d'envoi spécifié dans le nom du fichier est égal à zéro",
        "Het zendingsnummer in de naam van het bestand is gelijk aan nul",
        "sequence zero",
    ),
    "128": (
        "Le nombre de morceaux spécifié dans le nom de fichier est supérieur au nombre maximum"
        " autorisé",
        "Het aantal stukken in de naam van het bestand is groter dan het toegelaten maximumaantal",
        "too many parts",
    ),
    "129": (
        "Préfixe du nom de fichier incorrect",
        "Prefix van de bestandsnaam is verkeerd",
        "prefix or type not accepted",
    ),
    "130": (
        "Fichier GO non reçu pour un ensemble de fichiers",
        "GO-bestand niet ontvangen voor een verzameling van bestanden",
        "no GO received for the set",
    ),
    "131": (
        "La structure du nom d'un fichier FI n'est pas correcte",
        "De structuur van de naam van een FI-bestand is niet correct",
        "FI file name structure wrong",
    ),
    "132": (
        "La structure du nom d'un fichier FS n'est pas correcte",
        "De structuur van de naam van een FS-bestand is niet correct",
        "FS file name structure wrong",
    ),
    "133": (
        "Un fichier portant le même nom a déjà été envoyé précédemment",
        "Een bestand met dezelfde naam werd reeds eerder doorgestuurd",
        "a file with the same name was already sent",
    ),
    "134": ("Pas de données", "Geen gegevens", "no form in the file"),
    "163": ("Formulaire non traitable", "Niet verwerkbaar formulier", "file cannot be split"),
    "172": (
        "Le nombre de déclarations présentes dans le fichier est supérieur au nombre toléré",
        "Het aantal aangiften in het bestand is groter dan het toegelaten aantal",
        "more forms than allowed",
    ),
    "184": (
        "La taille du fichier est supérieure à la limite imposée",
        "De grootte van het bestand overschrijdt de opgelegde grens",
        "a form larger than the channel carries",
    ),
}


def error_labels(error_id: str) -> dict[str, str]:
    """The FR, NL and English texts of ``ACRF-nnn`` (empty texts for an unknown code)."""
    fr, nl, en = ACRF_ERRORS.get(error_id.removeprefix("ACRF-"), ("", "", ""))
    return {"fr": fr, "nl": nl, "en": en}


def acrf_document(*, go_name: str, ticket: str, errors: Sequence[str], created: datetime) -> bytes:
    """The complete ACRF file of one set: accepted when ``errors`` is empty."""
    root = etree.Element("ACRF", nsmap={"xsi": XSI})
    root.set(SCHEMA_LOCATION, "ACRF_20231.xsd")
    form = etree.SubElement(root, "Form")
    day, hour = creation_stamp(created)
    for tag, text in (
        ("Identification", "ACRF001"),
        ("FormCreationDate", day),
        ("FormCreationHour", hour),
        ("AttestationStatus", "0"),
        ("TypeForm", "PA"),
    ):
        etree.SubElement(form, tag).text = text
    reference = etree.SubElement(form, "FileReference")
    etree.SubElement(reference, "FileName").text = go_name
    etree.SubElement(reference, "ReferenceOrigin").text = "2"
    etree.SubElement(reference, "ReferenceNbr").text = ticket
    result = etree.SubElement(form, "ReceptionResult")
    etree.SubElement(result, "ResultCode").text = "0" if errors else "1"
    for error in errors:
        etree.SubElement(result, "ErrorID").text = error
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
