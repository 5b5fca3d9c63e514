"""The REST body of a DmfA declaration, turned into the ``Form`` element of the batch channel.

The JSON mirrors the XML labels one to one (dmfa.md §1): an object per block, arrays for
repeatable blocks, codes as strings (``"015"``), values in glossary units::

    {"Reference": [{"ReferenceType": 1, "ReferenceOrigin": 1, "ReferenceNbr": "X-1"}],
     "EmployerDeclaration": {"Quarter": 20251, "NOSSRegistrationNbr": 155555504, ...,
                             "NaturalPerson": [{"NaturalPersonSequenceNbr": 1, ...}]}}

``EmployerDeclarationUpdate`` instead of ``EmployerDeclaration`` makes it a modification
(DMWA). The form header (Identification, creation date and hour, AttestationStatus,
TypeForm) may be left out: it is filled in from the message and the reception time. Keys are
placed in the order of the content model, since JSON objects carry no order; anything else
(an unknown key, a wrong type, a value out of range) is kept as received, so that the same
structural anomalies come out as for an XML form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lxml import etree

from socsec.dmfa.domain.reading import slot_index
from socsec.dmfa.domain.schema import MESSAGES, ORIGINAL_COMPLEX, UPDATE_COMPLEX, Complex


class BadBody(ValueError):
    """The body is not a DmfA declaration at all (HTTP 400)."""


def file_type_of(body: Any) -> str:
    """``DMFA`` for a body with ``EmployerDeclaration``, ``DMWA`` with
    ``EmployerDeclarationUpdate``."""
    if not isinstance(body, dict):
        raise BadBody("the body must be a JSON object")
    has_original = "EmployerDeclaration" in body
    has_update = "EmployerDeclarationUpdate" in body
    if has_original == has_update:
        raise BadBody(
            "the body must hold exactly one of EmployerDeclaration (original) and "
            "EmployerDeclarationUpdate (modification)"
        )
    return "DMWA" if has_update else "DMFA"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _element(tag: str, value: Any, models: dict[str, Complex]) -> etree._Element:
    element = etree.Element(tag)
    if isinstance(value, dict):
        spec = models.get(tag)
        order = slot_index(spec) if spec is not None and not spec.opaque else {}
        # Keys the model does not know keep their place after the known ones.
        items = sorted(value.items(), key=lambda kv: order.get(kv[0], len(order)))
        for key, item in items:
            for one in item if isinstance(item, list) else [item]:
                element.append(_element(str(key), one, models))
    elif isinstance(value, list) or value is not None:
        element.text = _text(value)
    return element


def form_from_json(body: Any, *, received_at: datetime) -> tuple[str, etree._Element]:
    """The file type and the ``Form`` element a REST body stands for."""
    file_type = file_type_of(body)
    _, identification, attestation, _ = MESSAGES[file_type]
    models = UPDATE_COMPLEX if file_type == "DMWA" else ORIGINAL_COMPLEX
    header = {
        "Identification": identification,
        "FormCreationDate": received_at.date().isoformat(),
        "FormCreationHour": received_at.strftime("%H:%M:%S.")
        + f"{received_at.microsecond // 1000:03d}",
        "AttestationStatus": attestation,
        "TypeForm": "SU",
    }
    return file_type, _element("Form", {**header, **body}, models)
