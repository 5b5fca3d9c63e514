"""What every outgoing document shares: the schema location, creation stamps, safe text."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{{{XSI}}}noNamespaceSchemaLocation"
BRUSSELS = ZoneInfo("Europe/Brussels")

# Characters XML 1.0 cannot carry; a value echoed from elsewhere must not break a document.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def creation_stamp(at: datetime) -> tuple[str, str]:
    """``FormCreationDate`` and ``FormCreationHour`` (``hh:mm:ss.SSS``) in Brussels time."""
    local = at.astimezone(BRUSSELS)
    return local.strftime("%Y-%m-%d"), local.strftime(
        "%H:%M:%S."
    ) + f"{local.microsecond // 1000:03d}"


def xml_text(value: object, max_length: int | None = None) -> str:
    """``value`` as text an XML document can hold, cut to ``max_length`` characters."""
    text = str(value)
    if not text.isprintable():  # the usual case skips the expression (NOTI of 100 000 forms)
        text = _NOT_XML.sub("", text)
    return text[:max_length] if max_length is not None else text
